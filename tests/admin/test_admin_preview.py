"""The Markdown preview endpoint of the post editor: sanitized HTML, login and CSRF required."""

from urllib.parse import urlsplit

from tests.admin.admin_helpers import text
from tests.helpers import csrf_token_from

PREVIEW = "/admin/posts/preview/"
HOSTILE = (
    "# Title\n\n"
    "<script>alert(1)</script>\n\n"
    "[click](javascript:alert(1)) <img src=x onerror=alert(1)>\n\n"
    # CommonMark: a line opening with <iframe> is an HTML block, so the link has its own line.
    "<iframe src=https://example.com></iframe>\n\n[ok](https://example.com)"
)


def editor_token(browser) -> str:
    """Return the CSRF token of the post editor page, as post-editor.js reads it."""
    return csrf_token_from(text(browser.get("/admin/posts/new/")))


def test_preview_returns_sanitized_html(browser, login_as):
    login_as("author")
    response = browser.client.post(
        PREVIEW, data={"body_md": HOSTILE}, headers={"X-CSRFToken": editor_token(browser)}
    )
    assert response.status_code == 200
    rendered = response.get_json()["html"]
    assert '<h1 id="c-title" dir="auto">Title <a class="c-anchor" href="#c-title"' in rendered
    assert '<a href="https://example.com" rel="noopener noreferrer">ok</a>' in rendered
    for bad in ("<script", "alert(1)</", "javascript:", "onerror", "<iframe"):
        assert bad not in rendered, bad


def test_editor_page_wires_the_preview_without_inline_script(browser, login_as):
    login_as("author")
    page = text(browser.get("/admin/posts/new/"))
    assert 'data-preview-url="/admin/posts/preview/"' in page
    assert '<script src="/static/admin/post-editor.js"></script>' in page
    script = browser.get("/static/admin/post-editor.js")
    script.close()
    assert script.status_code == 200


def test_preview_needs_a_csrf_token(browser, login_as):
    login_as("editor")
    assert browser.client.post(PREVIEW, data={"body_md": "x"}).status_code == 400
    wrong = {"X-CSRFToken": "not-a-token"}
    assert browser.client.post(PREVIEW, data={"body_md": "x"}, headers=wrong).status_code == 400


def test_preview_needs_a_staff_login(app, browser, client, ctx):
    # A visitor with a valid token (readers' pages have none: from the login page) is sent
    # to the login page.
    token = csrf_token_from(text(client.get("/account/login")))
    response = client.post(PREVIEW, data={"body_md": "x"}, headers={"X-CSRFToken": token})
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/account/login"


def test_preview_refuses_readers(browser, login_as):
    login_as("reader")
    token = csrf_token_from(text(browser.get("/")))
    response = browser.client.post(PREVIEW, data={"body_md": "x"}, headers={"X-CSRFToken": token})
    assert response.status_code == 403


def test_preview_refuses_huge_bodies(browser, login_as):
    login_as("author")
    headers = {"X-CSRFToken": editor_token(browser)}
    response = browser.client.post(PREVIEW, data={"body_md": "x" * 200_001}, headers=headers)
    assert response.status_code == 413
