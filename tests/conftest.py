"""Fixtures: one app and database for the session, emptied after every test.

Set TEST_DATABASE_URL to run the suite on PostgreSQL; without it a SQLite file is used.
The schema is built by the real migrations, not by create_all.
"""

import os
import shutil
import uuid
from pathlib import Path

import pytest
from flask_migrate import upgrade
from passlib.hash import sha256_crypt
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cms import create_app
from cms.extensions import db
from cms.services.accounts import ensure_roles
from tests.factories import make_user
from tests.helpers import Browser, IsolatedClient
from tests.servers import S3_TEST_ENV, S3Server, fresh_database_url

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")


def test_config(tmp_path, database_url: str) -> dict:
    """Return the overrides every test app uses."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SECURITY_PASSWORD_SALT": "test-salt",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "MAIL_BACKEND": "locmem",
        # Cheap hashes keep the suite fast; production uses the bcrypt default cost.
        "SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS": {"bcrypt__rounds": 4},
        # Link tokens (reset, confirm, change e-mail) hash data with sha256_crypt; passlib's
        # pure-Python backend takes ~0.3 s a hash at the default 535,000 rounds.
        "SECURITY_HASHING_SCHEMES": [sha256_crypt.using(rounds=1000), "hex_md5"],
        # Throttling off, so tests may log in often; tests/test_throttling.py turns it on.
        "RATELIMIT_ENABLED": False,
        # Most tests log admins in with a password only; tests/test_two_factor.py turns this on.
        "TWO_FACTOR_REQUIRED_ROLES": [],
    }


def reset_schema(app) -> None:
    """Drop everything in the test database and rebuild it with the migrations."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(directory=app.config["MIGRATIONS_DIR"])


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """The database of this test session (one per pytest-xdist worker)."""
    folder = tmp_path_factory.mktemp("db")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if TEST_DATABASE_URL and worker:
        # Workers run at the same time: each gets its own database beside the named one.
        return fresh_database_url(TEST_DATABASE_URL, folder, worker)
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
    return f"sqlite:///{folder / 'test.db'}"


@pytest.fixture(scope="session")
def app_config(tmp_path_factory, database_url) -> dict:
    """The overrides of the session's app, for tests that build a variant of it."""
    return test_config(tmp_path_factory.mktemp("app"), database_url)


@pytest.fixture(scope="session")
def app(app_config):
    """The application, with a freshly migrated database."""
    application = create_app(app_config)
    application.test_client_class = IsolatedClient
    # The locmem mail backend creates its outbox on the first mail; have it from the start.
    application.extensions["mailman"].outbox = []
    reset_schema(application)
    yield application
    # Close the pool so no connection outlives the session (a ResourceWarning otherwise).
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def clean_state(request):
    """Empty every table, the uploads folder and the outbox after each test."""
    if "app" not in request.fixturenames:
        yield
        return
    application = request.getfixturevalue("app")
    with application.app_context():
        ensure_roles()
        db.session.commit()
    yield
    with application.app_context():
        db.session.remove()
        truncate_all()
    folder = application.config["UPLOAD_FOLDER"]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)
    application.extensions["mailman"].outbox.clear()


def tables_with_rows(conn, tables: list[str]) -> list[str]:
    """Return the tables that hold rows, in the order given (one round trip)."""
    query = " UNION ALL ".join(
        f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM \"{name}\")" for name in tables
    )
    found = set(conn.execute(text(query)).scalars())
    return [name for name in tables if name in found]


# Restarts every id counter a test used (a used one has a last_value) at 1.
RESTART_USED_COUNTERS = (
    "SELECT setval(format('%I.%I', schemaname, sequencename), 1, false) "
    "FROM pg_sequences WHERE schemaname = 'public' AND last_value IS NOT NULL"
)


def truncate_all() -> None:
    """Delete every row of every table, children first, and restart the id counters.

    On PostgreSQL only the tables a test filled are emptied, with DELETE: a TRUNCATE of
    every table cost ~90 ms per test, minutes over the suite.
    """
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            for name in tables_with_rows(conn, tables):
                conn.execute(text(f'DELETE FROM "{name}"'))
            conn.execute(text(RESTART_USED_COUNTERS))
        else:
            for name in tables:
                conn.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture
def editor(ctx):
    """An editor (tests/admin has its own, logged in through the browser)."""
    return make_user("editor@example.com", roles=("editor",))


@pytest.fixture
def author(ctx):
    """An author."""
    return make_user("author@example.com", roles=("author",))


@pytest.fixture
def folder(app) -> Path:
    """The uploads folder of the app."""
    return Path(app.config["UPLOAD_FOLDER"])


@pytest.fixture
def variant(app, app_config, tmp_path):
    """Build apps from the session's settings plus overrides (same database); dispose them after."""
    made = []

    def build(**overrides):
        config = {
            **app_config,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "UPLOAD_FOLDER": str(tmp_path / "uploads"),
            **overrides,
        }
        application = create_app(config)
        application.test_client_class = IsolatedClient
        application.extensions["mailman"].outbox = []
        made.append(application)
        return application

    yield build
    for application in made:
        with application.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """moto's S3-compatible server, started once; the AWS_* variables point boto3 at it."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in S3_TEST_ENV.items():
            patch.setenv(key, value)
        server = S3Server(tmp_path_factory.mktemp("s3")).start()
        yield server
        server.stop()


@pytest.fixture
def s3_bucket(s3_server) -> str:
    """A new, empty bucket on the test S3 server."""
    return s3_server.create_bucket()


@pytest.fixture(params=["local", "s3"])
def backend_app(request, app, variant):
    """The app on each storage backend: the session's (local folder), and one on a bucket."""
    if request.param == "local":
        return app
    server = request.getfixturevalue("s3_server")
    return variant(**server.config(request.getfixturevalue("s3_bucket")))


@pytest.fixture
def ctx(app):
    """An app context for tests that use the models directly."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    """A test client that keeps cookies."""
    return app.test_client()


@pytest.fixture
def browser(app, client):
    """A Browser helper around the test client: forms with real CSRF tokens, login, mail."""
    return Browser(app, client)


@pytest.fixture
def runner(app):
    """A CLI runner for `flask cms ...`."""
    return app.test_cli_runner()


@pytest.fixture
def empty_database(app_config, tmp_path):
    """Return the URL of a database with nothing in it (a new schema on PostgreSQL)."""
    url = make_url(app_config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    schema = f"empty_{uuid.uuid4().hex[:12]}"
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
