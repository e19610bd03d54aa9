"""The status tabs' counts stay equal to the real counts after every way a post is written."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import create_engine, delete, func, insert, select, text, update

from cms.extensions import db
from cms.models import Post, PostCount, PostKind, PostStatus, utcnow
from cms.services import post_counts, seed
from tests.admin.admin_helpers import bulk_action, delete_row, submit_admin
from tests.factories import make_post, make_user

POSTS = "/admin/posts/"
TRASH = "/admin/trash/"


def stored() -> dict:
    """Return the counters as stored, without the emptied ones."""
    db.session.expire_all()
    rows = db.session.execute(
        select(PostCount.kind, PostCount.status, PostCount.author_id, PostCount.n)
    )
    return {(kind, status, author): n for kind, status, author, n in rows if n}


def real() -> dict:
    """Return the same numbers counted from the posts."""
    rows = db.session.execute(
        select(Post.kind, Post.status, Post.author_id, func.count()).group_by(
            Post.kind, Post.status, Post.author_id
        )
    )
    return {(kind, status, author): n for kind, status, author, n in rows}


def tabs_by_hand(kind: str, user) -> dict:
    """Return every tab's count from the posts' own state, for this person."""
    posts = db.session.scalars(select(Post).where(Post.kind == kind)).all()
    if not user.has_role("editor") and not user.has_role("admin"):
        posts = [post for post in posts if post.author_id == user.id]
    counted = {key: 0 for key in post_counts.TABS}
    for post in posts:
        if post.status != PostStatus.TRASHED:
            counted["all"] += 1
        if post.state in counted:
            counted[post.state] += 1
    return counted


def check(*users) -> None:
    """Assert the counters and every person's tabs match the posts."""
    assert stored() == real()
    for user in users:
        for kind in PostKind:
            assert post_counts.tab_counts(kind, user) == tabs_by_hand(kind, user), (kind, user)


def test_counts_follow_every_write_path(app, browser, login_as):
    editor = login_as("editor")
    author = make_user("author@example.com", roles=("author",))
    check(editor, author)
    # ORM inserts of every state, both kinds.
    now = utcnow()
    draft = make_post(author, title="Draft", status=PostStatus.DRAFT)
    make_post(author, title="Review", status=PostStatus.REVIEW)
    make_post(editor, title="Scheduled", published_at=now + timedelta(days=3))
    make_post(editor, title="Expired", unpublish_at=now - timedelta(minutes=5))
    live = make_post(editor, title="Live")
    make_post(editor, title="About", kind=PostKind.PAGE)
    check(editor, author)
    # The dashboard form.
    form = submit_admin(browser, POSTS + "new/", {"title": "From the form", "body_md": "Hi"})
    assert form.status_code == 302
    check(editor, author)
    # Workflow moves as bulk actions: publish, unpublish.
    assert bulk_action(browser, POSTS, "publish", [draft.id]).status_code == 302
    check(editor, author)
    assert bulk_action(browser, POSTS, "unpublish", [live.id]).status_code == 302
    check(editor, author)
    # Trash (row button and bulk), restore, delete for good.
    assert delete_row(browser, POSTS, live.id).status_code == 302
    check(editor, author)
    assert bulk_action(browser, TRASH, "restore", [live.id]).status_code == 302
    check(editor, author)
    assert bulk_action(browser, POSTS, "delete", [live.id]).status_code == 302
    check(editor, author)
    # An author changes hands, a post becomes a page (ORM updates).
    moved = db.session.get(Post, draft.id)
    moved.author_id = editor.id
    db.session.commit()
    moved.kind = PostKind.PAGE
    db.session.commit()
    check(editor, author)
    # Core statements behind the ORM's back: bulk UPDATE, bulk INSERT, DELETE.
    db.session.execute(
        update(Post).where(Post.status == PostStatus.REVIEW).values(status=PostStatus.PUBLISHED)
    )
    db.session.commit()
    check(editor, author)
    db.session.execute(
        insert(Post),
        [
            {"title": f"Bulk {n}", "slug": f"bulk-{n}", "status": status, "author_id": author.id}
            for n, status in enumerate([PostStatus.DRAFT] * 3 + [PostStatus.REVIEW] * 2)
        ],
    )
    db.session.commit()
    check(editor, author)
    db.session.execute(delete(Post).where(Post.title.like("Bulk %"), Post.status == "draft"))
    db.session.commit()
    check(editor, author)
    # The seeding command's bulk path, and a rollback that counts nothing.
    seed.seed_posts(30, batch=7)
    db.session.commit()
    check(editor, author)
    db.session.execute(update(Post).values(status=PostStatus.DRAFT))
    db.session.rollback()
    check(editor, author)
    # Emptying the trash (admins).
    browser.logout()
    login_as("admin")
    browser.submit(TRASH, {}, match="/empty/")
    check(editor, author)


def test_tabs_show_the_counts_and_filter(browser, login_as):
    editor = login_as("editor")
    for _ in range(3):
        make_post(editor, status=PostStatus.DRAFT)
    make_post(editor, title="Soon", published_at=utcnow() + timedelta(hours=5))
    make_post(editor, title="Out there")
    page = browser.get(POSTS).get_data(as_text=True)
    assert 'aria-current="page"' in page.split("cms-status-tab-all")[1].split("</a>")[0]
    for key, number in (("all", 5), ("draft", 3), ("review", 0), ("scheduled", 1)):
        tab = page.split(f"cms-status-tab-{key}")[1].split("</a>")[0]
        assert f'cms-tab-count">{number}<' in tab, key
    scheduled = browser.get(POSTS + "?flt0_status_equals=scheduled").get_data(as_text=True)
    assert "Soon" in scheduled and "Out there" not in scheduled
    current = scheduled.split("cms-status-tab-scheduled")[1].split(">")[0]
    assert 'aria-current="page"' in current


def test_authors_count_their_own(browser, login_as):
    author = login_as("author")
    make_post(author, status=PostStatus.DRAFT)
    make_post(make_user("else@example.com", roles=("author",)), status=PostStatus.DRAFT)
    page = browser.get(POSTS).get_data(as_text=True)
    assert 'cms-tab-count">1<' in page.split("cms-status-tab-draft")[1].split("</a>")[0]


def test_concurrent_writes_keep_counts_true(app, ctx):
    author = make_user("writer@example.com", roles=("author",))
    ids = [make_post(author, status=PostStatus.DRAFT).id for _ in range(40)]
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], pool_size=8)
    statuses = [PostStatus.REVIEW, PostStatus.PUBLISHED, PostStatus.DRAFT, PostStatus.TRASHED]

    def work(worker: int) -> None:
        for round_ in range(6):
            for ident in ids[worker::4]:
                with engine.begin() as conn:
                    status = statuses[(ident + round_) % len(statuses)]
                    conn.execute(
                        text("UPDATE post SET status = :s WHERE id = :i"),
                        {"s": str(status), "i": ident},
                    )

    with ThreadPoolExecutor(4) as pool:
        # result() raises what a worker raised.
        for done in [pool.submit(work, n) for n in range(4)]:
            done.result()
    engine.dispose()
    assert stored() == real()
