"""Two-factor setup in three steps: the key without hyphens, a code, the recovery codes to keep."""

import re
import time

import pytest

from cms.extensions import db
from cms.models import User
from cms.services.twofactor import recovery_codes_of
from tests.accounts import code_for, post_form, set_up_authenticator
from tests.factories import PASSWORD, make_user
from tests.helpers import Browser

CODE = re.compile(r'<li class="fs-div"><code>([^<]+)</code></li>')


@pytest.fixture
def editor(ctx):
    """An editor without two-factor."""
    return make_user("steps2fa@example.com", roles=("editor",))


def codes_on(response) -> list[str]:
    """Return the recovery codes a page shows."""
    assert response.status_code == 200, response.status_code
    return CODE.findall(response.get_data(as_text=True))


def stored_codes(user_id: int) -> list[str]:
    """Return the person's recovery codes as the app decrypts them."""
    db.session.expire_all()
    user = db.session.get(User, user_id)
    return recovery_codes_of(user)


def test_the_three_steps_end_with_codes_and_a_way_on(ctx, browser, editor):
    browser.login(editor.email, PASSWORD)
    start = browser.get("/account/tf-setup").get_data(as_text=True)
    # One method: a button, not a lone radio button; the three steps are named up front.
    assert 'type="radio"' not in start
    assert 'name="setup" value="authenticator"' in start
    for step in ("Add the key to your app", "Confirm a code", "Save your recovery codes"):
        assert step in start
    assert 'value="disable"' not in start  # nothing to turn off yet

    page = browser.submit("/account/tf-setup", {"setup": "authenticator"}, match="tf-setup")
    html = page.get_data(as_text=True)
    assert "Step 1 of 3" in html and "Step 2 of 3" in html
    key = re.search(r'<code id="authr-key" class="tf-key">([^<]+)</code>', html).group(1)
    assert re.fullmatch(r"[A-Z2-7]{16,}", key), key
    done = post_form(browser, html, "/account/tf-setup/", {"code": code_for(key)})
    assert done.status_code == 302
    assert done.location.endswith("/account/tf-done")

    # Step 3: the codes made with the setup (stored encrypted), Download, Print, onwards.
    step3 = browser.get("/account/tf-done")
    codes = codes_on(step3)
    assert len(codes) == 8 and codes == stored_codes(editor.id)
    html = step3.get_data(as_text=True)
    assert 'href="/account/recovery-codes.txt" download' in html
    assert "data-print" in html and "/static/print-button.js" in html
    assert 'aria-current="step"' in html
    assert '<a class="button" href="/admin/">' in html  # staff go on to the dashboard
    assert browser.get("/admin/").status_code == 200


def test_recovery_codes_download_is_a_private_attachment(ctx, browser, editor):
    browser.login(editor.email, PASSWORD)
    set_up_authenticator(browser)
    response = browser.get("/account/recovery-codes.txt")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["Content-Disposition"] == 'attachment; filename="recovery-codes.txt"'
    assert response.headers["Cache-Control"] == "no-store"
    lines = response.get_data(as_text=True).splitlines()
    codes = stored_codes(editor.id)
    assert len(codes) == 8 and set(codes) <= set(lines)
    assert editor.email in response.get_data(as_text=True)


def test_recovery_codes_download_needs_a_fresh_login(ctx, browser, editor, client):
    anonymous = client.get("/account/recovery-codes.txt")
    assert anonymous.status_code == 302 and "/account/login" in anonymous.location
    browser.login(editor.email, PASSWORD)
    set_up_authenticator(browser)
    with browser.client.session_transaction() as session:
        session["fs_paa"] = time.time() - 20 * 60
        session.pop("fs_gexp", None)
    for url in ("/account/recovery-codes.txt", "/account/tf-done"):
        stale = browser.get(url)
        assert stale.status_code == 302 and "/account/verify" in stale.location, url


def test_without_codes_the_download_sends_to_the_codes_page(ctx, browser):
    reader = make_user("nocodes@example.com", roles=("reader",))
    browser.login(reader.email, PASSWORD)
    response = browser.get("/account/recovery-codes.txt")
    assert response.status_code == 302 and response.location.endswith("/account/mf-recovery-codes")
    # Step 3 is only for people who have two-factor.
    done = browser.get("/account/tf-done")
    assert done.status_code == 302 and done.location.endswith("/account/tf-setup")


def test_a_new_phone_keeps_the_recovery_codes(ctx, browser, editor):
    browser.login(editor.email, PASSWORD)
    set_up_authenticator(browser)
    first = stored_codes(editor.id)
    page = browser.get("/account/tf-setup").get_data(as_text=True)
    assert "Set up a new authenticator app" in page and 'type="radio"' not in page
    set_up_authenticator(browser)
    assert stored_codes(editor.id) == first


def test_turning_two_factor_off_erases_the_recovery_codes(ctx, browser):
    reader = make_user("codes-off@example.com", roles=("reader",))
    browser.login(reader.email, PASSWORD)
    set_up_authenticator(browser)
    first = stored_codes(reader.id)
    assert len(first) == 8
    off = browser.submit("/account/tf-setup", {"setup": "disable"}, match="tf-setup")
    assert off.status_code in (200, 302), off.status_code
    # A new setup (phone and codes lost, say) then makes a new set, as a first setup does.
    assert stored_codes(reader.id) == []


def test_readers_go_on_to_their_account(ctx, browser):
    reader = make_user("reader2fa@example.com", roles=("reader",))
    browser.login(reader.email, PASSWORD)
    set_up_authenticator(browser)
    html = browser.get("/account/tf-done").get_data(as_text=True)
    assert '<a class="button" href="/account/">' in html


def test_recovery_codes_page_has_the_same_download_and_print(ctx, browser, editor):
    browser.login(editor.email, PASSWORD)
    set_up_authenticator(browser)
    hidden = browser.get("/account/mf-recovery-codes")
    assert codes_on(hidden) == []
    shown = browser.get("/account/mf-recovery-codes?show_codes=1")
    assert codes_on(shown) == stored_codes(editor.id)
    html = shown.get_data(as_text=True)
    assert 'href="/account/recovery-codes.txt" download' in html and "data-print" in html
    # New codes replace the old ones, through the POST form and its token.
    old = stored_codes(editor.id)
    new = codes_on(browser.submit("/account/mf-recovery-codes", match="mf-recovery-codes"))
    assert len(new) == 8 and not set(new) & set(old) and new == stored_codes(editor.id)


def test_the_mandatory_warning_is_said_once(variant):
    strict = variant(TWO_FACTOR_REQUIRED_ROLES=["admin", "editor"])
    with strict.app_context():
        make_user("once2fa@example.com", roles=("editor",))
        browser = Browser(strict, strict.test_client())
        browser.login("once2fa@example.com", PASSWORD)
        sent = browser.get("/admin/")
        assert sent.status_code == 302 and sent.location.endswith("/account/tf-setup")
        page = browser.get("/account/tf-setup").get_data(as_text=True)
        assert page.count("two-factor authentication: set it up") == 1
        assert "Please set up two-factor" not in page
        assert 'value="disable"' not in page


def test_setup_ends_on_the_dashboard_page_that_sent_there(variant):
    strict = variant(TWO_FACTOR_REQUIRED_ROLES=["editor"])
    with strict.app_context():
        make_user("back2fa@example.com", roles=("editor",))
        browser = Browser(strict, strict.test_client())
        browser.login("back2fa@example.com", PASSWORD)
        sent = browser.get("/admin/tags/?search=news")
        assert sent.status_code == 302 and sent.location.endswith("/account/tf-setup")
        set_up_authenticator(browser)
        html = browser.get("/account/tf-done").get_data(as_text=True)
        assert '<a class="button" href="/admin/tags/?search=news">' in html
        # Only once: the page is forgotten after it was offered.
        again = browser.get("/account/tf-done").get_data(as_text=True)
        assert '<a class="button" href="/admin/">' in again


@pytest.mark.parametrize("kept", ["//evil.example/admin/", "https://evil.example/admin/", "/x/"])
def test_only_a_dashboard_path_is_offered_after_setup(ctx, browser, editor, kept):
    browser.login(editor.email, PASSWORD)
    set_up_authenticator(browser)
    with browser.client.session_transaction() as session:
        session["cms_page_before_two_factor"] = kept
    html = browser.get("/account/tf-done").get_data(as_text=True)
    assert '<a class="button" href="/admin/">' in html
