"""Two-factor login (authenticator app, recovery codes), mandatory 2FA per role, fresh login."""

import re
import time

import pytest

from cms.extensions import db
from cms.models import User
from tests.accounts import code_for, logged_in, set_up_authenticator, wrong_code
from tests.factories import PASSWORD, make_user
from tests.helpers import Browser


def log_in_with_code(browser: Browser, email: str, code: str):
    """Log in with the password, then send `code` on the two-factor page."""
    first = browser.login(email, PASSWORD)
    assert first.status_code in (200, 302)
    return browser.submit("/account/tf-validate", {"code": code}, match="tf-validate")


@pytest.fixture
def editor(ctx):
    """An editor without two-factor."""
    return make_user("editor2fa@example.com", roles=("editor",))


def test_totp_setup_then_login_needs_the_code(ctx, browser, editor):
    browser.login(editor.email, PASSWORD)
    key = set_up_authenticator(browser)
    user = db.session.get(User, editor.id)
    assert user.tf_primary_method == "authenticator"
    # The secret is stored encrypted, never as the key shown to the person.
    assert user.tf_totp_secret and key.replace("-", "") not in user.tf_totp_secret
    browser.logout()

    # The password alone does not log in.
    browser.login(editor.email, PASSWORD)
    assert not logged_in(browser.client)
    assert browser.get("/admin/").status_code == 302

    # The setup just used this time step's code; the app shows the next one 30 s later.
    done = browser.submit("/account/tf-validate", {"code": code_for(key, 30)}, match="tf-validate")
    assert done.status_code == 302
    assert logged_in(browser.client)
    assert browser.get("/admin/").status_code == 200


def test_a_code_is_accepted_only_once(ctx, browser, editor):
    browser.login(editor.email, PASSWORD)
    key = set_up_authenticator(browser)
    browser.logout()
    first = log_in_with_code(browser, editor.email, code_for(key, 30))
    assert first.status_code == 302 and logged_in(browser.client)
    browser.logout()
    # Replaying the same code (seen over a shoulder, say) is refused, as are older ones.
    for code in (code_for(key, 30), code_for(key)):
        again = log_in_with_code(browser, editor.email, code)
        assert again.status_code == 200
        assert "Invalid code" in again.get_data(as_text=True)
        assert not logged_in(browser.client)
    assert db.session.get(User, editor.id).tf_totp_last_counter is not None


def test_wrong_code_does_not_log_in(ctx, browser, editor):
    browser.login(editor.email, PASSWORD)
    key = set_up_authenticator(browser)
    browser.logout()

    response = log_in_with_code(browser, editor.email, wrong_code(key))
    assert response.status_code == 200
    assert "Invalid code" in response.get_data(as_text=True)
    assert not logged_in(browser.client)
    assert browser.get("/admin/").status_code == 302


def test_recovery_code_logs_in_once(ctx, browser, editor):
    browser.login(editor.email, PASSWORD)
    set_up_authenticator(browser)
    page = browser.submit("/account/mf-recovery-codes", match="mf-recovery-codes")
    assert page.status_code == 200
    codes = re.findall(r'<li class="fs-div"><code>([^<]+)</code></li>', page.get_data(as_text=True))
    assert len(codes) == 8
    # Stored encrypted: the database never holds a usable code.
    stored = browser.db_get(User, editor.id).mf_recovery_codes
    assert len(stored) == 8 and not set(stored) & set(codes)
    assert not any(code in "".join(stored) for code in codes)
    browser.logout()

    browser.login(editor.email, PASSWORD)
    used = browser.submit("/account/mf-recovery", {"code": codes[0]}, match="mf-recovery")
    assert used.status_code == 302
    assert logged_in(browser.client)
    browser.logout()

    browser.login(editor.email, PASSWORD)
    again = browser.submit("/account/mf-recovery", {"code": codes[0]}, match="mf-recovery")
    assert again.status_code == 200
    assert not logged_in(browser.client)
    # Another code still works.
    other = browser.submit("/account/mf-recovery", {"code": codes[1]}, match="mf-recovery")
    assert other.status_code == 302
    assert logged_in(browser.client)


def admin_urls(app) -> list[tuple[str, set[str]]]:
    """Return every dashboard URL (arguments filled in) with its methods."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint.endswith(".static"):
            continue
        url = re.sub(r"<(?:[^:<>]+:)?id>", "1", rule.rule.replace("<export_type>", "csv"))
        assert "<" not in url, url
        urls.append((url, set(rule.methods) & {"GET", "POST"}))
    return urls


@pytest.fixture
def strict_app(variant):
    """An app where admins must use two-factor."""
    return variant(TWO_FACTOR_REQUIRED_ROLES=["admin"])


def test_admin_without_2fa_is_sent_to_setup_from_every_dashboard_url(strict_app):
    with strict_app.app_context():
        admin = make_user("admin2fa@example.com", roles=("admin",))
        browser = Browser(strict_app, strict_app.test_client())
        browser.login(admin.email, PASSWORD)
        before = db.session.get(User, admin.id).email
        urls = admin_urls(strict_app)
        assert len(urls) > 30
        token = browser.csrf("/account/tf-setup")
        for url, methods in urls:
            if "GET" in methods:
                response = browser.get(url + "?id=1")
                assert response.status_code == 302, url
                assert response.location.endswith("/account/tf-setup"), url
            if "POST" in methods:
                response = browser.client.post(
                    url + "?id=1", data={"csrf_token": token, "email": "x@example.com"}
                )
                assert response.status_code == 403, url
        assert db.session.get(User, admin.id).email == before

        # The setup page says why, and logout stays reachable.
        page = browser.get("/account/tf-setup").get_data(as_text=True)
        assert "Your role requires two-factor authentication" in page
        assert 'value="disable"' not in page
        set_up_authenticator(browser)
        assert browser.get("/admin/").status_code == 200
        assert browser.logout().status_code == 302


def test_editor_is_not_forced_unless_configured(variant):
    relaxed = variant(TWO_FACTOR_REQUIRED_ROLES=["admin"])
    strict = variant(TWO_FACTOR_REQUIRED_ROLES=["admin", "editor"])
    with relaxed.app_context():
        make_user("editor-relaxed@example.com", roles=("editor",))
    relaxed_browser = Browser(relaxed, relaxed.test_client())
    relaxed_browser.login("editor-relaxed@example.com", PASSWORD)
    assert relaxed_browser.get("/admin/").status_code == 200

    strict_browser = Browser(strict, strict.test_client())
    strict_browser.login("editor-relaxed@example.com", PASSWORD)
    response = strict_browser.get("/admin/posts/")
    assert response.status_code == 302
    assert response.location.endswith("/account/tf-setup")


def test_no_required_roles_in_the_default_test_app(ctx, browser):
    admin = make_user("plainadmin@example.com", roles=("admin",))
    browser.login(admin.email, PASSWORD)
    assert browser.get("/admin/").status_code == 200


def age_login(browser: Browser, minutes: float) -> None:
    """Pretend the session's login happened `minutes` ago (and no grace period runs)."""
    with browser.client.session_transaction() as session:
        session["fs_paa"] = time.time() - minutes * 60
        session.pop("fs_gexp", None)


@pytest.mark.parametrize(
    "url",
    ["/account/change", "/account/change-email", "/account/tf-setup", "/account/mf-recovery-codes"],
)
def test_old_login_must_reauthenticate(ctx, browser, editor, url):
    browser.login(editor.email, PASSWORD)
    age_login(browser, 10)
    assert browser.get(url).status_code == 200

    age_login(browser, 20)
    response = browser.get(url)
    assert response.status_code == 302
    assert "/account/verify" in response.location

    # Re-entering the password makes the login fresh again.
    verify = browser.submit(response.location, {"password": PASSWORD}, match="verify")
    assert verify.status_code == 302
    assert browser.get(url).status_code == 200


def test_stale_login_cannot_change_the_password(ctx, browser, editor):
    browser.login(editor.email, PASSWORD)
    form = browser.form("/account/change", match="change")
    age_login(browser, 20)
    new = "a brand new password 123"
    fields = {
        **form["fields"],
        "password": PASSWORD,
        "new_password": new,
        "new_password_confirm": new,
    }
    response = browser.client.post("/account/change", data=fields)
    assert response.status_code == 302
    assert "/account/verify" in response.location
    browser.logout()
    assert browser.login(editor.email, PASSWORD).status_code == 302
    assert logged_in(browser.client)


def test_tiny_freshness_setting_asks_at_once(variant):
    from datetime import timedelta

    app = variant(SECURITY_FRESHNESS=timedelta(microseconds=1))
    with app.app_context():
        make_user("fresh@example.com", roles=("editor",))
    browser = Browser(app, app.test_client())
    browser.login("fresh@example.com", PASSWORD)
    time.sleep(0.01)
    response = browser.get("/account/change")
    assert response.status_code == 302
    assert "/account/verify" in response.location


def test_changing_the_email_confirms_the_new_address(ctx, browser, editor):
    """A fresh login asks for the new address, which must confirm by mail before it counts."""
    browser.login(editor.email, PASSWORD)
    response = browser.submit(
        "/account/change-email", {"email": "new.address@example.com"}, match="change-email"
    )
    assert response.status_code in (200, 302)
    assert db.session.get(User, editor.id).email == "editor2fa@example.com"
    link = browser.mailed_link("/account/change-email/")
    assert browser.outbox[-1].to == ["new.address@example.com"]
    browser.get(link)
    assert db.session.get(User, editor.id).email == "new.address@example.com"
