"""No lost update under real concurrency: 20 stale saves at once, several gunicorn workers.

Each save was loaded from the same version and changes the post differently; exactly one may
commit. Runs on the suite's database kind (SQLite here, PostgreSQL with TEST_DATABASE_URL).
"""

import threading
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest
from sqlalchemy import create_engine, text

from tests.servers import NoRedirect, ServerProcess, field, fresh_database_url, token_in

SAVES = 20
PASSWORD = "concurrent saves need a long passphrase"


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url):
    """Start gunicorn with 3 workers x 4 threads on a fresh database with one editor."""
    folder = tmp_path_factory.mktemp("concurrent")
    process = ServerProcess(
        folder,
        fresh_database_url(database_url, folder, "concurrent"),
        workers=3,
        RATELIMIT_ENABLED="false",
    )
    process.start()
    process.flask(
        "cms", "create-user", "editor@example.com", "--role", "editor", "--password", PASSWORD
    )
    yield process
    process.stop()


def opener_for(server):
    """Return a logged-in HTTP client (cookies kept, redirects reported, not followed)."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect()
    )
    page = opener.open(server.url + "/account/login").read().decode()
    data = {"csrf_token": token_in(page), "email": "editor@example.com", "password": PASSWORD}
    assert post(opener, server.url + "/account/login", data) == 302
    return opener


def post(opener, url: str, data: dict) -> int:
    """POST a form and return the status code."""
    try:
        with opener.open(url, data=urllib.parse.urlencode(data).encode(), timeout=60) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


def test_twenty_concurrent_stale_saves_commit_exactly_once(server):
    opener = opener_for(server)
    create = server.url + "/admin/posts/new/"
    page = opener.open(create).read().decode()
    data = {
        "csrf_token": token_in(page),
        "submission": field(page, "submission"),
        "title": "Contested",
        "body_md": "The original text.",
        "status": "draft",
        "author": field(page, "author") or "1",
    }
    assert post(opener, create, data) == 302

    engine = create_engine(server.env["DATABASE_URL"])
    with engine.connect() as conn:
        ident, version = conn.execute(text("SELECT id, version FROM post")).one()
    edit = f"{server.url}/admin/posts/edit/?id={ident}"
    page = opener.open(edit).read().decode()
    assert field(page, "version") == str(version)
    token = token_in(page)

    # Every client loaded the same version; all of them save at the same moment.
    clients = [opener_for(server) for _ in range(4)]
    start = threading.Barrier(SAVES)
    statuses = []

    def save(number: int) -> None:
        form = {
            "csrf_token": token,
            "version": str(version),
            "title": f"Version by save {number}",
            "body_md": f"Text of save {number}.",
            "status": "draft",
            "author": "1",
        }
        client = clients[number % len(clients)]
        form["csrf_token"] = token_in(client.open(edit).read().decode())
        start.wait()
        statuses.append(post(client, edit, form))

    threads = [threading.Thread(target=save, args=(number,)) for number in range(SAVES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert sorted(statuses) == [302] + [409] * (SAVES - 1), statuses
    with engine.connect() as conn:
        title, body, now_version = conn.execute(
            text("SELECT title, body_md, version FROM post WHERE id = :id"), {"id": ident}
        ).one()
        revisions = conn.execute(
            text("SELECT count(*) FROM revision WHERE post_id = :id"), {"id": ident}
        ).scalar()
    engine.dispose()
    number = int(title.rsplit(" ", 1)[1])
    # The one that won is whole: its title and its body, one new version, one new revision.
    assert body == f"Text of save {number}."
    assert now_version == version + 1
    assert revisions == 2
    assert "Traceback" not in server.output()
