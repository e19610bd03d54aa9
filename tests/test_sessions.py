"""Sessions that really end: deactivation, role removal, remember-me, and a new session at login.

Sessions live in signed cookies, so "ending" one means rotating the user's fs_uniquifier:
every cookie naming the old one is dead. SECURITY 15.
"""

from cms.extensions import db
from tests.accounts import admin_session, find_user, logged_in, login_elsewhere, role
from tests.factories import PASSWORD, make_user
from tests.helpers import csrf_token_from


def copied_client(app, client, *names):
    """Return a new client holding copies of `client`'s cookies (a thief's browser)."""
    thief = app.test_client()
    for name in names:
        cookie = client.get_cookie(name)
        if cookie is not None:
            thief.set_cookie(name, cookie.value)
    return thief


def remember_login(app, email):
    """Log in with "remember me" in a separate client; return it."""
    other = app.test_client()
    token = csrf_token_from(other.get("/account/login").get_data(as_text=True))
    response = other.post(
        "/account/login",
        data={"email": email, "password": PASSWORD, "remember": "y", "csrf_token": token},
    )
    assert response.status_code == 302
    assert other.get_cookie("remember_token") is not None
    return other


def edit_user(browser, user, data):
    """Save the user's edit form in the dashboard with some fields changed."""
    response = browser.submit(f"/admin/users/edit/?id={user.id}", data, match="/admin/users/edit/")
    assert response.status_code == 302
    return response


def test_deactivation_ends_every_session(app, browser, client, ctx):
    """A copied session cookie is dead after an admin deactivates the account, even once the
    account is active again."""
    person = make_user("leaver@example.com", roles=("editor",))
    elsewhere = login_elsewhere(app, "leaver@example.com")
    stolen = copied_client(app, elsewhere, "session")
    assert logged_in(stolen)
    admin_session(browser)
    edit_user(browser, person, {"active": None})
    assert not find_user("leaver@example.com").active
    assert not logged_in(elsewhere)
    edit_user(browser, person, {"active": "y"})
    assert find_user("leaver@example.com").active
    assert not logged_in(elsewhere)
    assert not logged_in(copied_client(app, stolen, "session"))


def test_role_removal_ends_every_session(app, browser, client, ctx):
    """Taking a role away logs the person out everywhere."""
    person = make_user("demoted@example.com", roles=("editor",))
    author = role("author")
    person.roles.append(author)
    db.session.commit()
    before = find_user("demoted@example.com").fs_uniquifier
    elsewhere = login_elsewhere(app, "demoted@example.com")
    admin_session(browser)
    edit_user(browser, person, {"roles": str(author.id)})
    user = find_user("demoted@example.com")
    assert {role.name for role in user.roles} == {"author"}
    assert user.fs_uniquifier != before
    assert not logged_in(elsewhere)


def test_other_edits_keep_sessions(app, browser, client, ctx):
    """Changing only a display name does not log the person out."""
    person = make_user("kept@example.com", roles=("author",))
    elsewhere = login_elsewhere(app, "kept@example.com")
    admin_session(browser)
    edit_user(browser, person, {"display_name": "New Name"})
    assert find_user("kept@example.com").display_name == "New Name"
    assert logged_in(elsewhere)


def test_remember_me_cookie_dies_on_deactivation(app, browser, client, ctx):
    """A remember-me cookie alone (no session) stops working after deactivation."""
    person = make_user("remembered@example.com", roles=("author",))
    other = remember_login(app, "remembered@example.com")
    only_remember = copied_client(app, other, "remember_token")
    assert logged_in(only_remember)
    admin_session(browser)
    edit_user(browser, person, {"active": None})
    edit_user(browser, person, {"active": "y"})
    assert not logged_in(copied_client(app, other, "remember_token"))


def test_remember_me_cookie_dies_on_logout_elsewhere(app, browser, client, ctx):
    """Logging out in one browser kills a remember-me cookie copied from another."""
    make_user("twice@example.com")
    other = remember_login(app, "twice@example.com")
    remembered = copied_client(app, other, "remember_token")
    browser.login("twice@example.com", PASSWORD)
    browser.logout()
    assert not logged_in(remembered)
    assert not logged_in(other)


def test_session_cookie_changes_at_login(app, browser, client, ctx):
    """The cookie after login differs from before, and the pre-login one carries no login."""
    make_user("fixed@example.com")
    client.get("/account/login")
    before = client.get_cookie("session").value
    assert browser.login("fixed@example.com", PASSWORD).status_code == 302
    after = client.get_cookie("session").value
    assert after != before
    assert logged_in(client)
    planted = app.test_client()
    planted.set_cookie("session", before)
    assert not logged_in(planted)


def test_admin_dropping_their_own_extra_role_keeps_this_session(app, browser, client, ctx):
    """An admin removing one of their own other roles stays logged in here, not elsewhere."""
    admin = make_user("boss@example.com", roles=("admin",))
    admin.roles.append(role("editor"))
    db.session.commit()
    elsewhere = login_elsewhere(app, "boss@example.com")
    assert browser.login("boss@example.com", PASSWORD).status_code == 302
    edit_user(browser, admin, {"roles": str(role("admin").id)})
    assert {role.name for role in find_user("boss@example.com").roles} == {"admin"}
    assert client.get("/admin/users/").status_code == 200
    assert not logged_in(elsewhere)
