"""'Who else is editing': a notice that expires by itself, never a lock.

Each open edit page sends heartbeats (cms/static/admin/presence.js) to the view's presence
endpoint; the tests send them the way the script does: a POST with the page's CSRF token in
the X-CSRFToken header, and a leave beacon with the token as a form field.
"""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cms.extensions import db
from cms.models import EditPresence, PostKind, PostStatus, utcnow
from cms.services import presence
from tests.admin.admin_helpers import text
from tests.factories import PASSWORD, make_post, make_user
from tests.helpers import Browser, IsolatedClient, csrf_token_from

NOTICE = "is also editing this post"


def edit_url(post) -> str:
    """Return the dashboard edit address of a post or page."""
    view = "pages" if post.kind == PostKind.PAGE else "posts"
    return f"/admin/{view}/edit/?id={post.id}"


def presence_url(post) -> str:
    """Return the heartbeat address of a post or page."""
    view = "pages" if post.kind == PostKind.PAGE else "posts"
    return f"/admin/{view}/presence/{post.id}/"


class Editor:
    """One person in their own browser, with the post's edit page open."""

    def __init__(self, app, email: str, name: str, role: str = "editor"):
        self.user = make_user(email, roles=(role,), display_name=name)
        self.browser = Browser(app, app.test_client())
        assert self.browser.login(email, PASSWORD).status_code == 302
        self.page = ""

    def open(self, post) -> str:
        """Open the edit page (as the browser does) and return its HTML."""
        response = self.browser.get(edit_url(post))
        assert response.status_code == 200
        self.page = text(response)
        return self.page

    def beat(self, post, token: str | None = None, **extra):
        """Send one heartbeat as presence.js does."""
        headers = {"Accept": "application/json"}
        if token is None:
            token = csrf_token_from(self.page)
        if token:
            headers["X-CSRFToken"] = token
        return self.browser.client.post(presence_url(post), headers=headers, data=extra)

    def others(self, post) -> list[str]:
        """Send a heartbeat and return the names it reports."""
        response = self.beat(post)
        assert response.status_code == 200, response.status_code
        return [person["name"] for person in response.get_json()["others"]]

    def leave(self, post):
        """Send the beacon of a closed page: the token as a form field, no header."""
        token = csrf_token_from(self.page)
        return self.browser.client.post(
            presence_url(post),
            data={"csrf_token": token, "leave": "1"},
            content_type="multipart/form-data",
        )


def presence_rows() -> int:
    """Return how many presence rows are stored (a new transaction sees the latest writes)."""
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(EditPresence))


def age_presence(seconds: int) -> None:
    """Move every heartbeat `seconds` into the past."""
    db.session.execute(
        EditPresence.__table__.update().values(seen_at=utcnow() - timedelta(seconds=seconds))
    )
    db.session.commit()


@pytest.fixture
def post(ctx):
    owner = make_user("owner@example.com", roles=("editor",))
    return make_post(owner, title="Shared draft", status=PostStatus.DRAFT)


def test_the_second_editor_sees_the_first_and_the_first_learns_of_the_second(app, post):
    anna = Editor(app, "anna@example.com", "Anna")
    bert = Editor(app, "bert@example.com", "Bert")
    page = anna.open(post)
    # The page carries the live region, the endpoint and the script, and nobody else yet.
    assert 'id="cms-presence"' in page and 'aria-live="polite"' in page
    assert f'data-presence-url="{presence_url(post)}"' in page
    assert "/static/admin/presence.js" in page
    assert NOTICE not in page
    assert anna.others(post) == []

    page = bert.open(post)
    assert "Anna (active" in page and NOTICE in page
    assert "the second save will be refused" in page
    response = bert.beat(post)
    body = response.get_json()
    assert [person["name"] for person in body["others"]] == ["Anna"]
    assert body["others"][0]["since"].endswith("+00:00")
    assert "Anna (active" in body["message"]

    # Anna's next heartbeat reports Bert; neither is told about themselves.
    response = anna.beat(post)
    assert [person["name"] for person in response.get_json()["others"]] == ["Bert"]
    assert "Bert (active" in response.get_json()["message"]
    assert "Anna" not in response.get_json()["message"]
    assert presence_rows() == 2


def test_opening_the_page_writes_nothing(app, post):
    """GET requests change nothing: the script's first heartbeat records the visit."""
    anna = Editor(app, "anna@example.com", "Anna")
    anna.open(post)
    anna.open(post)
    assert presence_rows() == 0


def test_the_notice_expires(app, post):
    anna = Editor(app, "anna@example.com", "Anna")
    bert = Editor(app, "bert@example.com", "Bert")
    anna.open(post)
    anna.beat(post)
    age_presence(app.config["EDIT_PRESENCE_SECONDS"] - 20)
    assert NOTICE in bert.open(post)

    age_presence(app.config["EDIT_PRESENCE_SECONDS"] + 1)
    assert NOTICE not in bert.open(post)
    assert bert.others(post) == []
    # Bert's heartbeat cleaned up the stale row of Anna.
    assert presence_rows() == 1


def test_the_window_is_the_setting(app, variant, post):
    """EDIT_PRESENCE_SECONDS is read at request time, per app."""
    anna = Editor(app, "anna@example.com", "Anna")
    anna.open(post)
    anna.beat(post)
    age_presence(10)
    short = variant(EDIT_PRESENCE_SECONDS=5)
    bert = Browser(short, short.test_client())
    make_user("bert@example.com", roles=("editor",), display_name="Bert")
    assert bert.login("bert@example.com", PASSWORD).status_code == 302
    assert NOTICE not in text(bert.get(edit_url(post)))
    other = Editor(app, "cleo@example.com", "Cleo")
    assert NOTICE in other.open(post)


def test_leaving_removes_the_notice(app, post):
    anna = Editor(app, "anna@example.com", "Anna")
    bert = Editor(app, "bert@example.com", "Bert")
    anna.open(post)
    anna.beat(post)
    bert.open(post)
    assert bert.others(post) == ["Anna"]
    response = anna.leave(post)
    assert response.status_code == 204
    assert bert.others(post) == []
    assert NOTICE not in bert.open(post)


def test_the_csrf_token_is_required(app, post):
    anna = Editor(app, "anna@example.com", "Anna")
    anna.open(post)
    assert anna.beat(post, token="").status_code == 400
    assert anna.beat(post, token="forged").status_code == 400
    response = anna.browser.client.post(presence_url(post), data={"leave": "1"})
    assert response.status_code == 400
    assert presence_rows() == 0


def test_anonymous_visitors_are_sent_to_log_in(app, client, post):
    token = csrf_token_from(text(client.get("/account/login")))
    response = client.post(presence_url(post), headers={"X-CSRFToken": token})
    assert response.status_code in (302, 303)
    assert response.location.startswith("/account/login?next=")
    assert client.get(presence_url(post)).status_code in (302, 303, 405)
    assert presence_rows() == 0


def test_people_poll_only_posts_they_may_edit(app, post):
    author = Editor(app, "author@example.com", "Ada", role="author")
    own = make_post(author.user, title="Ada's draft", status=PostStatus.DRAFT)
    published = make_post(author.user, title="Ada's published post")
    author.open(own)
    assert author.beat(own).status_code == 200
    # Someone else's post, and her own published post (read-only to her): not found.
    assert author.beat(post).status_code == 404
    assert author.beat(published).status_code == 404
    assert author.beat(post, leave="1").status_code == 404
    reader = Editor(app, "reader@example.com", "Rita", role="reader")
    token = csrf_token_from(text(reader.browser.get("/")))
    assert reader.beat(post, token=token).status_code == 403
    assert presence_rows() == 1


def test_names_are_escaped(app, post):
    eve = Editor(app, "eve@example.com", "<b>Eve</b>")
    eve.open(post)
    eve.beat(post)
    page = Editor(app, "bert@example.com", "Bert").open(post)
    assert "<b>Eve</b>" not in page
    assert "&lt;b&gt;Eve&lt;/b&gt; (active" in page


def test_pages_say_page(app, ctx):
    owner = make_user("owner@example.com", roles=("editor",))
    page_row = make_post(owner, title="About", status=PostStatus.DRAFT, kind=PostKind.PAGE)
    anna = Editor(app, "anna@example.com", "Anna")
    anna.open(page_row)
    assert anna.beat(page_row).status_code == 200
    assert "is also editing this page" in Editor(app, "bert@example.com", "Bert").open(page_row)


def test_touch_is_an_upsert(app, post):
    user = make_user("anna@example.com", roles=("editor",))
    early = utcnow() - timedelta(seconds=30)
    presence.touch(post.id, user.id, now=early)
    db.session.commit()
    presence.touch(post.id, user.id)
    db.session.commit()
    assert presence_rows() == 1
    row = db.session.get(EditPresence, (post.id, user.id))
    assert row.seen_at > early
    presence.leave(post.id, user.id)
    db.session.commit()
    assert presence_rows() == 0


def test_concurrent_heartbeats_of_one_person_keep_one_row(app, post):
    """Two tabs beating at the same moment: one row, no error (the insert race is caught)."""
    anna = Editor(app, "anna@example.com", "Anna")
    anna.open(post)
    token = csrf_token_from(anna.page)
    url = presence_url(post)
    cookie = anna.browser.client.get_cookie("session")
    statuses: list[int] = []
    start = threading.Barrier(4)

    def send():
        tab = IsolatedClient(app, app.response_class, use_cookies=True)
        tab.set_cookie("session", cookie.value, domain=cookie.domain)
        start.wait()
        response = tab.post(url, headers={"X-CSRFToken": token})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 4, statuses
    assert presence_rows() == 1
