"""Two-factor in a real browser: staff set up an authenticator app in three steps, then use it."""

import time

import pytest
from passlib.totp import TOTP
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, start_live_server, watched_page
from tests.browser.people import log_in, log_out_of_dashboard, unique_email
from tests.browser.test_accessibility import serious_violations

ADMIN_EMAIL = "strict-admin@example.com"
ADMIN_PASSWORD = "admin password for the two-factor test"
EDITOR_PASSWORD = "an editor's long password"


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory, database_url):
    """A second server where admins and editors must use two-factor."""
    server = start_live_server(
        tmp_path_factory.mktemp("live-2fa"), database_url, "browser_2fa",
        ADMIN_EMAIL, ADMIN_PASSWORD, TWO_FACTOR_REQUIRED_ROLES="admin,editor",
    )  # fmt: skip
    yield server
    server.stop()


@pytest.fixture
def strict_page(chromium, strict_server, watch, request):
    """A watched tab on the strict server."""
    context = chromium.new_context(
        base_url=strict_server.url, locale="en-US", accept_downloads=True
    )
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

    page.get_by_role("button", name="Start").click()
    qrcode = page.locator("img#qrcode")
    expect(qrcode).to_be_visible()
    assert qrcode.evaluate("img => img.complete && img.naturalWidth > 0")
    key = page.locator("#authr-key").inner_text().strip()
    assert serious_violations(page) == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "two_factor_setup_qrcode.png"), full_page=True)

    page.get_by_label("Authentication Code").fill(current_code(key))
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(strict_server.url + "/account/tf-done")
    page.get_by_role("link", name="I have saved my codes: continue").click()
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


def test_new_editor_sets_up_two_factor_in_three_steps(strict_page, strict_server, tmp_path):
    page = strict_page
    email = unique_email("first-login-editor")
    strict_server.flask("cms", "create-user", email, "--role", "editor", "--name", "Nia New",
                        "--password", EDITOR_PASSWORD)  # fmt: skip
    # The first login lands on the setup, which says why once and names the three steps.
    log_in(page, email, EDITOR_PASSWORD)
    page.goto("/admin/")
    expect(page).to_have_url(strict_server.url + "/account/tf-setup")
    main = page.locator("main")
    expect(main.get_by_text("Your role requires two-factor")).to_have_count(1)
    expect(page.locator(".tf-steps li")).to_have_count(3)
    expect(page.locator("input[type=radio]")).to_have_count(0)
    assert serious_violations(page) == []

    # Step 1: scan, or type the key (plain base32, no hyphens).
    page.get_by_role("button", name="Start").click()
    expect(page.locator(".tf-steps [aria-current=step]")).to_contain_text("Add the key")
    key = page.locator("#authr-key").inner_text().strip()
    assert key.isalnum() and key == key.upper(), key
    # Step 2: a code from the app, computed from the key as the app does.
    page.get_by_label("Authentication Code").fill(current_code(key))
    page.get_by_role("button", name="Confirm").click()

    # Step 3: the recovery codes, downloaded as a file, printable; then the dashboard.
    expect(page).to_have_url(strict_server.url + "/account/tf-done")
    expect(page.locator(".tf-steps [aria-current=step]")).to_contain_text("recovery codes")
    shown = [code.strip() for code in page.locator(".tf-code-list code").all_inner_texts()]
    assert len(shown) == 8
    assert serious_violations(page) == []
    page.screenshot(path=str(SCREENSHOTS / "two_factor_recovery_codes.png"), full_page=True)
    with page.expect_download() as info:
        page.get_by_role("link", name="Download").click()
    download = info.value
    assert download.suggested_filename == "recovery-codes.txt"
    saved = tmp_path / "codes.txt"
    download.save_as(saved)
    lines = saved.read_text().splitlines()
    assert set(shown) <= set(lines) and email in saved.read_text()
    # Print opens the browser's print dialog: counted here instead of opened.
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.printed") == 1
    hidden = page.evaluate(
        """() => [...document.styleSheets].some(sheet => sheet.media.mediaText === "print")"""
    )
    assert hidden
    page.get_by_role("link", name="I have saved my codes: continue").click()
    expect(page).to_have_url(strict_server.url + "/admin/")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    # The next login asks for a code.
    log_out_of_dashboard(page)
    log_in(page, email, EDITOR_PASSWORD)
    expect(page.locator("h1")).to_contain_text("Two-Factor Authentication")
