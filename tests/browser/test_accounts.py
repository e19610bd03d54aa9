"""Account flows in a real browser: register, confirm by mail, log in and out, reset."""

from playwright.sync_api import expect

from tests.browser.people import log_in, register, unique_email


def test_register_confirm_login_logout(page, live_server):
    email, password = unique_email("visitor"), "a long reader password"
    register(page, email, password)
    expect(page.locator(".flashes")).to_contain_text("please click on the link in the email")

    # Unconfirmed accounts cannot log in yet.
    log_in(page, email, password)
    expect(page).to_have_url(live_server.url + "/account/login")

    page.goto(live_server.mailed_link(email, "/account/confirm/"))
    expect(page.locator(".flashes")).to_contain_text("confirmed")

    log_in(page, email, password)
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.locator("main")).to_contain_text(email)

    # Logout is a POST form in the header.
    page.get_by_role("banner").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    page.goto("/account/")
    expect(page).to_have_url(live_server.url + "/account/login?next=/account/")


def test_forgot_password_sets_a_new_password(page, live_server):
    email, old, new = unique_email("forgetful"), "the first long password", "a brand new password"
    register(page, email, old)
    page.goto(live_server.mailed_link(email, "/account/confirm/"))

    page.goto("/account/reset")
    page.get_by_label("Email Address").fill(email)
    page.get_by_role("button", name="Recover Password").click()
    expect(page.locator(".flashes")).to_contain_text("Instructions to reset your password")

    page.goto(live_server.mailed_link(email, "/account/reset/"))
    page.get_by_label("Password", exact=True).fill(new)
    page.get_by_label("Retype Password").fill(new)
    page.get_by_role("button", name="Reset Password").click()

    log_in(page, email, old)
    expect(page).to_have_url(live_server.url + "/account/login")
    log_in(page, email, new)
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
