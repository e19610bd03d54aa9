"""Two-factor in a real browser: an admin must set up an authenticator app, then use it."""

import time

import pytest
from passlib.totp import TOTP
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, start_live_server, watched_page
from tests.browser.people import log_in
from tests.browser.test_accessibility import serious_violations

ADMIN_EMAIL = "strict-admin@example.com"
ADMIN_PASSWORD = "admin password for the two-factor test"


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory, database_url):
    """A second server with the default rule: admins must use two-factor."""
    server = start_live_server(
        tmp_path_factory.mktemp("live-2fa"), database_url, "browser_2fa",
        ADMIN_EMAIL, ADMIN_PASSWORD, TWO_FACTOR_REQUIRED_ROLES="admin",
    )  # fmt: skip
    yield server
    server.stop()


@pytest.fixture
def strict_page(chromium, strict_server, watch, request):
    """A watched tab on the strict server."""
    context = chromium.new_context(base_url=strict_server.url, locale="en-US")
    tab = watched_page(context, watch)
    yield tab
    context.close()
    assert watch.problems == [], "\n".join(watch.problems)


def current_code(key: str, offset: int = 0) -> str:
    """Return the code an authenticator app would show for this key (`offset` seconds on)."""
    return TOTP(key=key.replace("-", ""), format="base32").generate(time.time() + offset).token


def test_admin_sets_up_two_factor_then_logs_in_with_a_code(strict_page, strict_server):
    page = strict_page
    log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/admin/")
    # The dashboard is closed until two-factor is set up.
    expect(page).to_have_url(strict_server.url + "/account/tf-setup")
    expect(page.locator("main")).to_contain_text("Your role requires two-factor")

    page.locator("input[name=setup][value=authenticator]").check()
    page.locator("form[name=two_factor_setup_form] [type=submit]").click()
    qrcode = page.locator("img#qrcode")
    expect(qrcode).to_be_visible()
    assert qrcode.evaluate("img => img.complete && img.naturalWidth > 0")
    key = page.locator("#authr-key").inner_text().strip()
    assert serious_violations(page) == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "two_factor_setup_qrcode.png"), full_page=True)

    page.get_by_label("Authentication Code").fill(current_code(key))
    page.locator("form[name=two_factor_verify_code_form] [type=submit]").click()
    expect(page.locator(".flashes")).to_contain_text("successfully")
    page.goto("/admin/")
    expect(page).to_have_url(strict_server.url + "/admin/")

    page.goto("/")
    page.get_by_role("banner").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()

    # Password, then the code from the app (the next one: this time step's was used at setup).
    log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(page.locator("h1")).to_contain_text("Two-Factor Authentication")
    assert serious_violations(page) == []
    page.get_by_label("Authentication Code").fill(current_code(key, 30))
    page.locator("form[name=two_factor_verify_code_form] [type=submit]").click()
    expect(page).to_have_url(strict_server.url + "/admin/")
