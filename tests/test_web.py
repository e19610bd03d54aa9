"""Requests and responses: headers, cookies, CSRF, error pages, health, hosts.

SECURITY 19, 20, 21, 22, 26. Config-dependent behaviour is tested on variant apps built with
create_app() from the session's settings plus overrides.
"""

import contextlib
import os
import re
import shutil
import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from cms.extensions import db
from cms.models import Tag, User
from cms.services.media import store_upload
from tests.factories import PASSWORD, image_bytes, make_post, make_tag, make_user
from tests.helpers import (
    Browser,
    csrf_token_from,
    snapshot,
)

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")
CSRF_MESSAGE = "The form expired or was sent from elsewhere"


def assert_safe_headers(response, where: str = "") -> None:
    """Fail unless a response carries the headers every page must have (SECURITY 20)."""
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy"), where
    if response.mimetype == "text/html":
        assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), where
        path = urlsplit(where).path if where else ""
        if path.startswith(("/admin", "/account")):
            assert "no-store" in headers.get("Cache-Control", ""), where


# --- Headers on every response ------------------------------------------------------------


def make_site():
    """Create one row of everything and return the values that fill routes and ?id=."""
    admin = make_user("admin@example.com", roles=("admin",))
    tag = make_tag("Headers")
    post = make_post(admin, title="Header test", tags=[tag])
    upload = store_upload(db.session, image_bytes(), "a.png", admin)
    db.session.commit()
    args = {
        "public.post": {"slug": post.slug},
        "public.tag": {"slug": tag.slug},
        "public.author": {"key": admin.slug},
        "public.upload": {"name": upload.stored_name},
        "static": {"filename": "site.css"},
        "admin.static": {"filename": "admin/js/helpers.js"},
        "security.static": {"filename": "js/base64.js"},
    }
    ids = {"posts": post.id, "tags": tag.id, "files": upload.id, "users": admin.id, "roles": 1}
    return args, ids


def get_urls(app, args, ids) -> list[str]:
    """Return a URL for every GET route of the app, filled with sample values."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        values = dict(args.get(rule.endpoint, {}))
        for name in rule.arguments - values.keys():
            values[name] = "csv" if name == "export_type" else "invalid-token"
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m, v=values: str(v[m.group(1)]), rule.rule)
        view = rule.endpoint.split(".")[0]
        urls.append(f"{path}?id={ids[view]}" if view in ids else path)
    return sorted(urls)


@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_every_response_has_the_security_headers(app, browser, client, ctx, who):
    """Every GET route, public, account and dashboard, answers with the safe headers."""
    args, ids = make_site()
    if who == "admin":
        browser.login("admin@example.com", PASSWORD)
    checked_html = 0
    for url in get_urls(app, args, ids):
        response = client.get(url)
        response.get_data()
        response.close()
        assert response.status_code < 500, (url, response.status_code)
        assert_safe_headers(response, url)
        checked_html += response.mimetype == "text/html"
    assert checked_html >= 10


def test_error_pages_have_the_headers_and_the_site_look(app, browser, client, ctx):
    """404, 405, 403 and the CSRF 400 are plain pages in the site's look, with safe headers."""
    make_user("reader@example.com")
    cases = [
        ("GET", "/no-such-page", 404),
        ("GET", "/account/logout", 405),
        ("POST", "/account/login", 400),
    ]
    for method, url, code in cases:
        response = client.open(url, method=method)
        assert response.status_code == code, url
        assert 'class="site-header"' in response.get_data(as_text=True), url
        assert_safe_headers(response, url)
    assert "POST" in client.get("/account/logout").headers["Allow"]
    browser.login("reader@example.com", PASSWORD)
    response = client.get("/admin/")
    assert response.status_code == 403
    assert "You do not have permission" in response.get_data(as_text=True)
    assert_safe_headers(response, "/admin/")


# --- Cookies ------------------------------------------------------------------------------


def set_cookies(response) -> dict[str, str]:
    """Return the Set-Cookie headers of a response by cookie name."""
    return {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}


def login_with_remember(app, client):
    """Log in through the form with remember-me ticked; return the response."""
    token = csrf_token_from(client.get("/account/login").get_data(as_text=True))
    return client.post(
        "/account/login",
        data={
            "email": "reader@example.com",
            "password": PASSWORD,
            "remember": "y",
            "csrf_token": token,
        },
    )


def test_session_cookies_are_httponly_and_lax(app, client, ctx):
    """The session and remember cookies are HttpOnly and SameSite=Lax (SECURITY 20)."""
    make_user("reader@example.com")
    cookies = set_cookies(login_with_remember(app, client))
    for name in ("session", "remember_token"):
        assert name in cookies, cookies
        assert "HttpOnly" in cookies[name] and "SameSite=Lax" in cookies[name]
        assert "Secure" not in cookies[name]


def test_cookies_are_secure_when_configured(variant, ctx):
    """With SESSION_COOKIE_SECURE on, session and remember cookies are Secure."""
    application = variant(SESSION_COOKIE_SECURE=True)
    make_user("reader@example.com")
    client = application.test_client()
    cookies = set_cookies(login_with_remember(application, client))
    for name in ("session", "remember_token"):
        assert "Secure" in cookies[name], cookies[name]
        assert "HttpOnly" in cookies[name] and "SameSite=Lax" in cookies[name]


# --- CSRF ---------------------------------------------------------------------------------


def test_state_changes_without_csrf_are_400(app, browser, client, ctx):
    """Every kind of form post without a token is refused with a clear page (SECURITY 19)."""
    make_user("admin@example.com", roles=("admin",))
    tag = make_tag("Untouched")
    anonymous = [
        ("/account/login", {"email": "admin@example.com", "password": PASSWORD}),
        (
            "/account/register",
            {"email": "x@example.com", "password": PASSWORD, "password_confirm": PASSWORD},
        ),
        ("/account/reset", {"email": "admin@example.com"}),
        ("/language", {"language": "de"}),
    ]
    for url, data in anonymous:
        response = client.post(url, data=data)
        assert response.status_code == 400, url
        assert CSRF_MESSAGE in response.get_data(as_text=True), url
    assert not browser.outbox

    browser.login("admin@example.com", PASSWORD)
    before = snapshot()
    staff = [
        ("/admin/tags/new/", {"name": "Forged", "slug": "forged"}),
        (f"/admin/tags/edit/?id={tag.id}", {"name": "Forged", "slug": "forged"}),
        ("/admin/tags/delete/", {"id": tag.id}),
        ("/admin/users/new/", {"email": "forged@example.com", "new_password": PASSWORD}),
        (
            "/account/change",
            {"password": PASSWORD, "new_password": "x" * 20, "new_password_confirm": "x" * 20},
        ),
        ("/account/logout", {}),
    ]
    for url, data in staff:
        response = client.post(url, data=data)
        assert response.status_code == 400, url
        assert CSRF_MESSAGE in response.get_data(as_text=True), url
    assert snapshot() == before
    # Still logged in: the logout without a token did nothing.
    assert client.get("/admin/users/").status_code == 200


def test_csrf_token_of_another_session_is_refused(app, client, ctx):
    """A token read by an attacker in their own session does not work in the victim's."""
    make_user("victim@example.com", roles=("admin",))
    attacker = app.test_client()
    stolen = csrf_token_from(attacker.get("/account/login").get_data(as_text=True))
    Browser(app, client).login("victim@example.com", PASSWORD)
    response = client.post(
        "/admin/tags/new/", data={"name": "Forged", "slug": "forged", "csrf_token": stolen}
    )
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(Tag.id))) == 0


# --- Hostile list arguments in the dashboard (SECURITY 22) --------------------------------


HOSTILE = ["'", ";--", "-1", str(10**9), "1' OR '1'='1", "²", "A" * 100_000, "%00", "[]"]
LIST_ARGS = ["page", "sort", "desc", "search", "page_size", "flt0_0", "flt1_1", "flt0_x", "id"]


@pytest.mark.parametrize("view", ["users", "roles", "tags", "posts", "files"])
def test_hostile_dashboard_list_arguments(app, browser, client, ctx, view):
    """Page, sort, search, filters and sizes with junk give 200/400/404, never 500 or more rows."""
    make_user("admin@example.com", roles=("admin",))
    make_user("other@example.com", roles=("editor",))
    browser.login("admin@example.com", PASSWORD)
    normal = client.get(f"/admin/{view}/")
    assert normal.status_code == 200
    for name in LIST_ARGS:
        for value in HOSTILE:
            response = client.get(f"/admin/{view}/", query_string={name: value})
            assert response.status_code in (200, 302, 400, 404), (
                name,
                value[:20],
                response.status_code,
            )
    assert db.session.scalar(select(func.count(User.id))) == 2


# --- Error pages (SECURITY 21) ------------------------------------------------------------


def test_500_page_shows_no_traceback_or_settings(variant, ctx):
    """An unexpected error is a plain page in the site's look; nothing internal leaks."""
    application = variant(TESTING=False, SECRET_KEY="do-not-leak-this-key-0123456789")

    def fail():
        raise RuntimeError("kaboom: internal detail that must stay in the log")

    def bad_sql():
        db.session.execute(text("SELECT secret_column FROM no_such_table"))

    application.add_url_rule("/test-fail", view_func=fail)
    application.add_url_rule("/test-bad-sql", view_func=bad_sql)
    assert not application.debug and not application.config["PROPAGATE_EXCEPTIONS"]
    client = application.test_client()
    for url in ("/test-fail", "/test-bad-sql"):
        response = client.get(url)
        body = response.get_data(as_text=True)
        assert response.status_code in (500, 503), url
        for secret in (
            "Traceback",
            "do-not-leak-this-key",
            "kaboom",
            "internal detail",
            "no_such_table",
            "secret_column",
            "SELECT",
            "sqlalchemy",
            'File "',
        ):
            assert secret not in body, (url, secret)
        assert 'class="site-header"' in body and 'class="error-page"' in body
        assert_safe_headers(response, url)
    # The app still works after both.
    assert client.get("/").status_code == 200


def test_debug_is_off(app):
    """The session app runs without the debugger."""
    assert not app.debug


# --- Hosts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [{"SERVER_NAME": "cms.example.com"}, {"TRUSTED_HOSTS": ["cms.example.com", "localhost"]}],
    ids=["server-name", "trusted-hosts"],
)
def test_unknown_host_is_400(variant, overrides):
    """A Host header the site does not serve is refused, and no link is built from it."""
    application = variant(**overrides)
    client = application.test_client()
    good = client.get("/healthz", headers={"Host": "cms.example.com"})
    assert good.status_code == 200
    for host in ("evil.example.com", "cms.example.com.evil.example.com", "evil.example.com:80"):
        for url in ("/", "/account/reset", "/no-such-page"):
            response = client.get(url, headers={"Host": host})
            assert response.status_code == 400, (host, url)
            assert "evil" not in response.get_data(as_text=True)
    token_page = client.get("/account/reset", headers={"Host": "cms.example.com"})
    assert token_page.status_code == 200


def test_reset_mail_links_use_the_configured_host(variant, ctx):
    """With SERVER_NAME set, mailed links point at it, whatever Host a request claims."""
    application = variant(SERVER_NAME="cms.example.com")
    make_user("reader@example.com")
    client = application.test_client()
    page = client.get("/account/reset").get_data(as_text=True)
    client.post(
        "/account/reset", data={"email": "reader@example.com", "csrf_token": csrf_token_from(page)}
    )
    outbox = application.extensions["mailman"].outbox
    assert len(outbox) == 1
    assert "http://cms.example.com/account/reset/" in outbox[0].body


# --- Health and database outages (SECURITY 26) --------------------------------------------


def test_healthz(app, client):
    """The health check answers 200 with the database up."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def assert_down(client, logged_in_client=None) -> None:
    """Fail unless the site answers 503 pages and a 503 health check."""
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json()["database"] == "unreachable"
    # Visitors need the database for posts; logged-in people for every page (their account).
    requests = [(client, "/")] + [
        (logged_in_client, url)
        for url in ("/", "/account/", "/admin/", "/admin/users/")
        if logged_in_client
    ]
    for each, url in requests:
        response = each.get(url)
        body = response.get_data(as_text=True)
        assert response.status_code == 503, (url, response.status_code)
        assert "cannot reach its database" in body and "Traceback" not in body
        assert_safe_headers(response, url)


def assert_up(client, logged_in_client=None) -> None:
    """Fail unless the site works again, sessions included."""
    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 200
    if logged_in_client:
        assert logged_in_client.get("/admin/").status_code == 200


def test_sqlite_outage_and_recovery(variant, tmp_path):
    """A database that is missing, then there, then gone, then back: 503s, then recovery."""
    home = tmp_path / "dbhome"
    away = tmp_path / "dbhome-away"
    application = variant(SQLALCHEMY_DATABASE_URI=f"sqlite:///{home / 'cms.db'}")
    client = application.test_client()

    # Started before its database exists (a missing folder): 503, not a crash.
    assert_down(client)

    home.mkdir()
    with application.app_context():
        upgrade(directory=application.config["MIGRATIONS_DIR"])
        from cms.services.accounts import ensure_roles

        ensure_roles()
        make_user("admin@example.com", roles=("admin",))
        make_post(User.query.first(), title="Still here")
    staff = application.test_client()
    Browser(application, staff).login("admin@example.com", PASSWORD)
    assert_up(client, staff)

    # The database goes away under a running app with pooled connections.
    with application.app_context():
        db.engine.dispose()
    home.rename(away)
    try:
        assert_down(client, staff)
    finally:
        away.rename(home)
    assert_up(client, staff)
    assert "Still here" in client.get("/").get_data(as_text=True)
    shutil.rmtree(home)


class TcpProxy:
    """A local TCP forwarder to the database that can be cut and restored."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                conn.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [conn, upstream]
            for source, sink in ((conn, upstream), (upstream, conn)):
                thread = threading.Thread(target=self._pump, args=(source, sink), daemon=True)
                thread.start()
                self.threads.append(thread)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Refuse new connections and break every open one."""
        self.up = False
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        """Accept connections again."""
        self.up = True

    def close(self) -> None:
        """Stop the proxy and close every socket."""
        self.cut()
        # Closing alone does not wake a thread blocked in accept(); shutting down does.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        with self.lock:
            for sock in self.sockets:
                sock.close()
        for thread in self.threads:
            thread.join(timeout=5)


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="needs TEST_DATABASE_URL pointing at PostgreSQL")
def test_postgres_outage_and_recovery(variant, ctx, database_url):
    """PostgreSQL drops every connection and comes back: 503s meanwhile, then recovery."""
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    try:
        through = url.set(host="127.0.0.1", port=proxy.port)
        application = variant(SQLALCHEMY_DATABASE_URI=through.render_as_string(hide_password=False))
        make_user("admin@example.com", roles=("admin",))
        make_post(User.query.first(), title="Still here")
        client = application.test_client()
        staff = application.test_client()
        Browser(application, staff).login("admin@example.com", PASSWORD)
        assert_up(client, staff)

        proxy.cut()
        assert_down(client, staff)
        proxy.restore()
        assert_up(client, staff)
        assert "Still here" in client.get("/").get_data(as_text=True)
    finally:
        with application.app_context():
            db.engine.dispose()
        proxy.close()


def test_migrations_folder_is_where_the_app_looks(app):
    """The factory points Flask-Migrate at the project's migrations."""
    assert (Path(app.config["MIGRATIONS_DIR"]) / "versions").is_dir()
