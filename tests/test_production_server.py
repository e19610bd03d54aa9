"""`gunicorn run:app` with several workers: the production entry point, configured by env only."""

import re
import stat
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest

from tests.servers import ServerProcess, fresh_database_url


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url):
    """Start gunicorn with two workers on a fresh database; no secrets given."""
    folder = tmp_path_factory.mktemp("gunicorn")
    # Many failed logins from one address follow; throttling has tests of its own.
    process = ServerProcess(
        folder, fresh_database_url(database_url, folder, "gunicorn"), RATELIMIT_ENABLED="false"
    )
    yield process.start()
    process.stop()


def test_gunicorn_serves_site_and_health(server):
    with urllib.request.urlopen(server.url + "/healthz") as response:
        assert response.status == 200
        assert b'"ok"' in response.read()
    with urllib.request.urlopen(server.url + "/") as response:
        assert response.status == 200
        assert b"<html" in response.read()


def test_workers_share_generated_secrets(server):
    instance = server.folder / "instance"
    for name in ("secret_key", "salt"):
        mode = stat.S_IMODE((instance / name).stat().st_mode)
        assert mode == 0o600, (name, oct(mode))
    # A form token made by one worker must be accepted by the other: same secret key.
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    for _ in range(12):
        page = opener.open(server.url + "/account/login").read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode(
            {"csrf_token": token, "email": "nobody@example.com", "password": "x" * 12}
        ).encode()
        try:
            status = opener.open(server.url + "/account/login", data=data).status
        except urllib.error.HTTPError as error:
            status = error.code
        assert status == 200, status
