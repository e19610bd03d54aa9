"""The admins' user form checks e-mail addresses as the command line does (issue 10, item 9a)."""

import pytest
from sqlalchemy import func, select

from cms.extensions import db
from cms.models import User
from tests.admin.admin_helpers import submit_admin, text
from tests.factories import make_user
from tests.helpers import snapshot

MESSAGE = "Please enter a valid e-mail address"
INVALID = (
    "not-an-address",
    "ann@",
    "@example.com",
    "ann@@example.com",
    "ann@example",
    "ann example@example.com",
    "ann@exa mple.com",
    "ann@example..com",
    ".ann@example.com",
    "ann.@example.com",
    "ann@-example.com",
    "ann@example.com.",
    "ann@localhost",
    "ann@example.test",
    "ann@[127.0.0.1]",
    "ann@example.com\nBcc: victim@example.com",
    "ann@example.com,bob@example.com",
    "<ann@example.com>",
    '"Ann" <ann@example.com>',
    "ann\x00@example.com",
    "ann@exam_ple.com",
    "ann@" + "a" * 64 + ".com",
)


@pytest.mark.parametrize("address", INVALID)
def test_create_refuses_an_invalid_address(browser, login_as, address):
    login_as("admin")
    before = snapshot()
    data = {"email": address, "display_name": "Ann", "new_password": "a long enough passphrase 42"}
    response = submit_admin(browser, "/admin/users/new/", data)
    assert response.status_code == 200
    assert MESSAGE in text(response)
    assert snapshot() == before


@pytest.mark.parametrize("address", INVALID)
def test_edit_refuses_an_invalid_address(browser, login_as, address):
    login_as("admin")
    user = make_user("kept@example.com", roles=("author",))
    before = snapshot()
    response = submit_admin(browser, f"/admin/users/edit/?id={user.id}", {"email": address})
    assert response.status_code == 200
    assert MESSAGE in text(response)
    assert snapshot() == before


def test_a_valid_address_is_stored_normalized(browser, login_as):
    login_as("admin")
    data = {
        "email": "  Ann.Example@Example.COM ",
        "display_name": "Ann",
        "new_password": "a long enough passphrase 42",
    }
    response = submit_admin(browser, "/admin/users/new/", data)
    assert response.status_code == 302
    db.session.expire_all()
    found = db.session.scalars(
        select(User).where(func.lower(User.email) == "ann.example@example.com")
    ).one()
    assert found.email == "ann.example@example.com"
    response = submit_admin(
        browser, f"/admin/users/edit/?id={found.id}", {"email": "ann@example.org"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, found.id).email == "ann@example.org"
