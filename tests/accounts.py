"""Helpers for account tests: people, logins elsewhere, two-factor codes, redirect checks."""

import re
import time
from urllib.parse import urlsplit

from passlib.totp import TOTP
from sqlalchemy import select

from cms.extensions import db
from cms.models import Role, User
from tests.factories import PASSWORD, make_user
from tests.helpers import Browser, csrf_token_from, parse_forms


def find_user(email: str) -> User | None:
    """Load a user fresh from the database."""
    db.session.expire_all()
    return db.session.scalars(select(User).where(User.email == email)).first()


def role(name: str) -> Role:
    """Load a role by name."""
    return db.session.scalars(select(Role).where(Role.name == name)).one()


def role_id(name: str) -> str:
    """Return a role's id as a form value."""
    return str(role(name).id)


def logged_in(client) -> bool:
    """Return whether the client's session is logged in (staff are sent on to the dashboard)."""
    response = client.get("/account/")
    if response.status_code == 302:
        return urlsplit(response.location).path != "/account/login"
    return response.status_code == 200


def register(browser, email: str, password: str = PASSWORD, **extra):
    """Fill in the registration form."""
    data = {"email": email, "password": password, "password_confirm": password, **extra}
    return browser.submit("/account/register", data, match="/account/register")


def login_elsewhere(app, email: str, password: str = PASSWORD):
    """Log in with a second, separate client (another browser)."""
    other = app.test_client()
    token = csrf_token_from(other.get("/account/login").get_data(as_text=True))
    other.post("/account/login", data={"email": email, "password": password, "csrf_token": token})
    assert logged_in(other)
    return other


def admin_session(browser) -> User:
    """Create an admin and log them in."""
    admin = make_user("admin@example.com", roles=("admin",))
    assert browser.login("admin@example.com", PASSWORD).status_code == 302
    return admin


HOSTILE_NEXT = [
    "//evil.example.com",
    "https://evil.example.com/",
    "http://evil.example.com",
    "/\\evil.example.com",
    "\\\\evil.example.com",
    "///evil.example.com",
    "javascript:alert(1)",
    " //evil.example.com",
    "https:evil.example.com",
    "/%5Cevil.example.com",
]


def assert_local(location: str) -> None:
    """Fail unless a redirect target stays on this site."""
    parts = urlsplit(location)
    assert parts.scheme in ("", "http", "https"), location
    assert parts.netloc in ("", "localhost"), location
    assert not location.startswith(("//", "/\\", "\\")), location
    assert "evil" not in parts.netloc, location


def change_password(browser: Browser, old: str, new: str):
    """Change the logged-in user's password through the real form."""
    return browser.submit(
        "/account/change",
        {"password": old, "new_password": new, "new_password_confirm": new},
        match="/account/change",
    )


def code_for(key: str, offset: int = 0) -> str:
    """Return the current code an authenticator app shows for the key on the setup page."""
    totp = TOTP(key=key.replace("-", ""), format="base32")
    return totp.generate(time.time() + offset).token


def wrong_code(key: str) -> str:
    """Return a six-digit code that is none of the codes accepted right now."""
    near = {code_for(key, offset) for offset in range(-120, 121, 30)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in near)


def post_form(browser: Browser, html: str, action_part: str, data: dict):
    """Post the form of `html` whose action contains `action_part`, with its CSRF token."""
    for form in parse_forms(html):
        if form["method"] == "post" and action_part in form["action"]:
            fields = {**form["fields"], **data}
            return browser.client.post(form["action"], data=fields)
    raise AssertionError(f"no form posting to {action_part!r}")


def set_up_authenticator(browser: Browser) -> str:
    """Set up two-factor for the logged-in user through the pages; return the key shown."""
    page = browser.submit("/account/tf-setup", {"setup": "authenticator"}, match="tf-setup")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="qrcode" src="data:image/svg+xml;base64,' in html
    # The key to type is plain base32: some apps and scripts refuse Flask-Security's hyphens.
    key = re.search(r'<code id="authr-key" class="tf-key">([A-Z2-7]+)</code>', html).group(1)
    done = post_form(browser, html, "/account/tf-setup/", {"code": code_for(key)})
    assert done.status_code == 302, done.get_data(as_text=True)
    return key
