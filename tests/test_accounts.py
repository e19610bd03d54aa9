"""Accounts: registration, confirmation, login, logout, reset, and who may change whom.

Everything goes through the real forms with real CSRF tokens and the mail the app sends.
SECURITY 8, 9, 12, 14, 15, 16, 18.
"""

import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from flask_security import verify_password
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select

from cms.extensions import db
from cms.models import Role, User
from tests.accounts import (
    HOSTILE_NEXT,
    admin_session,
    assert_local,
    change_password,
    find_user,
    logged_in,
    login_elsewhere,
    register,
    role_id,
)
from tests.factories import PASSWORD, make_user
from tests.helpers import parse_forms, without_tokens

NEW_PASSWORD = "a different long passphrase"


def role_names(user: User) -> set[str]:
    """Return the names of a user's roles."""
    return {role.name for role in user.roles}


def is_bcrypt(value: str | None) -> bool:
    """Return whether a stored password is a bcrypt hash."""
    return bool(value) and value.startswith(("$2b$", "$2a$", "$2y$")) and len(value) == 60


@pytest.fixture
def shifted_clock(monkeypatch):
    """Move the clock that signs and checks tokens forward by a given time."""

    def shift(delta: timedelta):
        real = time.time
        monkeypatch.setattr(
            TimestampSigner, "get_timestamp", lambda self: int(real() + delta.total_seconds())
        )

    return shift


# --- Registration, confirmation, login, logout ------------------------------------------


def test_register_confirm_login_logout(app, browser, client, ctx):
    """The whole life of a reader account, through the real pages and the mailed link."""
    response = register(browser, "new@example.com")
    assert response.status_code == 302
    user = find_user("new@example.com")
    assert user is not None and user.confirmed_at is None
    assert role_names(user) == {"reader"}
    assert len(browser.outbox) == 1 and browser.outbox[0].to == ["new@example.com"]

    # Not confirmed yet: the password alone does not log in.
    browser.login("new@example.com", PASSWORD)
    assert not logged_in(client)

    link = browser.mailed_link("/account/confirm/")
    response = client.get(link)
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/account/login"
    assert find_user("new@example.com").confirmed_at is not None

    response = browser.login("new@example.com", PASSWORD)
    assert response.status_code == 302 and response.location == "/account/"
    page = client.get("/account/")
    assert page.status_code == 200 and "new@example.com" in page.get_data(as_text=True)

    # Logout is POST only: a link or an image tag cannot log anybody out.
    assert client.get("/account/logout").status_code == 405
    assert logged_in(client)
    response = browser.logout()
    assert response.status_code == 302
    assert not logged_in(client)


def test_confirmation_link_is_single_use(app, browser, client, ctx):
    """A second click on the confirmation link changes nothing."""
    register(browser, "once@example.com")
    link = browser.mailed_link("/account/confirm/")
    client.get(link)
    confirmed_at = find_user("once@example.com").confirmed_at
    assert confirmed_at is not None
    response = client.get(link, follow_redirects=True)
    assert "already been confirmed" in response.get_data(as_text=True)
    assert find_user("once@example.com").confirmed_at == confirmed_at


def test_confirmation_link_expires(app, browser, client, ctx, shifted_clock):
    """A confirmation link older than SECURITY_CONFIRM_EMAIL_WITHIN confirms nothing."""
    register(browser, "late@example.com")
    link = browser.mailed_link("/account/confirm/")
    shifted_clock(app.config["SECURITY_CONFIRM_EMAIL_WITHIN"] + timedelta(minutes=1))
    response = client.get(link, follow_redirects=True)
    assert "did not confirm your email within" in response.get_data(as_text=True)
    assert find_user("late@example.com").confirmed_at is None


def test_staff_land_on_the_dashboard_readers_on_their_account(app, browser, client, ctx):
    """After login staff go on to the dashboard; readers see their account page."""
    make_user("editor@example.com", roles=("editor",))
    browser.login("editor@example.com", PASSWORD)
    response = client.get("/account/")
    assert response.status_code == 302 and urlsplit(response.location).path == "/admin/"


def test_logout_ends_the_session_for_a_copied_cookie(app, browser, client, ctx):
    """A session cookie copied before logout does not log anybody in afterwards (SECURITY 15)."""
    make_user("copy@example.com")
    browser.login("copy@example.com", PASSWORD)
    stolen = client.get_cookie("session").value
    browser.logout()
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert not logged_in(thief)


def test_password_change_ends_other_sessions(app, browser, client, ctx):
    """Changing the password logs out the other sessions but keeps this one (SECURITY 15)."""
    make_user("mover@example.com")
    elsewhere = login_elsewhere(app, "mover@example.com")
    browser.login("mover@example.com", PASSWORD)
    response = change_password(browser, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    assert verify_password(NEW_PASSWORD, find_user("mover@example.com").password)
    assert logged_in(client)
    assert not logged_in(elsewhere)


def test_admin_setting_a_password_ends_that_users_sessions(app, browser, client, ctx):
    """A password set in the Users view logs the person out everywhere (SECURITY 15)."""
    person = make_user("person@example.com", roles=("author",))
    elsewhere = login_elsewhere(app, "person@example.com")
    admin_session(browser)
    browser.submit(
        f"/admin/users/edit/?id={person.id}",
        {"new_password": NEW_PASSWORD},
        match="/admin/users/edit/",
    )
    assert verify_password(NEW_PASSWORD, find_user("person@example.com").password)
    assert not logged_in(elsewhere)


# --- Password reset -----------------------------------------------------------------------


def request_reset(browser, email: str):
    """Ask for a reset link through the forgot-password form."""
    return browser.submit("/account/reset", {"email": email}, match="/account/reset")


def test_reset_password_by_mail(app, browser, client, ctx):
    """The mailed link sets a new password; the old one stops working."""
    make_user("forgetful@example.com")
    request_reset(browser, "forgetful@example.com")
    link = browser.mailed_link("/account/reset/")
    response = browser.submit(
        link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}, match="/account/reset"
    )
    assert response.status_code == 302
    stored = find_user("forgetful@example.com").password
    assert is_bcrypt(stored) and NEW_PASSWORD not in stored

    browser.login("forgetful@example.com", PASSWORD)
    assert not logged_in(client)
    browser.login("forgetful@example.com", NEW_PASSWORD)
    assert logged_in(client)


def test_reset_link_is_single_use(app, browser, client, ctx):
    """A used reset link cannot set the password a second time (SECURITY 14)."""
    make_user("once@example.com")
    request_reset(browser, "once@example.com")
    link = browser.mailed_link("/account/reset/")
    form = browser.form(link, match="/account/reset")
    fields = dict(form["fields"], password=NEW_PASSWORD, password_confirm=NEW_PASSWORD)
    assert client.post(form["action"], data=fields).status_code == 302

    # Replaying the very same form post, token and all, is refused.
    third = "a third password nobody chose"
    fields = dict(fields, password=third, password_confirm=third)
    response = client.post(form["action"], data=fields)
    assert urlsplit(response.location).path == "/account/reset"
    assert client.get(link).status_code == 302
    stored = find_user("once@example.com").password
    assert verify_password(NEW_PASSWORD, stored)
    assert not verify_password(third, stored)


def test_reset_link_expires(app, browser, client, ctx, shifted_clock):
    """A reset link older than SECURITY_RESET_PASSWORD_WITHIN changes nothing."""
    make_user("slow@example.com")
    request_reset(browser, "slow@example.com")
    link = browser.mailed_link("/account/reset/")
    form = browser.form(link, match="/account/reset")
    shifted_clock(app.config["SECURITY_RESET_PASSWORD_WITHIN"] + timedelta(minutes=1))
    fields = dict(form["fields"], password=NEW_PASSWORD, password_confirm=NEW_PASSWORD)
    response = client.post(form["action"], data=fields, follow_redirects=True)
    assert "did not reset your password within" in response.get_data(as_text=True)
    assert verify_password(PASSWORD, find_user("slow@example.com").password)


def test_reset_ends_other_sessions(app, browser, client, ctx):
    """Resetting the password logs out every session that was open (SECURITY 14)."""
    make_user("shared@example.com")
    elsewhere = login_elsewhere(app, "shared@example.com")
    request_reset(browser, "shared@example.com")
    browser.submit(
        browser.mailed_link("/account/reset/"),
        {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
        match="/account/reset",
    )
    assert not logged_in(elsewhere)


# --- Answers that do not tell whether an account exists (SECURITY 12) --------------------


def test_login_does_not_tell_unknown_email_from_wrong_password(app, browser, client, ctx):
    """Unknown e-mail and wrong password get the same status and the same page."""
    make_user("known@example.com")
    unknown = browser.login("stranger@example.com", "wrong password 123")
    wrong = browser.login("known@example.com", "wrong password 123")
    assert unknown.status_code == wrong.status_code == 200
    first = without_tokens(unknown.get_data(as_text=True), "stranger@example.com")
    second = without_tokens(wrong.get_data(as_text=True), "known@example.com")
    assert first == second
    assert "Authentication failed" in first


def test_register_does_not_tell_existing_email_from_new(app, browser, client, ctx):
    """Registering a taken e-mail looks exactly like a fresh registration."""
    owner = make_user("taken@example.com")
    password_before = owner.password
    taken = register(browser, "taken@example.com", "someone else's password")
    taken_page = client.get(taken.location)
    fresh = register(browser, "fresh@example.com")
    fresh_page = client.get(fresh.location)
    assert taken.status_code == fresh.status_code == 302
    assert taken.location == fresh.location
    assert without_tokens(taken_page.get_data(as_text=True), "taken@example.com") == (
        without_tokens(fresh_page.get_data(as_text=True), "fresh@example.com")
    )
    # The existing account is untouched and was told by mail; no second account exists.
    assert find_user("taken@example.com").password == password_before
    assert (
        db.session.scalar(
            select(db.func.count()).select_from(User).where(User.email == "taken@example.com")
        )
        == 1
    )
    assert [m.to for m in browser.outbox] == [["taken@example.com"], ["fresh@example.com"]]


def test_forgot_password_does_not_tell_unknown_email_from_known(app, browser, client, ctx):
    """Asking for a reset link answers alike for unknown and known addresses."""
    make_user("known@example.com")
    unknown = request_reset(browser, "stranger@example.com")
    known = request_reset(browser, "known@example.com")
    assert unknown.status_code == known.status_code
    assert without_tokens(unknown.get_data(as_text=True), "stranger@example.com") == (
        without_tokens(known.get_data(as_text=True), "known@example.com")
    )
    assert [m.to for m in browser.outbox] == [["known@example.com"]]


# --- Mass assignment and user management (SECURITY 8, 9) --------------------------------


def test_register_ignores_roles_and_flags(app, browser, client, ctx):
    """A visitor posting roles, active, confirmed_at... gets a plain unconfirmed reader."""
    admin_role = db.session.scalars(select(Role).where(Role.name == "admin")).one()
    register(
        browser,
        "sneaky@example.com",
        roles=str(admin_role.id),
        role="admin",
        active="0",
        confirmed_at="2020-01-01 00:00:00",
        fs_uniquifier="chosen-by-attacker",
        slug="admin",
        locale="xx",
    )
    user = find_user("sneaky@example.com")
    assert role_names(user) == {"reader"}
    assert user.active is True
    assert user.confirmed_at is None
    assert user.fs_uniquifier != "chosen-by-attacker"
    assert user.slug != "admin" and user.locale != "xx"
    # And after confirming and logging in there is still no way into the dashboard.
    client.get(browser.mailed_link("/account/confirm/"))
    browser.login("sneaky@example.com", PASSWORD)
    assert client.get("/admin/").status_code == 403


def dashboard_forms(app, allowed: set[str]) -> list[str]:
    """Return the create and edit pages of the dashboard views in `allowed`."""
    urls = []
    for rule in app.url_map.iter_rules():
        view, _, name = rule.endpoint.partition(".")
        if (
            rule.rule.startswith("/admin/")
            and view in allowed
            and name in ("create_view", "edit_view")
        ):
            urls.append(rule.rule)
    return sorted(urls)


def test_editor_cannot_change_accounts_through_any_form(app, browser, client, ctx):
    """Roles, active, password, e-mail posted to every form an editor can open change nothing."""
    editor = make_user("editor@example.com", roles=("editor",))
    admin_role = db.session.scalars(select(Role).where(Role.name == "admin")).one()
    from tests.factories import make_post, make_tag

    post = make_post(editor, title="Editor's post")
    tag = make_tag("Editorial")
    before = (editor.password, editor.fs_uniquifier, editor.email, editor.active)
    browser.login("editor@example.com", PASSWORD)

    hostile = {
        "roles": str(admin_role.id),
        "active": "",
        "password": "chosen by the editor",
        "new_password": "chosen by the editor",
        "email": "someone-else@example.com",
        "fs_uniquifier": "chosen",
        "confirmed_at": "",
        "author_id": str(editor.id),
    }
    ids = {"posts": post.id, "tags": tag.id}
    pages = dashboard_forms(app, {"posts", "tags"})
    assert pages, "no dashboard forms found"
    for page in pages:
        url = page + (f"?id={ids[page.split('/')[2]]}" if "edit" in page else "")
        form = browser.form(url, match=page)
        # Keep the form's own fields valid; add the hostile ones it does not have.
        data = {key: value for key, value in hostile.items() if key not in form["fields"]}
        browser.submit(url, data, match=page)
    browser.submit("/account/change", hostile, match="/account/change")
    browser.submit("/admin/", hostile, match="/language")

    user = find_user("editor@example.com")
    assert role_names(user) == {"editor"}
    assert (user.password, user.fs_uniquifier, user.email, user.active) == before
    assert find_user("someone-else@example.com") is None


def test_users_view_is_admin_only(app, browser, client, ctx):
    """Editors and authors neither see nor open the people pages."""
    make_user("editor@example.com", roles=("editor",))
    browser.login("editor@example.com", PASSWORD)
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert "/admin/users/" not in dashboard and "/admin/roles/" not in dashboard
    assert client.get("/admin/users/").status_code == 403
    assert client.get("/admin/roles/").status_code == 403


def test_admin_creates_an_editor_who_can_log_in(app, browser, client, ctx):
    """The Users form makes a confirmed editor with a bcrypt-hashed password."""
    admin_session(browser)
    response = browser.submit(
        "/admin/users/new/",
        {
            "email": "Fresh.Editor@example.com",
            "display_name": "Fresh Editor",
            "roles": role_id("editor"),
            "new_password": NEW_PASSWORD,
        },
        match="/admin/users/new/",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    user = find_user("fresh.editor@example.com")
    assert user is not None and role_names(user) == {"editor"}
    assert is_bcrypt(user.password) and NEW_PASSWORD not in user.password
    assert user.confirmed_at is not None and user.active

    browser.logout()
    browser.login("Fresh.Editor@example.com", NEW_PASSWORD)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/users/").status_code == 403


def test_admin_setting_a_password_stores_only_a_hash(app, browser, client, ctx):
    """A password typed into the Users edit form is hashed; the form never shows it back."""
    admin_session(browser)
    person = make_user("person@example.com", roles=("author",))
    url = f"/admin/users/edit/?id={person.id}"
    response = browser.submit(url, {"new_password": NEW_PASSWORD}, match="/admin/users/edit/")
    assert response.status_code == 302
    stored = find_user("person@example.com").password
    assert is_bcrypt(stored) and verify_password(NEW_PASSWORD, stored)
    page = client.get(url).get_data(as_text=True)
    assert NEW_PASSWORD not in page and stored not in page
    for url in (f"/admin/users/details/?id={person.id}", "/admin/users/"):
        page = client.get(url).get_data(as_text=True)
        assert stored not in page and person.fs_uniquifier not in page


def test_admin_sets_a_short_password_refused(app, browser, client, ctx):
    """The dashboard applies the same password rules as registration."""
    admin_session(browser)
    person = make_user("person@example.com", roles=("author",))
    before = person.password
    url = f"/admin/users/edit/?id={person.id}"
    response = browser.submit(url, {"new_password": "short"}, match="/admin/users/edit/")
    assert response.status_code == 200 and "12" in response.get_data(as_text=True)
    assert find_user("person@example.com").password == before


def test_admin_cannot_lock_themselves_out(app, browser, client, ctx):
    """An admin can neither deactivate nor demote nor delete their own account."""
    admin = admin_session(browser)
    url = f"/admin/users/edit/?id={admin.id}"
    for change in ({"active": None}, {"roles": role_id("editor")}):
        response = browser.submit(url, change, match="/admin/users/edit/")
        assert "You cannot remove your own admin role" in response.get_data(as_text=True)
    form = browser.form("/admin/users/", match="/admin/users/delete/")
    token = form["fields"]["csrf_token"]
    client.post("/admin/users/delete/", data={"id": admin.id, "csrf_token": token})
    client.post(
        "/admin/users/action/",
        data={"action": "delete", "rowid": admin.id, "csrf_token": token},
    )
    user = find_user("admin@example.com")
    assert user is not None and user.active and role_names(user) == {"admin"}
    assert client.get("/admin/users/").status_code == 200


# --- Where login sends people (SECURITY 18) -----------------------------------------------


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_login_next_stays_on_the_site(app, browser, client, ctx, target):
    """?next= and the next form field only ever lead to a path on this site."""
    make_user("reader@example.com")
    for url, data in (
        (f"/account/login?next={target}", {}),
        ("/account/login", {"next": target}),
    ):
        form = browser.form(url, match="/account/login")
        fields = dict(form["fields"], email="reader@example.com", password=PASSWORD, **data)
        response = client.post(form["action"], data=fields)
        if response.status_code == 302:
            assert_local(response.location)
            browser.logout()
        else:
            # Refused outright: the login form again, with the reason, and nobody logged in.
            assert response.status_code == 200
            assert "Redirections outside the domain are forbidden" in response.get_data(
                as_text=True
            )
            assert not logged_in(client)


def test_login_next_to_a_local_page_is_followed(app, browser, client, ctx):
    """A genuine next= (the page that asked for login) is honoured."""
    make_user("editor@example.com", roles=("editor",))
    response = client.get("/admin/tags/")
    assert urlsplit(response.location).path == "/account/login"
    login_page = response.location
    form = browser.form(login_page, match="/account/login")
    fields = dict(form["fields"], email="editor@example.com", password=PASSWORD)
    response = client.post(form["action"], data=fields)
    assert urlsplit(response.location).path == "/admin/tags/"


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_language_form_next_stays_on_the_site(app, browser, client, ctx, target):
    """The language form goes back only to a page of this site."""
    # Readers' pages switch language with links; the form is the dashboard's.
    token = browser.csrf("/account/login")
    data = {"csrf_token": token, "language": "de", "next": target}
    response = client.post("/language", data=data)
    assert response.status_code == 302
    assert_local(response.location)


# --- `flask cms create-admin` -----------------------------------------------------------


def test_create_admin_command(app, runner, browser, client):
    """The command makes a confirmed admin who can log in at once."""
    result = runner.invoke(
        args=["cms", "create-admin", "boss@example.com", "--password", NEW_PASSWORD]
    )
    assert result.exit_code == 0, result.output
    assert "boss@example.com" in result.output
    assert NEW_PASSWORD not in result.output
    with app.app_context():
        user = find_user("boss@example.com")
        assert role_names(user) == {"admin"} and user.confirmed_at and user.active
        assert is_bcrypt(user.password)
    browser.login("boss@example.com", NEW_PASSWORD)
    assert client.get("/admin/users/").status_code == 200


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-address", NEW_PASSWORD, "@-sign"),
        ("boss@", NEW_PASSWORD, "@-sign"),
        ("boss@example.com", "short", "12"),
        ("boss@example.com", "", "12"),
    ],
)
def test_create_admin_refuses_bad_input(app, runner, email, password, message):
    """A bad e-mail or a short password fails with a message and creates nothing."""
    result = runner.invoke(args=["cms", "create-admin", email, "--password", password])
    assert result.exit_code != 0
    assert message in result.output.lower()
    assert "Traceback" not in result.output
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(User)) == 0


def test_create_admin_promotes_an_existing_account(app, runner, browser, client):
    """Running it for an existing reader makes them admin with the new password."""
    with app.app_context():
        make_user("reader@example.com")
    result = runner.invoke(
        args=["cms", "create-admin", "reader@example.com", "--password", NEW_PASSWORD]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert role_names(find_user("reader@example.com")) == {"reader", "admin"}
    browser.login("reader@example.com", NEW_PASSWORD)
    assert client.get("/admin/users/").status_code == 200


def test_forms_carry_csrf_tokens(app, browser):
    """Every account form has a CSRF field (so the POSTs above really used tokens)."""
    for url in ("/account/login", "/account/register", "/account/reset"):
        forms = parse_forms(browser.get(url).get_data(as_text=True))
        posts = [form for form in forms if form["method"] == "post"]
        assert posts and all("csrf_token" in form["fields"] for form in posts), url
