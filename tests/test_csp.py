"""Content-Security-Policy: on every response, nonce-based scripts, no inline script execution.

SECURITY 20; the browser tests (tests/browser) fail on any CSP violation in the console.
"""

import re

import pytest

from tests.factories import PASSWORD, make_user
from tests.test_cookies import make_site, public_urls

SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)
NONCE = re.compile(r"'nonce-([A-Za-z0-9_-]+)'")


def policy(response) -> dict[str, str]:
    """Return the CSP header as {directive: value}."""
    header = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            directives[name] = value
    return directives


def assert_shape(response) -> dict[str, str]:
    """Check the policy's shape (the same for every page) and return its directives."""
    directives = policy(response)
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'self'"
    assert directives["form-action"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert "'unsafe-inline'" not in directives["style-src"]
    return directives


def assert_strict(response) -> str:
    """Check the policy of a dashboard or account page and return its script nonce."""
    directives = assert_shape(response)
    nonces = NONCE.findall(directives["script-src"])
    assert len(nonces) == 1 and len(nonces[0]) >= 16
    return nonces[0]


def assert_public(response) -> None:
    """Check the policy of a readers' page: scripts from this site only, no nonce."""
    assert assert_shape(response)["script-src"] == "'self'"


@pytest.mark.parametrize("path", ["/account/login", "/account/register", "/account/reset"])
def test_account_pages_carry_a_nonce(app, client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert_strict(response)


@pytest.mark.parametrize("path", ["/", "/de/", "/no-such-page", "/de/no-such-page"])
def test_readers_pages_carry_a_policy_without_nonce(app, client, path):
    """A cached page is served to many requests: its policy must not depend on any of them."""
    response = client.get(path)
    assert response.status_code in (200, 404)
    assert_public(response)


def test_readers_policy_is_the_same_for_every_request(app, browser, client, ctx):
    make_user("reader@example.com")
    anonymous = {client.get(path).headers["Content-Security-Policy"] for path in ("/", "/de/")}
    browser.login("reader@example.com", PASSWORD)
    anonymous.add(client.get("/").headers["Content-Security-Policy"])
    assert len(anonymous) == 1


def test_readers_pages_have_no_inline_script(app, client, ctx):
    """Every readers' page (post, page, lists, archives, search, errors) loads scripts from
    files only: no inline <script> but JSON-LD data, no nonce, no inline event handler."""
    checked = 0
    for url in public_urls(app, make_site()):
        response = client.get(url)
        response.close()
        if response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        for attributes, body in SCRIPT.findall(html):
            assert "nonce=" not in attributes, url
            if 'type="application/ld+json"' in attributes:
                continue  # data (JSON-LD), never run
            assert "src=" in attributes and not body.strip(), (url, attributes, body[:80])
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", html, re.I), url
        assert_public(response)
        checked += 1
    assert checked >= 12


def test_error_pages_carry_the_policy(app, client):
    response = client.get("/account/no-such-page")
    assert response.status_code == 404
    assert_strict(response)
    assert_public(client.get("/no-such-page"))


def test_nonce_differs_per_request(app, client):
    nonces = {assert_strict(client.get("/account/login")) for _ in range(3)}
    assert len(nonces) == 3


ADMIN_PAGES = [
    "/admin/",
    "/admin/posts/",
    "/admin/posts/new/",
    "/admin/tags/",
    "/admin/tags/new/",
    "/admin/files/",
    "/admin/files/new/",
    "/admin/users/",
    "/admin/users/new/",
    "/admin/roles/",
]


def test_admin_pages_scripts_carry_the_nonce(app, browser, client, ctx):
    """Every inline <script> has this response's nonce; no inline event handlers at all."""
    make_user("editor@example.com", roles=("editor",))
    browser.login("editor@example.com", PASSWORD)
    seen_nonces = set()
    for path in ADMIN_PAGES:
        response = client.get(path)
        if response.status_code == 403:
            continue
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store"
        nonce = assert_strict(response)
        seen_nonces.add(nonce)
        html = response.get_data(as_text=True)
        for attributes, body in SCRIPT.findall(html):
            if body.strip():
                assert f'nonce="{nonce}"' in attributes, (path, attributes, body[:80])
            elif "nonce=" in attributes:
                assert f'nonce="{nonce}"' in attributes, (path, attributes)
        assert not re.search(r"\son[a-z]+\s*=", html, re.I), path
    assert len(seen_nonces) >= 5


def test_admin_list_with_actions_has_no_inline_handlers(app, browser, client, ctx):
    """The list page with bulk actions, filters and delete buttons has no onclick handlers."""
    from tests.factories import make_post

    editor = make_user("editor@example.com", roles=("editor",))
    make_post(editor, title="One")
    browser.login("editor@example.com", PASSWORD)
    html = client.get("/admin/posts/").get_data(as_text=True)
    assert "data-cms-confirm" in html and "data-cms-action" in html
    assert "onclick" not in html


def test_uploads_keep_their_own_stricter_policy(app):
    """The attachment policy set by the uploads route is not replaced."""
    from flask import Response

    from cms.web import set_security_headers

    with app.test_request_context("/uploads/x"):
        response = Response("x")
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        assert set_security_headers(response).headers["Content-Security-Policy"] == (
            "default-src 'none'; sandbox"
        )


def test_hsts_only_over_https(app, client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    response = client.get("/", base_url="https://localhost")
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
