"""`flask cms rerender` and migration 0009 render stored bodies again, leaving history alone.

HTML stored by the renderer before the pipeline is replaced (and excerpts it generated with
it); written excerpts, versions, revisions and `updated_at` stay as they were.
"""

from sqlalchemy import func, select, text

from cms.extensions import db
from cms.models import Post, PostKind, Revision
from cms.services import rerender
from cms.services.media import store_upload
from cms.services.media_library import MediaLibrary
from cms.services.rendering import render_markdown
from cms.services.rendering.excerpt import generated_excerpts
from tests.factories import image_bytes, make_post

BODY = "## Part one\n\n- one\n- two\n\nA note[^1].\n\n```python\nx = 1\n```\n\n[^1]: The note."
# What the renderer stored for BODY before it became a pipeline.
OLD_HTML = (
    "<h2>Part one</h2>\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"
    '<p>A note<sup class="footnote-ref"><a href="#fn-1" rel="noopener noreferrer">1</a>'
    '</sup>.</p>\n<pre><code class="language-python">x = 1\n</code></pre>\n'
    "<ol>\n<li>\n<p>The note. ↩</p>\n</li>\n</ol>"
)
# The excerpt it generated from that HTML: list items glued, the footnote marker in it.
OLD_EXCERPT = "one two A note1. The note. ↩"


def store_old(post_id: int, excerpt: str) -> None:
    """Write pre-pipeline HTML and an excerpt straight into the row, as an old version had."""
    db.session.execute(
        text("UPDATE post SET body_html = :html, excerpt = :excerpt WHERE id = :id"),
        {"html": OLD_HTML, "excerpt": excerpt, "id": post_id},
    )
    db.session.commit()


def state(post_id: int) -> tuple:
    """Return what must not move: the version, the revision count and updated_at."""
    db.session.expire_all()
    post = db.session.get(Post, post_id)
    revisions = db.session.scalar(
        select(func.count(Revision.id)).where(Revision.post_id == post_id)
    )
    return post.version, revisions, post.updated_at


def test_the_old_excerpt_counts_as_generated():
    assert OLD_EXCERPT in generated_excerpts(OLD_HTML)


def test_rerender_replaces_old_html_and_generated_excerpts_only(app, ctx, runner, editor):
    generated = make_post(editor, title="Generated", body=BODY)
    written = make_post(editor, title="Written", body=BODY, excerpt="My own words.")
    page = make_post(editor, title="A page", body=BODY, kind=PostKind.PAGE)
    current = make_post(editor, title="Current", body="Nothing *old* here.")
    store_old(generated.id, OLD_EXCERPT)
    store_old(written.id, "My own words.")
    store_old(page.id, OLD_EXCERPT)
    before = {post.id: state(post.id) for post in (generated, written, page, current)}

    result = runner.invoke(args=["cms", "rerender", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "3 changed" in result.output

    expected = render_markdown(BODY, library=MediaLibrary())
    for post in (generated, written, page):
        db.session.expire_all()
        stored = db.session.get(Post, post.id)
        assert stored.body_html == expected
        assert 'id="c-fn-1"' in stored.body_html and '<span class="' in stored.body_html
    assert db.session.get(Post, generated.id).excerpt == "one two A note."
    assert db.session.get(Post, page.id).excerpt == "one two A note."
    assert db.session.get(Post, written.id).excerpt == "My own words."
    assert {post_id: state(post_id) for post_id in before} == before

    again = runner.invoke(args=["cms", "rerender"])
    assert again.exit_code == 0 and "0 changed" in again.output


def test_rerender_never_overwrites_a_save_made_meanwhile(app, ctx, editor, monkeypatch):
    post = make_post(editor, title="Busy", body=BODY)
    store_old(post.id, OLD_EXCERPT)
    real = rerender.render_markdown

    def render_then_someone_saves(source: str, **options) -> str:
        html = real(source, **options)
        with db.engine.begin() as other:
            other.execute(
                text(
                    "UPDATE post SET body_md = 'New', body_html = '<p>New</p>', "
                    "version = version + 1 WHERE id = :id"
                ),
                {"id": post.id},
            )
        return html

    monkeypatch.setattr(rerender, "render_markdown", render_then_someone_saves)
    assert rerender.rerender_all(db.session) == 0
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Post, post.id).body_html == "<p>New</p>"


def test_rerender_uses_the_library(app, ctx, editor):
    photo = store_upload(db.session, image_bytes("PNG", size=(900, 600)), "p.png", editor)
    photo.alt_text = "A red square"
    db.session.commit()
    post = make_post(editor, body=f"![](/uploads/{photo.stored_name})")
    store_old(post.id, "")
    assert rerender.rerender_all(db.session) == 1
    db.session.commit()
    db.session.expire_all()
    html = db.session.get(Post, post.id).body_html
    assert 'alt="A red square"' in html and "srcset=" in html and 'width="900"' in html


def test_the_migration_renders_stored_bodies_once(variant, empty_database):
    application = variant(SQLALCHEMY_DATABASE_URI=empty_database)
    runner = application.test_cli_runner()
    # A post from before the revisions (0005 records its first revision), then old HTML.
    assert runner.invoke(args=["db", "upgrade", "0004"]).exit_code == 0
    values = {"t": "2026-01-01 00:00:00", "body": BODY, "html": OLD_HTML, "ex": OLD_EXCERPT}
    with application.app_context(), db.engine.begin() as conn:
        for statement in (
            'INSERT INTO "user" (id, email, active, fs_uniquifier, create_datetime,'
            " update_datetime) VALUES (1, 'a@example.com', true, 'u1', :t, :t)",
            "INSERT INTO post (id, title, slug, body_md, body_html, excerpt, status, author_id,"
            " created_at, updated_at) VALUES (1, 'Old', 'old', :body, :html, :ex, 'published',"
            " 1, :t, :t)",
        ):
            conn.execute(text(statement), values)
    assert runner.invoke(args=["db", "upgrade", "0008"]).exit_code == 0
    with application.app_context(), db.engine.begin() as conn:
        conn.execute(text("UPDATE post SET version = 3, body_html = :html"), values)
        revisions = conn.execute(text("SELECT count(*) FROM revision")).scalar()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with application.app_context():
        expected = render_markdown(BODY, library=MediaLibrary())
        with db.engine.connect() as conn:
            row = conn.execute(text("SELECT body_html, excerpt, version FROM post")).one()
            assert tuple(row) == (expected, "one two A note.", 3)
            assert conn.execute(text("SELECT count(*) FROM revision")).scalar() == revisions
