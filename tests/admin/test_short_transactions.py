"""Short write transactions: reading requests never take the write lock, a save only briefly.

Every statement the database runs is recorded (on SQLite through the driver's trace callback,
which also sees the BEGIN IMMEDIATE issued on the raw connection). A preview or a page view
writes nothing and, on SQLite, never takes the write lock; a save renders the Markdown before
its write phase starts, so the lock is not held while 100 KB of Markdown is rendered.
"""

import sqlite3

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from cms.extensions import db
from cms.models import Post, PostStatus, Tag
from cms.models.base import begin_writing
from cms.services import posts as post_service
from cms.services import rerender
from cms.services.media import store_upload
from cms.services.slugs import unique_slug
from tests.admin.admin_helpers import form_fields
from tests.admin.admin_helpers import text as page_text
from tests.factories import image_bytes, make_post, make_user
from tests.helpers import csrf_token_from

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
RENDER = "-- render_markdown"
BIG_BODY = "\n\n".join(
    f"## Part {n}\n\nSome *text* and a [link](https://example.com/{n})." for n in range(2500)
)


def first_word(statement: str) -> str:
    """Return the first keyword of a statement, upper-cased."""
    words = statement.split(None, 1)
    return words[0].upper() if words else ""


def writes(log: list[str]) -> list[str]:
    """Return the statements of the log that change data."""
    return [statement for statement in log if first_word(statement) in WRITES]


def locks(log: list[str]) -> list[int]:
    """Return the positions of SQLite's BEGIN IMMEDIATE in the log."""
    return [n for n, statement in enumerate(log) if statement.upper().startswith("BEGIN IMMEDIATE")]


@pytest.fixture
def statements(app):
    """Record every statement the app runs, in order; tests may add markers of their own."""
    log: list[str] = []
    with app.app_context():
        engine = db.engine
    sqlite = engine.dialect.name == "sqlite"

    def checkout(dbapi_connection, record, proxy):
        dbapi_connection.set_trace_callback(log.append)

    def checkin(dbapi_connection, record):
        if dbapi_connection is not None:
            dbapi_connection.set_trace_callback(None)

    def executed(conn, cursor, statement, parameters, context, executemany):
        log.append(statement)

    listeners = (
        [("checkout", checkout), ("checkin", checkin)]
        if sqlite
        else [("before_cursor_execute", executed)]
    )
    for name, listener in listeners:
        event.listen(engine, name, listener)
    yield log
    for name, listener in listeners:
        event.remove(engine, name, listener)


@pytest.fixture
def sqlite_only(app):
    """Skip tests of SQLite's own locking on other databases."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's write lock")


@pytest.fixture
def renders(statements, monkeypatch):
    """Mark every render of a post's body in the statement log."""
    real = post_service.render_markdown

    def render(source: str, **options) -> str:
        statements.append(RENDER)
        return real(source, **options)

    monkeypatch.setattr(post_service, "render_markdown", render)
    return statements


def edit_url(post) -> str:
    """Return the dashboard edit address of a post."""
    return f"/admin/posts/edit/?id={post.id}"


def test_a_preview_writes_nothing_and_takes_no_lock(browser, login_as, statements):
    login_as("author")
    token = csrf_token_from(page_text(browser.get("/admin/posts/new/")))
    statements.clear()
    response = browser.client.post(
        "/admin/posts/preview/", data={"body_md": BIG_BODY}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 200
    assert ">Part 2499</h2>" in response.get_json()["html"]
    assert statements, "the login was checked against the database"
    assert writes(statements) == []
    assert locks(statements) == []


def test_pages_that_only_read_write_nothing(browser, login_as, statements):
    editor = login_as("editor")
    post = make_post(editor, title="Read me", body=BIG_BODY)
    draft = make_post(editor, title="Draft", status=PostStatus.DRAFT)
    statements.clear()
    for url in (
        edit_url(draft),
        "/admin/posts/",
        f"/admin/posts/details/?id={post.id}",
        "/",
        f"/posts/{post.slug}",
    ):
        assert browser.get(url).status_code == 200, url
    assert writes(statements) == []
    assert locks(statements) == []


def test_a_save_renders_before_its_write_phase(browser, login_as, renders):
    editor = login_as("editor")
    post = make_post(editor, title="Long", body="Short at first.", status=PostStatus.DRAFT)
    fields = form_fields(browser, edit_url(post))
    renders.clear()
    response = browser.client.post(edit_url(post), data={**fields, "body_md": BIG_BODY})
    assert response.status_code == 302
    rendered = [n for n, statement in enumerate(renders) if statement == RENDER]
    changed = [n for n, statement in enumerate(renders) if first_word(statement) in WRITES]
    assert rendered and changed
    assert max(rendered) < min(changed), "the body was rendered after the first write"
    db.session.expire_all()
    assert ">Part 2499</h2>" in db.session.get(Post, post.id).body_html


def test_a_new_post_renders_before_its_write_phase(browser, login_as, renders):
    login_as("editor")
    fields = form_fields(browser, "/admin/posts/new/")
    renders.clear()
    data = {**fields, "title": "Brand new", "body_md": BIG_BODY, "status": "draft"}
    response = browser.client.post("/admin/posts/new/", data=data)
    assert response.status_code == 302
    rendered = [n for n, statement in enumerate(renders) if statement == RENDER]
    changed = [n for n, statement in enumerate(renders) if first_word(statement) in WRITES]
    assert rendered and changed
    assert max(rendered) < min(changed)


@pytest.mark.usefixtures("sqlite_only")
def test_a_save_holds_the_write_lock_only_for_its_write_phase(browser, login_as, renders):
    editor = login_as("editor")
    post = make_post(editor, title="Locked briefly", body="Short.", status=PostStatus.DRAFT)
    fields = form_fields(browser, edit_url(post))
    renders.clear()
    response = browser.client.post(edit_url(post), data={**fields, "body_md": BIG_BODY})
    assert response.status_code == 302
    # One write phase: taken after the render, ended by the commit, with only SQL inside.
    [lock] = locks(renders)
    end = next(n for n in range(lock, len(renders)) if renders[n].upper() == "COMMIT")
    rendered = [n for n, statement in enumerate(renders) if statement == RENDER]
    assert max(rendered) < lock
    assert RENDER not in renders[lock:end]
    assert all(first_word(statement) not in WRITES for statement in renders[:lock])


def test_a_write_after_a_read_meets_the_newest_version(app, ctx):
    """A transaction that read a post, then writes it after someone else saved: refused as
    stale by the version check (on SQLite not "database is locked")."""
    author = make_user("writer@example.com", roles=("editor",))
    ident = make_post(author, title="Shared", status=PostStatus.DRAFT).id
    db.session.remove()
    with Session(db.engine) as mine, Session(db.engine) as theirs:
        stale = mine.get(Post, ident)
        newer = theirs.get(Post, ident)
        newer.title = "Theirs"
        theirs.commit()
        stale.title = "Mine"
        with pytest.raises(StaleDataError):
            mine.commit()
        mine.rollback()
    assert db.session.get(Post, ident).title == "Theirs"


@pytest.mark.usefixtures("sqlite_only")
def test_waiting_too_long_for_the_lock_loses_nothing(app, ctx):
    author = make_user("waiter@example.com", roles=("editor",))
    ident = make_post(author, title="Waiting", status=PostStatus.DRAFT).id
    db.session.remove()
    blocker = sqlite3.connect(db.engine.url.database, isolation_level=None)
    with Session(db.engine) as session:
        session.execute(text("PRAGMA busy_timeout=50"))
        try:
            post = session.get(Post, ident)
            blocker.execute("BEGIN IMMEDIATE")
            with pytest.raises(OperationalError, match="locked"):
                begin_writing(session)
            blocker.execute("COMMIT")
            # Still inside a transaction: the next write takes the lock and commits.
            post.title = "Waited"
            session.commit()
        finally:
            session.execute(text("PRAGMA busy_timeout=5000"))
            session.commit()
            blocker.close()
    assert db.session.get(Post, ident).title == "Waited"


@pytest.mark.usefixtures("sqlite_only")
def test_an_upload_reads_quota_and_copies_holding_the_write_lock(app, ctx, statements):
    """The quota and "is this object stored already?" are read after BEGIN IMMEDIATE, so a
    racing deletion of the last copy cannot remove the bytes this upload then names."""
    uploader = make_user("uploader@example.com", roles=("editor",))
    statements.clear()
    store_upload(db.session, image_bytes("PNG", size=(64, 48)), "a.png", uploader)
    db.session.commit()
    [lock] = locks(statements)
    reads = [n for n, s in enumerate(statements) if first_word(s) == "SELECT" and "file" in s]
    assert reads and min(reads) > lock


@pytest.mark.usefixtures("sqlite_only")
def test_a_new_slug_is_chosen_holding_the_write_lock(app, ctx, statements):
    """Two racing saves of the same name get -2, not a unique-constraint error."""

    statements.clear()
    assert unique_slug(Tag, "Same name", None, "tag") == "same-name"
    [lock] = locks(statements)
    slug_reads = [n for n, s in enumerate(statements) if "slug" in s and first_word(s) == "SELECT"]
    assert slug_reads and min(slug_reads) > lock
    db.session.rollback()


def test_alt_text_rerender_does_not_undo_a_save_made_meanwhile(app, ctx, monkeypatch):
    """Rendering for new alt text runs before the write phase; a post saved meanwhile is
    rendered again from its new body instead of getting HTML of the old one."""

    editor = make_user("alt@example.com", roles=("editor",))
    photo = store_upload(db.session, image_bytes("PNG", size=(64, 48)), "p.png", editor)
    db.session.commit()
    body = f"Old words.\n\n![](/uploads/{photo.stored_name})"
    ident = make_post(editor, title="Shows it", body=body).id
    db.session.commit()
    real = rerender.render_markdown
    saved = []

    def render_then_someone_saves(source: str, **options) -> str:
        html = real(source, **options)
        if not saved:
            saved.append(True)
            with db.engine.begin() as other:
                other.execute(
                    text(
                        "UPDATE post SET body_md = :body, body_html = '<p>New words.</p>', "
                        "version = version + 1 WHERE id = :id"
                    ),
                    {"body": body.replace("Old", "New"), "id": ident},
                )
        return html

    monkeypatch.setattr(rerender, "render_markdown", render_then_someone_saves)
    photo.alt_text = "A grey box"
    assert rerender.rerender_users(photo) == 1
    db.session.commit()
    db.session.expire_all()
    html = db.session.get(Post, ident).body_html
    assert "New words." in html and "Old words." not in html
    assert 'alt="A grey box"' in html
