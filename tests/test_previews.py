"""SECURITY 10 and 11: preview links are signed, bound to one post, expire; nothing else shows
a draft to the public."""

import time
from datetime import timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner

from cms.models import PostStatus
from cms.services.previews import SALT, preview_token
from tests.factories import PASSWORD, make_post, make_user


@pytest.fixture
def draft(ctx):
    """An author's unpublished post."""
    author = make_user("author@example.com", roles=("author",))
    return make_post(author, title="Not yet", body="Secret **plans**", status=PostStatus.DRAFT)


def test_preview_link_shows_a_draft_to_anyone_with_it(app, client, draft):
    assert client.get(f"/posts/{draft.slug}").status_code == 404
    with app.test_request_context():
        token = preview_token(draft)
    response = client.get(f"/preview/{token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Secret <strong>plans</strong>" in page
    assert "readers cannot see this post yet" in page
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert '<meta name="robots" content="noindex, nofollow">' in page


def test_preview_link_is_bound_to_its_post(app, client, draft):
    other = make_post(draft.author, title="Other draft", status=PostStatus.DRAFT)
    with app.test_request_context():
        token = preview_token(draft)
    # Forge the payload for another post: the signature no longer matches.
    payload, _, rest = token.partition(".")
    forged_payload = URLSafeTimedSerializer("x").dump_payload({"post": other.id}).decode()
    forged = forged_payload + "." + rest
    assert client.get(f"/preview/{forged}").status_code == 404
    # A token signed with another key, or for another purpose, is refused too.
    foreign = URLSafeTimedSerializer("another key", salt=SALT).dumps({"post": other.id})
    assert client.get(f"/preview/{foreign}").status_code == 404
    other_purpose = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="x").dumps(
        {"post": other.id}
    )
    assert client.get(f"/preview/{other_purpose}").status_code == 404
    for junk in ("x", "a.b.c", "%00", "." * 300):
        assert client.get(f"/preview/{junk}").status_code == 404


def test_preview_link_expires(app, client, draft, monkeypatch):
    with app.test_request_context():
        token = preview_token(draft)
    assert client.get(f"/preview/{token}").status_code == 200
    max_age = app.config["PREVIEW_LINK_MAX_AGE"] + timedelta(seconds=5)
    real = time.time
    monkeypatch.setattr(
        TimestampSigner, "get_timestamp", lambda self: int(real() + max_age.total_seconds())
    )
    assert client.get(f"/preview/{token}").status_code == 404


def test_preview_link_dies_with_its_post(app, client, draft):
    from cms.extensions import db

    with app.test_request_context():
        token = preview_token(draft)
    db.session.delete(draft)
    db.session.commit()
    assert client.get(f"/preview/{token}").status_code == 404


def test_dashboard_offers_the_link_to_those_who_may_open_the_post(app, browser, client, draft):
    browser.login("author@example.com", PASSWORD)
    page = client.get(f"/admin/posts/edit/?id={draft.id}").get_data(as_text=True)
    assert 'id="cms-preview-link"' in page
    link = page.split('id="cms-preview-link"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    browser.logout()
    assert client.get(link.replace("http://localhost", "")).status_code == 200
    # Another author cannot reach the post's page in the dashboard, so never sees its link.
    make_user("other@example.com", roles=("author",))
    browser.login("other@example.com", PASSWORD)
    assert client.get(f"/admin/posts/edit/?id={draft.id}").status_code == 404
    assert client.get(f"/admin/posts/details/?id={draft.id}").status_code == 404
