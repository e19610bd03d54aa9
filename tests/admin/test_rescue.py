"""Never lose typing when the session ends: the refused save comes back after the login.

Through the real stack: the edit form with its real CSRF token, a session lost (the cookie
jar emptied, or a logout in another browser that rotates the user's uniquifier), the save
sent anyway, the real login form following `next`, and the form shown again with the text.
Browsers send an Origin header with every form POST; the tests send it too.
"""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from cms.admin import rescue as rescue_views
from cms.extensions import db
from cms.models import Post, PostStatus, RescuedForm, utcnow
from cms.services import rescue
from tests.accounts import login_elsewhere
from tests.admin.admin_helpers import form_fields, text
from tests.factories import PASSWORD, make_post, make_user
from tests.helpers import Browser, csrf_token_from, parse_forms

ORIGIN = {"Origin": "http://localhost"}
SESSION_ENDED = "Your session ended. Log in again and your unsaved text will be back in the form."
RESTORED = "Your unsaved text was restored. Review it and save."
NEW_TITLE = "Typed while the session was ending"
NEW_BODY = "A long paragraph that must not be lost.\n\nWith **two** paragraphs & <angle> text."


def edit_url(post_id: int) -> str:
    return f"/admin/posts/edit/?id={post_id}"


def stashes() -> int:
    """Return how many rescued forms are stored."""
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(RescuedForm))


def fresh(post_id: int) -> Post:
    """Load a post as the database has it now."""
    db.session.commit()
    db.session.expire_all()
    return db.session.get(Post, post_id)


def lose_session(browser) -> None:
    """Empty the session cookie, as when it expired or the browser dropped it."""
    browser.client.delete_cookie("session")
    assert browser.client.get_cookie("session") is None


def send_late(browser, url: str, fields: dict, **changes):
    """Post a form that was filled before the session ended."""
    return browser.client.post(url, data={**fields, **changes}, headers=ORIGIN)


def assert_sent_to_login(response, form_path: str) -> str:
    """Check the answer is the login page with the form (and ?rescued=1) as `next`."""
    assert response.status_code == 303, response.status_code
    location = urlsplit(response.location)
    assert location.path == "/account/login"
    target = parse_qs(location.query)["next"][0]
    assert urlsplit(target).path == form_path
    assert parse_qs(urlsplit(target).query)["rescued"] == ["1"]
    return response.location


def log_in_again(browser, login_location: str, email: str) -> str:
    """Show the login page (with the notice), log in through it and return where it sends."""
    page = text(browser.get(login_location))
    assert SESSION_ENDED in page
    response = browser.submit(
        login_location, {"email": email, "password": PASSWORD}, match="/account/login"
    )
    assert response.status_code == 302
    return response.location


def restored_form(browser, url: str) -> tuple[str, dict]:
    """Open the form again and return its page and fields."""
    response = browser.get(url)
    assert response.status_code == 200, response.status_code
    page = text(response)
    path = urlsplit(url).path
    form = next(
        f for f in parse_forms(page) if f["method"] == "post" and path in (f["action"] or url)
    )
    return page, form["fields"]


def rescue_cookie(browser):
    return browser.client.get_cookie(rescue_views.COOKIE_NAME, path="/admin")


@pytest.fixture
def editor(ctx):
    return make_user("editor@example.com", roles=("editor",), display_name="Edith")


@pytest.fixture
def draft(editor):
    return make_post(editor, title="Original title", body="Original body.", status=PostStatus.DRAFT)


def test_an_expired_session_keeps_the_text_until_the_next_login(app, browser, editor, draft):
    assert browser.login(editor.email, PASSWORD).status_code == 302
    url = edit_url(draft.id)
    fields = form_fields(browser, url)
    assert fields["version"] == "1"
    lose_session(browser)

    response = send_late(browser, url, fields, title=NEW_TITLE, body_md=NEW_BODY)
    # Not the 400 page of a failed CSRF check: the login page, and nothing saved yet.
    login_location = assert_sent_to_login(response, "/admin/posts/edit/")
    assert fresh(draft.id).title == "Original title"
    assert stashes() == 1
    cookie_header = next(
        value for value in response.headers.getlist("Set-Cookie") if value.startswith("cms_rescue=")
    )
    assert "HttpOnly" in cookie_header and "SameSite=Lax" in cookie_header
    assert "Path=/admin" in cookie_header and "Secure" not in cookie_header
    # The token is not stored: only its hash.
    token = rescue_cookie(browser).value
    assert db.session.get(RescuedForm, rescue.token_hash(token)) is not None

    back = log_in_again(browser, login_location, editor.email)
    assert urlsplit(back).path == "/admin/posts/edit/"
    page, restored = restored_form(browser, back)
    assert RESTORED in page
    assert restored["title"] == NEW_TITLE
    assert restored["body_md"].strip() == NEW_BODY
    assert restored["version"] == "1"
    # Used up: the stash and the cookie are gone, so a reload shows the saved post.
    assert stashes() == 0
    assert rescue_cookie(browser) is None
    _page, again = restored_form(browser, back)
    assert again["title"] == "Original title"

    response = browser.client.post(url, data=restored)
    assert response.status_code == 302
    post = fresh(draft.id)
    assert post.title == NEW_TITLE
    assert post.body_md.replace("\r\n", "\n").strip() == NEW_BODY


def test_a_logout_elsewhere_keeps_the_text_and_a_newer_save_still_conflicts(
    app, browser, editor, draft
):
    assert browser.login(editor.email, PASSWORD).status_code == 302
    url = edit_url(draft.id)
    fields = form_fields(browser, url)
    # Logging out in another browser rotates the uniquifier: this session names nobody now.
    other = login_elsewhere(app, editor.email)
    other_browser = Browser(app, other)
    assert other_browser.logout().status_code == 302

    response = send_late(browser, url, fields, title=NEW_TITLE, body_md=NEW_BODY)
    login_location = assert_sent_to_login(response, "/admin/posts/edit/")
    assert fresh(draft.id).title == "Original title"

    # Meanwhile a colleague saves the post (version 2).
    colleague = make_user("colleague@example.com", roles=("editor",))
    elsewhere = Browser(app, login_elsewhere(app, colleague.email))
    response = elsewhere.submit(url, {"title": "The colleague's title"}, match="/admin/posts/edit/")
    assert response.status_code == 302
    assert fresh(draft.id).version == 2

    back = log_in_again(browser, login_location, editor.email)
    _page, restored = restored_form(browser, back)
    assert restored["title"] == NEW_TITLE
    # The version the text was written against: saving it would overwrite the colleague.
    assert restored["version"] == "1"
    response = browser.client.post(url, data=restored)
    assert response.status_code == 409
    assert NEW_TITLE in text(response)
    assert fresh(draft.id).title == "The colleague's title"


def test_a_create_form_is_kept_too(app, browser, ctx):
    author = make_user("author@example.com", roles=("author",))
    assert browser.login(author.email, PASSWORD).status_code == 302
    fields = form_fields(browser, "/admin/posts/new/")
    lose_session(browser)
    response = send_late(
        browser, "/admin/posts/new/", fields, title="A new post", body_md="Its first words."
    )
    login_location = assert_sent_to_login(response, "/admin/posts/new/")
    assert db.session.scalar(select(func.count(Post.id))) == 0

    back = log_in_again(browser, login_location, author.email)
    assert urlsplit(back).path == "/admin/posts/new/"
    page, restored = restored_form(browser, back)
    assert RESTORED in page
    assert restored["title"] == "A new post"
    assert restored["body_md"].strip() == "Its first words."
    # The one-time token of the refused form: sending it twice still makes one post.
    assert restored["submission"] == fields["submission"]
    assert browser.client.post("/admin/posts/new/", data=restored).status_code == 302
    assert browser.client.post("/admin/posts/new/", data=restored).status_code == 200
    db.session.commit()
    posts = db.session.scalars(select(Post)).all()
    assert [(p.title, p.author_id) for p in posts] == [("A new post", author.id)]


def test_another_browser_gets_nothing(app, browser, editor, draft):
    assert browser.login(editor.email, PASSWORD).status_code == 302
    url = edit_url(draft.id)
    fields = form_fields(browser, url)
    lose_session(browser)
    login_location = assert_sent_to_login(
        send_late(browser, url, fields, title=NEW_TITLE), "/admin/posts/edit/"
    )
    target = parse_qs(urlsplit(login_location).query)["next"][0]

    # The same person (or anyone) in a browser without the cookie: a link with ?rescued=1
    # restores nothing, and the stash stays for its browser.
    other = Browser(app, login_elsewhere(app, editor.email))
    page, shown = restored_form(other, target)
    assert shown["title"] == "Original title"
    assert RESTORED not in page
    assert stashes() == 1

    back = log_in_again(browser, login_location, editor.email)
    assert restored_form(browser, back)[1]["title"] == NEW_TITLE


def test_a_stash_is_never_restored_into_another_post(app, browser, editor, draft):
    second = make_post(editor, title="Second post", status=PostStatus.DRAFT)
    assert browser.login(editor.email, PASSWORD).status_code == 302
    url = edit_url(draft.id)
    fields = form_fields(browser, url)
    lose_session(browser)
    login_location = assert_sent_to_login(
        send_late(browser, url, fields, title=NEW_TITLE), "/admin/posts/edit/"
    )
    log_in_again(browser, login_location, editor.email)
    _page, shown = restored_form(browser, edit_url(second.id) + "&rescued=1")
    assert shown["title"] == "Second post"
    _page, shown = restored_form(browser, "/admin/posts/new/?rescued=1")
    assert shown["title"] == ""
    # Still there for the post it belongs to.
    assert restored_form(browser, url + "&rescued=1")[1]["title"] == NEW_TITLE


def test_two_tabs_refused_at_once_both_get_their_text_back(app, browser, editor, draft):
    second = make_post(editor, title="Second post", status=PostStatus.DRAFT)
    assert browser.login(editor.email, PASSWORD).status_code == 302
    first_fields = form_fields(browser, edit_url(draft.id))
    second_fields = form_fields(browser, edit_url(second.id))
    lose_session(browser)
    login_location = assert_sent_to_login(
        send_late(browser, edit_url(draft.id), first_fields, title="First tab"),
        "/admin/posts/edit/",
    )
    assert_sent_to_login(
        send_late(browser, edit_url(second.id), second_fields, title="Second tab"),
        "/admin/posts/edit/",
    )
    assert len(rescue_cookie(browser).value.split(".")) == 2
    log_in_again(browser, login_location, editor.email)
    assert restored_form(browser, edit_url(second.id) + "&rescued=1")[1]["title"] == "Second tab"
    assert len(rescue_cookie(browser).value.split(".")) == 1
    assert restored_form(browser, edit_url(draft.id) + "&rescued=1")[1]["title"] == "First tab"
    assert rescue_cookie(browser) is None
    assert stashes() == 0


def test_only_someone_who_may_edit_the_post_gets_it_back(app, browser, editor, draft):
    """An author in the same browser cannot open the editor's post, rescued or not."""
    author = make_user("author@example.com", roles=("author",))
    url = edit_url(draft.id)
    assert browser.login(editor.email, PASSWORD).status_code == 302
    fields = form_fields(browser, url)
    lose_session(browser)
    login_location = assert_sent_to_login(
        send_late(browser, url, fields, title=NEW_TITLE), "/admin/posts/edit/"
    )
    back = log_in_again(browser, login_location, author.email)
    assert browser.get(back).status_code == 404
    assert stashes() == 1


def test_an_expired_stash_is_ignored(app, browser, editor, draft):
    assert browser.login(editor.email, PASSWORD).status_code == 302
    url = edit_url(draft.id)
    fields = form_fields(browser, url)
    lose_session(browser)
    login_location = assert_sent_to_login(
        send_late(browser, url, fields, title=NEW_TITLE), "/admin/posts/edit/"
    )
    too_old = utcnow() - app.config["RESCUED_FORM_MAX_AGE"] - timedelta(minutes=1)
    db.session.execute(RescuedForm.__table__.update().values(created_at=too_old))
    db.session.commit()
    back = log_in_again(browser, login_location, editor.email)
    page, shown = restored_form(browser, back)
    assert shown["title"] == "Original title"
    assert RESTORED not in page
    assert "could not be restored" in page
    # The next stash clears out the expired one.
    rescue.stash({"title": "x"}, "posts.create_view", None)
    assert stashes() == 1


def test_a_logged_in_user_with_a_bad_token_still_gets_the_400(app, browser, editor, draft):
    assert browser.login(editor.email, PASSWORD).status_code == 302
    url = edit_url(draft.id)
    fields = form_fields(browser, url)
    response = send_late(browser, url, fields, title=NEW_TITLE, csrf_token="forged")
    assert response.status_code == 400
    assert stashes() == 0


@pytest.mark.parametrize(
    "headers",
    [{}, {"Origin": "https://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}],
    ids=["no-origin", "other-origin", "null-origin", "cross-site"],
)
def test_forms_sent_from_elsewhere_are_not_kept(app, browser, editor, draft, headers):
    """A cross-site form cannot plant text in someone's editor: the old answers stand."""
    assert browser.login(editor.email, PASSWORD).status_code == 302
    url = edit_url(draft.id)
    fields = form_fields(browser, url)
    lose_session(browser)
    response = browser.client.post(url, data={**fields, "title": "Planted"}, headers=headers)
    assert response.status_code == 400
    assert stashes() == 0
    assert rescue_cookie(browser) is None


def test_anonymous_posts_without_a_session_keep_the_plain_login_redirect(app, client, draft):
    """A session that names nobody, posting elsewhere than the post forms: as before."""
    token = csrf_token_from(text(client.get("/account/login")))
    response = client.post(
        "/admin/tags/new/", data={"csrf_token": token, "name": "x"}, headers=ORIGIN
    )
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/account/login"
    assert stashes() == 0


def test_sizes_and_counts_are_capped(app, browser, editor, draft, monkeypatch):
    assert browser.login(editor.email, PASSWORD).status_code == 302
    url = edit_url(draft.id)
    fields = form_fields(browser, url)
    lose_session(browser)
    too_long = "x" * (app.config["MAX_BODY_CHARS"] + 1)
    assert send_late(browser, url, fields, body_md=too_long).status_code == 400
    assert stashes() == 0
    # Unknown fields are dropped.
    assert send_late(browser, url, fields, title=NEW_TITLE, evil="y").status_code == 303
    assert set(db.session.scalars(select(RescuedForm.data)).one()) <= set(rescue.FIELDS)
    monkeypatch.setattr(rescue, "MAX_STORED", 1)
    assert send_late(browser, url, fields, title=NEW_TITLE).status_code == 400
    assert stashes() == 1


def test_stashes_per_address_are_throttled(app, variant, editor, draft):
    throttled = variant(
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_RESCUE="2 per hour",
    )
    browser = Browser(throttled, throttled.test_client())
    assert browser.login(editor.email, PASSWORD).status_code == 302
    url = edit_url(draft.id)
    fields = form_fields(browser, url)
    lose_session(browser)
    statuses = [send_late(browser, url, fields, title=NEW_TITLE).status_code for _ in range(3)]
    assert statuses == [303, 303, 400]
    assert stashes() == 2


def test_take_checks_post_kind_and_age(app, editor, draft):
    token = rescue.stash({"title": "t", "version": "1"}, "posts.edit_view", draft.id)
    assert token
    assert rescue.take(token, None) is None
    assert rescue.take(token, draft.id, kind="page") is None
    assert rescue.take("wrong", draft.id) is None
    assert rescue.take(token, draft.id, kind="post") == {"title": ["t"], "version": ["1"]}
    assert rescue.take(token, draft.id) is None
    # A post that does not exist, and an unknown form, are refused.
    assert rescue.stash({"title": "t"}, "posts.edit_view", draft.id + 100) is None
    assert rescue.stash({"title": "t"}, "users.edit_view", None) is None
    assert rescue.stash({"title": " "}, "posts.create_view", None) is None


def test_pages_are_kept_apart_from_posts(app, browser, editor):
    assert browser.login(editor.email, PASSWORD).status_code == 302
    fields = form_fields(browser, "/admin/pages/new/")
    lose_session(browser)
    login_location = assert_sent_to_login(
        send_late(browser, "/admin/pages/new/", fields, title="About us", body_md="Who we are."),
        "/admin/pages/new/",
    )
    back = log_in_again(browser, login_location, editor.email)
    # A post's create form is not the page's.
    assert restored_form(browser, "/admin/posts/new/?rescued=1")[1]["title"] == ""
    page, restored = restored_form(browser, back)
    assert RESTORED in page
    assert restored["title"] == "About us" and restored["body_md"].strip() == "Who we are."
