"""Passwords must be long (12) and hard to guess (zxcvbn score 3) everywhere they are set."""

import pytest
from sqlalchemy import func, select

from cms.extensions import db
from cms.models import User
from tests.factories import PASSWORD, make_user

WEAK = ["password1234", "aaaaaaaaaaaa"]
STRONG = "an entirely new passphrase for audits"


def users_named(email: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(User.id)).where(User.email == email))


@pytest.mark.parametrize("weak", WEAK)
def test_register_refuses_weak_passwords(app, browser, ctx, weak):
    data = {"email": "new@example.com", "password": weak, "password_confirm": weak}
    response = browser.submit("/account/register", data, match="/account/register")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "common password" in page or "easy to guess" in page or "not complex" in page
    assert users_named("new@example.com") == 0


@pytest.mark.parametrize("weak", WEAK)
def test_change_refuses_weak_passwords(app, browser, ctx, weak):
    user = make_user("mover@example.com")
    browser.login("mover@example.com", PASSWORD)
    data = {"password": PASSWORD, "new_password": weak, "new_password_confirm": weak}
    response = browser.submit("/account/change", data, match="/account/change")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "common password" in page or "easy to guess" in page or "not complex" in page
    db.session.expire_all()
    from flask_security import verify_password

    assert verify_password(PASSWORD, db.session.get(User, user.id).password)


@pytest.mark.parametrize("weak", WEAK)
def test_admin_form_refuses_weak_passwords(app, browser, ctx, weak):
    make_user("admin@example.com", roles=("admin",))
    person = make_user("person@example.com", roles=("author",))
    before = person.password
    browser.login("admin@example.com", PASSWORD)
    response = browser.submit(
        f"/admin/users/edit/?id={person.id}", {"new_password": weak}, match="/admin/users/edit/"
    )
    page = response.get_data(as_text=True)
    assert "common password" in page or "easy to guess" in page or "not complex" in page
    db.session.expire_all()
    assert db.session.get(User, person.id).password == before


def test_admin_form_accepts_a_strong_password(app, browser, ctx):
    make_user("admin@example.com", roles=("admin",))
    person = make_user("person@example.com", roles=("author",))
    browser.login("admin@example.com", PASSWORD)
    browser.submit(
        f"/admin/users/edit/?id={person.id}", {"new_password": STRONG}, match="/admin/users/edit/"
    )
    from flask_security import verify_password

    db.session.expire_all()
    assert verify_password(STRONG, db.session.get(User, person.id).password)


@pytest.mark.parametrize("command", ["create-admin", "create-user"])
@pytest.mark.parametrize("weak", WEAK)
def test_cli_refuses_weak_passwords(app, runner, ctx, command, weak):
    result = runner.invoke(args=["cms", command, "cli@example.com", "--password", weak])
    assert result.exit_code != 0
    assert "common password" in result.output or "easy to guess" in result.output
    assert users_named("cli@example.com") == 0


def test_cli_refuses_a_password_made_of_the_email(app, runner, ctx):
    result = runner.invoke(
        args=["cms", "create-user", "margaret.thatcher@example.com", "--password",
              "margaret.thatcher@example.com"]
    )  # fmt: skip
    assert result.exit_code != 0


def test_settings_keep_the_breach_check_off_and_strength_on(app):
    assert app.config["SECURITY_PASSWORD_COMPLEXITY_CHECKER"] == "zxcvbn"
    assert app.config["SECURITY_ZXCVBN_MINIMUM_SCORE"] >= 3
    assert app.config["SECURITY_PASSWORD_LENGTH_MIN"] >= 12
    assert app.config["SECURITY_PASSWORD_CHECK_BREACHED"] is False
