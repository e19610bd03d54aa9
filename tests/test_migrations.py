"""Migrations build the schema on an empty database and never drift from the models (SECURITY 27).

Each test gets a database of its own: a new SQLite file, or on PostgreSQL a new schema of the
test database (selected with search_path), dropped afterwards.
"""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from cms.extensions import db
from cms.models.search import include_name

TABLES = {
    "form_submission", "revision", "slug_redirect", "nav_item", "edit_presence", "rescued_form",
    "file_usage", "autosave_slot",
    "alembic_version", "audit_event", "file", "post", "post_tags", "role", "roles_users", "tag",
    "user",
    "search_document", "post_count",
}  # fmt: skip


def tables(application) -> set[str]:
    """Return the tables in the app's database."""
    with application.app_context():
        names = inspect(db.engine).get_table_names()
        return {name for name in names if include_name(name, "table", {})}


def drift(application) -> list:
    """Return alembic's list of differences between the models and the database."""
    with application.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "render_as_batch": True, "include_name": include_name},
        )
        return compare_metadata(context, db.metadata)


def test_upgrade_builds_the_schema_and_check_finds_no_drift(variant, empty_database):
    """`flask db upgrade` on an empty database, then `flask db check`: no changes to make."""
    application = variant(SQLALCHEMY_DATABASE_URI=empty_database)
    runner = application.test_cli_runner()
    assert tables(application) == set()

    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert tables(application) == TABLES

    assert drift(application) == []
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


def test_check_notices_drift(variant, empty_database):
    """The check is real: a database missing a column of the models fails it."""
    application = variant(SQLALCHEMY_DATABASE_URI=empty_database)
    runner = application.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    with application.app_context(), db.engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_post_updated_at"))
    assert drift(application) != []
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code != 0


def test_downgrade_and_upgrade_again(variant, empty_database):
    """The migrations run backwards to nothing and forwards again."""
    application = variant(SQLALCHEMY_DATABASE_URI=empty_database)
    runner = application.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    result = runner.invoke(args=["db", "downgrade", "base"])
    assert result.exit_code == 0, result.output
    assert tables(application) <= {"alembic_version"}
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    assert tables(application) == TABLES
    assert drift(application) == []


def test_the_session_database_matches_the_models(app):
    """The database the suite runs on (built by the migrations) has no drift either."""
    assert drift(app) == []


def test_upgrading_keeps_existing_content(variant, empty_database):
    """Content written before 0005/0006 survives them whole: tags, social image, history, usage.

    On SQLite, batch migrations rebuild tables; with foreign keys enforced, dropping the old
    post table used to delete every post_tags row.
    """
    application = variant(SQLALCHEMY_DATABASE_URI=empty_database)
    runner = application.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", "0004"]).exit_code == 0
    image = "cd" * 16 + ".png"
    with application.app_context(), db.engine.begin() as conn:
        for statement in (
            'INSERT INTO "user" (id, email, active, fs_uniquifier, create_datetime,'
            " update_datetime) VALUES (1, 'a@example.com', true, 'u1', :t, :t)",
            "INSERT INTO tag (id, name, slug) VALUES (1, 'Kept', 'kept')",
            "INSERT INTO file (id, stored_name, original_name, content_type, size, sha256,"
            f" created_at) VALUES (1, '{image}', 'p.png', 'image/png', 1, 'x', :t)",
            "INSERT INTO post (id, title, slug, body_md, body_html, excerpt, status, author_id,"
            f" created_at, updated_at) VALUES (1, 'Old', 'old', '![](/uploads/{image})', '',"
            " '', 'published', 1, :t, :t)",
            "INSERT INTO post_tags (post_id, tag_id) VALUES (1, 1)",
        ):
            conn.execute(text(statement), {"t": "2026-01-01 00:00:00"})
    assert runner.invoke(args=["db", "upgrade", "0005"]).exit_code == 0
    with application.app_context(), db.engine.begin() as conn:
        conn.execute(text("UPDATE post SET social_image_id = 1"))
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with application.app_context(), db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM post_tags")).scalar() == 1
        assert conn.execute(text("SELECT social_image_id FROM post")).scalar() == 1
        revision = conn.execute(text("SELECT number, title, tags FROM revision")).one()
        assert revision[:2] == (1, "Old") and "Kept" in str(revision[2])
        assert conn.execute(text("SELECT file_id, post_id FROM file_usage")).all() == [(1, 1)]


def test_word_counts_are_filled_for_the_posts_there_are(variant, empty_database):
    """0013 counts the words of every existing post's body, as saving one does."""
    application = variant(SQLALCHEMY_DATABASE_URI=empty_database)
    runner = application.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", "0012"]).exit_code == 0
    bodies = {1: "One two  three\n\nfour *five*", 2: "", 3: "word " * 1200}
    with application.app_context(), db.engine.begin() as conn:
        conn.execute(
            text(
                'INSERT INTO "user" (id, email, active, fs_uniquifier, create_datetime,'
                " update_datetime) VALUES (1, 'a@example.com', true, 'u1', :t, :t)"
            ),
            {"t": "2026-01-01 00:00:00"},
        )
        for number, body in bodies.items():
            conn.execute(
                text(
                    "INSERT INTO post (id, title, slug, body_md, body_html, excerpt, status,"
                    " author_id, created_at, updated_at) VALUES (:id, 'P', :slug, :body, '', '',"
                    " 'published', 1, :t, :t)"
                ),
                {"id": number, "slug": f"p{number}", "body": body, "t": "2026-01-01 00:00:00"},
            )
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with application.app_context(), db.engine.connect() as conn:
        counts = dict(conn.execute(text("SELECT id, word_count FROM post")).all())
    assert counts == {1: 5, 2: 0, 3: 1200}
