"""SECURITY 26: a double-clicked (or resent) Save on a new post creates one post."""

import threading

from sqlalchemy import func, select

from cms.extensions import db
from cms.models import Post
from tests.admin.admin_helpers import form_fields, text
from tests.helpers import IsolatedClient


def post_count() -> int:
    """Return how many posts exist."""
    db.session.expire_all()
    return db.session.scalar(select(func.count(Post.id)))


def test_the_same_create_form_sent_twice_saves_once(browser, login_as, client):
    login_as("editor")
    fields = form_fields(browser, "/admin/posts/new/")
    assert len(fields["submission"]) == 32
    data = {**fields, "title": "Clicked twice", "body_md": "Once is enough.", "status": "draft"}
    first = client.post("/admin/posts/new/", data=data)
    second = client.post("/admin/posts/new/", data=data)
    assert first.status_code == 302
    assert second.status_code == 200
    assert "already saved once" in text(second)
    # The typed text is still in the form, nothing is lost.
    assert "Once is enough." in text(second)
    assert post_count() == 1


def test_a_fresh_form_saves_again(browser, login_as, client):
    login_as("editor")
    for title in ("First", "Second"):
        fields = form_fields(browser, "/admin/posts/new/")
        response = client.post("/admin/posts/new/", data={**fields, "title": title})
        assert response.status_code == 302
    assert post_count() == 2


def test_missing_or_forged_token_saves_nothing(browser, login_as, client):
    login_as("author")
    fields = form_fields(browser, "/admin/posts/new/")
    for token in ("", "not-a-token", "../../etc"):
        response = client.post(
            "/admin/posts/new/", data={**fields, "title": "x", "submission": token}
        )
        assert response.status_code == 200
    assert post_count() == 0


def test_concurrent_sends_of_one_form_create_one_post(app, browser, login_as, client):
    login_as("editor")
    fields = form_fields(browser, "/admin/posts/new/")
    data = {**fields, "title": "Raced", "body_md": "Five clicks at once."}
    cookie = client.get_cookie("session")
    statuses: list[int] = []
    start = threading.Barrier(5)

    def send():
        other = IsolatedClient(app, app.response_class, use_cookies=True)
        other.set_cookie("session", cookie.value, domain=cookie.domain)
        start.wait()
        statuses.append(other.post("/admin/posts/new/", data=data).status_code)

    threads = [threading.Thread(target=send) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert post_count() == 1
    assert statuses.count(302) == 1
    # The others are told the form was used (200) or, on SQLite, that the database was busy.
    assert set(statuses) <= {200, 302, 503}, statuses
