"""Fixtures for the dashboard tests: people of each role, logged in through the real form."""

import pytest

from tests.factories import PASSWORD, make_user


@pytest.fixture
def login_as(browser, ctx):
    """Return a function that creates a user with one role, logs them in and returns them."""

    def login(role: str, email: str | None = None, display_name: str | None = None):
        user = make_user(email or f"{role}@example.com", roles=(role,), display_name=display_name)
        response = browser.login(user.email, PASSWORD)
        assert response.status_code == 302, "login failed"
        return user

    return login
