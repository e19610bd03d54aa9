"""Migrations build the schema on an empty database and never drift from the models (SECURITY 27).

Each test gets a database of its own: a new SQLite file, or on PostgreSQL a new schema of the
test database (selected with search_path), dropped afterwards.
"""

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from cms.extensions import db

TABLES = {
    "form_submission", "revision", "slug_redirect", "nav_item", "edit_presence", "rescued_form",
    "alembic_version", "audit_event", "file", "post", "post_tags", "role", "roles_users", "tag",
    "user",
}  # fmt: skip


@pytest.fixture
def empty_database(app_config, tmp_path):
    """Return the URL of a database with nothing in it."""
    url = make_url(app_config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    schema = f"migration_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        options = {**url.query, "options": f"-csearch_path={schema}"}
        yield url.set(query=options).render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def tables(application) -> set[str]:
    """Return the tables in the app's database."""
    with application.app_context():
        return set(inspect(db.engine).get_table_names())


def drift(application) -> list:
    """Return alembic's list of differences between the models and the database."""
    with application.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": True}
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
