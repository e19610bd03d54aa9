"""Bodies longer than MAX_BODY_CHARS are refused with a message (forms and preview)."""

from sqlalchemy import select

from cms.extensions import db
from cms.models import Post
from tests.admin.admin_helpers import submit_admin, text
from tests.helpers import csrf_token_from

PREVIEW = "/admin/posts/preview/"


def test_a_100_kb_body_is_saved(browser, login_as):
    login_as("author")
    body = "Lorem ipsum [dolor](/x) sit *amet*.\n\n" * 2800
    assert len(body) > 100_000
    response = submit_admin(browser, "/admin/posts/new/", {"title": "Long", "body_md": body})
    assert response.status_code == 302
    assert db.session.scalars(select(Post)).one().body_md == body


def test_a_body_over_the_limit_is_refused_and_kept_in_the_form(app, browser, login_as):
    login_as("author")
    limit = app.config["MAX_BODY_CHARS"]
    body = "[" * (limit + 1)
    response = submit_admin(browser, "/admin/posts/new/", {"title": "Too long", "body_md": body})
    page = text(response)
    assert response.status_code == 200
    assert f"at most {limit:,} allowed" in page
    assert body in page
    assert db.session.scalars(select(Post)).first() is None


def test_pages_have_the_same_limit(app, browser, login_as):
    login_as("editor")
    body = "x" * (app.config["MAX_BODY_CHARS"] + 1)
    response = submit_admin(browser, "/admin/pages/new/", {"title": "Page", "body_md": body})
    assert response.status_code == 200
    assert "The body is too long" in text(response)


def test_preview_refuses_a_body_over_the_limit_with_a_message(app, browser, login_as):
    login_as("author")
    token = csrf_token_from(text(browser.get("/admin/posts/new/")))
    limit = app.config["MAX_BODY_CHARS"]
    response = browser.client.post(
        PREVIEW, data={"body_md": "[" * (limit + 1)}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 413
    assert f"at most {limit:,} allowed" in response.get_json()["error"]
    ok = browser.client.post(PREVIEW, data={"body_md": "[" * limit}, headers={"X-CSRFToken": token})
    assert ok.status_code == 200
