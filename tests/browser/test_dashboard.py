"""Dashboard scenarios in a real browser, each checked the way a person would see it."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.browser.people import (
    PASSWORD,
    choose_in_select2,
    create_person,
    fill_body,
    log_in,
    log_out_of_dashboard,
    png,
    press_action,
    save_form,
    unique_email,
)


def test_admin_creates_an_editor_and_an_author(page, new_tab, live_server):
    log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(page).to_have_url(re.compile(r"/admin/$"))
    people = {"editor": unique_email("new-editor"), "author": unique_email("new-author")}
    for role, email in people.items():
        page.goto("/admin/users/new/")
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Display name").fill(f"New {role.title()}")
        choose_in_select2(page, "roles", role)
        page.get_by_label("New password").fill(PASSWORD)
        save_form(page)
        expect(page.locator(".alert-success")).to_be_visible()
        expect(page.get_by_role("cell", name=email, exact=True)).to_be_visible()
    log_out_of_dashboard(page)

    # Each new person can log in and lands on the dashboard.
    for email in people.values():
        log_in(page, email, PASSWORD)
        expect(page).to_have_url(re.compile(r"/admin/$"))
        log_out_of_dashboard(page)


def test_author_writes_a_tagged_draft_with_preview_and_cannot_publish(page, live_server):
    live_server.flask("cms", "seed", "--posts", "1")  # makes the tags exist
    author = create_person(live_server, "author", "Alex Author")
    log_in(page, author, PASSWORD)
    page.goto("/admin/posts/new/")
    # An author's form has no status, publication time or author: drafts only.
    expect(page.locator("#status")).to_have_count(0)
    expect(page.locator("#author")).to_have_count(0)
    page.locator("#title").fill("My first draft")
    fill_body(page, "## Plan\n\nWrite *more*.<script>alert(1)</script>")
    choose_in_select2(page, "tags", "Python")
    # The live preview beside the text: the server's sanitized rendering.
    preview = page.locator("#cms-live-preview")
    expect(preview.locator("h2")).to_contain_text("Plan")
    expect(preview.locator("em")).to_have_text("more")
    assert "<script" not in preview.inner_html()
    save_form(page)
    expect(page.locator(".alert-success")).to_contain_text("Draft saved.")
    page.goto("/admin/posts/")

    row = page.get_by_role("row").filter(has_text="My first draft")
    expect(row).to_contain_text("Draft")
    expect(row).to_contain_text("Python")
    # Bulk actions offer no Publish to an author.
    expect(
        page.locator("select[name=action] option, .dropdown-item", has_text="Publish")
    ).to_have_count(0)
    page.goto("/")
    expect(page.get_by_text("My first draft")).to_have_count(0)


def image_loaded(page, image) -> bool:
    """Wait until an <img> has finished loading; return whether it has pixels (not broken)."""
    page.wait_for_function("img => img.complete", arg=image.element_handle())
    return image.evaluate("img => img.naturalWidth") > 0


def test_editor_uploads_an_image_inserts_it_and_publishes(page, chromium, live_server, watch):
    author = create_person(live_server, "author", "Ada Author")
    editor = create_person(live_server, "editor", "Eve Editor")
    log_in(page, author, PASSWORD)
    page.goto("/admin/posts/new/")
    page.locator("#title").fill("Harbour at dawn")
    fill_body(page, "The boats leave early.")
    save_form(page)
    log_out_of_dashboard(page)

    log_in(page, editor, PASSWORD)
    page.goto("/admin/files/new/")
    page.set_input_files(
        "#upload", files=[{"name": "harbour.png", "mimeType": "image/png", "buffer": png(640, 400)}]
    )
    save_form(page)
    # Right after the upload the new image's alt text is asked for; skipped here.
    page.get_by_role("link", name="Skip for now").click()
    card = page.locator(".cms-file-card img").first
    expect(card).to_be_visible()
    assert image_loaded(page, card)
    page.get_by_role("link", name="Table").click()
    thumbnail = page.locator("img.cms-thumb").first
    expect(thumbnail).to_be_visible()
    assert image_loaded(page, thumbnail)
    page.get_by_role("link", name="harbour.png").first.click()
    snippet = page.locator("input.cms-snippet").input_value()
    assert re.fullmatch(r"!\[harbour\.png\]\(/uploads/[0-9a-f]{64}\.png\)", snippet)
    # Published images need alt text (tests/browser/test_media_rules.py).
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Alt text").fill("Fishing boats in the harbour at dawn")
    save_form(page)

    page.goto("/admin/posts/")
    page.get_by_role("link", name="Harbour at dawn", exact=True).click()
    body = page.locator("#body_md")
    fill_body(page, body.input_value() + "\n\n" + snippet)
    press_action(page, "publish")
    page.goto("/admin/posts/")
    expect(page.get_by_role("row").filter(has_text="Harbour at dawn")).to_contain_text("Published")
    log_out_of_dashboard(page)

    # An anonymous reader, in a browser of their own, finds the post and sees the image.
    reader = chromium.new_context(base_url=live_server.url)
    tab = reader.new_page()
    tab.on("response", watch.on_response)
    tab.on("pageerror", watch.on_page_error)
    tab.goto("/")
    tab.get_by_role("link", name="Harbour at dawn", exact=True).click()
    image = tab.locator("article img")
    expect(image).to_be_visible()
    # Images load lazily: wait for this one before reading its size.
    image.scroll_into_view_if_needed()
    tab.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert image.evaluate("img => img.naturalWidth") == 640
    reader.close()


def test_editor_gets_the_refusal_page_for_users(page, live_server, watch):
    editor = create_person(live_server, "editor", "Ed Itor")
    log_in(page, editor, PASSWORD)
    watch.expect_status(403)
    page.goto("/admin/users/")
    expect(page.get_by_role("heading", name="Access denied")).to_be_visible()
    expect(page.locator("main")).to_contain_text("You do not have permission")
    # The refusal page is the site's own page, with its stylesheet loaded.
    expect(page.locator("header.site-header")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("system-ui")


def test_dashboard_in_german_through_the_language_choice(page, live_server):
    editor = create_person(live_server, "editor", "Greta Redakteurin")
    log_in(page, editor, PASSWORD)
    page.goto("/admin/posts/")
    page.locator("#cms-account-menu").click()
    page.get_by_role("button", name="Deutsch").click()
    page.wait_for_url("**/admin/posts/")
    assert page.evaluate("document.documentElement.lang") == "de"
    expect(page.get_by_role("link", name="Beiträge").first).to_be_visible()
    expect(page.get_by_role("link", name="Neuer Beitrag")).to_be_visible()
    page.locator("#cms-account-menu").click()
    expect(page.locator(".cms-logout-form button")).to_have_text("Abmelden")
