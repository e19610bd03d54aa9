"""Migration 0011 indexes the posts and pages that exist when it runs (its own code, no app's)."""

from sqlalchemy import text

from cms.extensions import db
from cms.services.search import parse_query, search

ROWS = (
    'INSERT INTO "user" (id, email, display_name, active, fs_uniquifier, create_datetime,'
    " update_datetime) VALUES (1, 'ada@example.com', NULL, true, 'u1', :t, :t)",
    "INSERT INTO tag (id, name, slug) VALUES (1, 'Seefahrt', 'seefahrt')",
    "INSERT INTO post (id, title, slug, body_md, body_html, excerpt, status, published_at,"
    " author_id, created_at, updated_at) VALUES (1, 'Alte Häuser', 'alte-haeuser', '',"
    " '<p>Wir <b>liefen</b> &amp; running &lt;script&gt;</p>', 'Am Hafen', 'published', :t, 1,"
    " :t, :t)",
    "INSERT INTO post (id, title, slug, body_md, body_html, excerpt, status, published_at,"
    " author_id, created_at, updated_at) VALUES (2, 'Entwurf', 'entwurf', 'Haus im Entwurf', '',"
    " '', 'draft', NULL, 1, :t, :t)",
    "INSERT INTO post_tags (post_id, tag_id) VALUES (1, 1)",
)


def test_upgrade_indexes_existing_posts(variant, empty_database):
    application = variant(SQLALCHEMY_DATABASE_URI=empty_database)
    runner = application.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", "0010"]).exit_code == 0
    with application.app_context(), db.engine.begin() as conn:
        for statement in ROWS:
            conn.execute(text(statement), {"t": "2026-01-01 00:00:00"})
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with application.app_context():
        documents = dict(
            db.session.execute(text("SELECT post_id, body FROM search_document")).all()
        )
        assert documents == {1: "Wir liefen & running <script>", 2: "Haus im Entwurf"}
        for words in ("haus", "running", "run", "seefahrt", "hafen", "ada", "alte häuser"):
            assert [hit.post.id for hit in search(parse_query(words)).hits] == [1], words
        db.session.remove()
    # And back: the tables go, and come again filled.
    assert runner.invoke(args=["db", "downgrade", "0010"]).exit_code == 0
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    with application.app_context():
        assert search(parse_query("seefahrt")).count == 1
        db.session.remove()
