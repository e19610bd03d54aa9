"""The readers' workers stay small (issue 12: 80 MiB a worker): what only editors, uploads,
migrations and other backends use is not imported by create_app or by public pages.

Each check runs in a fresh interpreter, since this one has imported everything already.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from cms.extensions import db
from tests.factories import make_post, make_tag, make_user

ROOT = Path(__file__).resolve().parent.parent
# Several MiB a process each: migrations (Alembic, and Mako and Pygments' lexers through it),
# password strength (zxcvbn), S3 (boto3), Redis (only when REDIS_URL is set).
NOT_FOR_READERS = ("alembic", "flask_migrate", "mako", "zxcvbn", "boto3", "botocore", "redis")
# Loaded by the first search (the stemmers) or the first feed (feedgen, lxml), not by create_app.
NOT_AT_START = ("snowballstemmer", "feedgen", "lxml")
# Builds the app in a fresh interpreter, lists what create_app imported, asks for the pages.
SCRIPT = """
import json, sys
from cms import create_app
app = create_app(json.loads(sys.argv[1]))
at_start = sorted(sys.modules)
client = app.test_client()
statuses = {path: client.get(path).status_code for path in json.loads(sys.argv[2])}
print(json.dumps({"at_start": at_start, "after": sorted(sys.modules), "statuses": statuses}))
"""


def loaded_in_fresh_worker(app, paths: list[str]) -> dict:
    """Return the modules after create_app and after GETting paths, in a new interpreter."""
    config = {
        key: app.config[key]
        for key in ("SECRET_KEY", "SECURITY_PASSWORD_SALT", "SQLALCHEMY_DATABASE_URI")
    }
    config.update(
        INSTANCE_PATH=app.config["INSTANCE_PATH"],
        UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"],
        PAGE_CACHE="off",
        RATELIMIT_STORAGE_URI="memory://",
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("REDIS")}
    done = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", SCRIPT, json.dumps(config), json.dumps(paths)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def among(modules: list[str], packages: tuple[str, ...]) -> list[str]:
    """Return the packages of which some module is loaded."""
    tops = {name.split(".")[0] for name in modules}
    return [package for package in packages if package in tops]


def test_public_pages_load_no_editor_migration_or_backend_library(app, ctx):
    author = make_user("reader-pages@example.com", roles=("editor",), display_name="Ann Author")
    post = make_post(author, title="Caching notes", tags=[make_tag("Caching")])
    paths = ["/", f"/posts/{post.slug}", "/tags", "/tags/caching", "/sitemap.xml", "/feed"]
    paths += ["/feed/rss", "/tags/caching/feed"]
    db.session.remove()

    found = loaded_in_fresh_worker(app, paths)

    assert found["statuses"] == dict.fromkeys(paths, 200)
    assert among(found["at_start"], NOT_FOR_READERS + NOT_AT_START) == []
    assert among(found["after"], NOT_FOR_READERS) == []
    # The check is real: the app and its dashboard were loaded.
    assert among(found["after"], ("flask_sqlalchemy", "flask_admin")) == [
        "flask_sqlalchemy",
        "flask_admin",
    ]


def test_the_db_commands_and_migrate_entry_load_flask_migrate_when_used(app):
    result = app.test_cli_runner().invoke(args=["db", "--help"])

    assert result.exit_code == 0, result.output
    assert "upgrade" in result.output
    assert app.extensions["migrate"].directory == app.config["MIGRATIONS_DIR"]
    assert app.extensions["migrate"].db is db
