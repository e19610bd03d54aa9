"""Media library rules in a real browser: alt text before publishing, and files still in use.

Each scenario is one person in the dashboard, then (for the first) an anonymous reader.
"""

import secrets

from playwright.sync_api import Page, expect

from tests.browser.people import (
    PASSWORD,
    create_person,
    fill_body,
    log_in,
    log_out_of_dashboard,
    png,
    press_action,
    save_form,
)


def upload_image(page: Page, name: str) -> str:
    """Upload an image through the Files form; return its stored name (from its details)."""
    page.goto("/admin/files/new/")
    page.set_input_files(
        "#upload", files=[{"name": name, "mimeType": "image/png", "buffer": png(320, 200)}]
    )
    save_form(page)
    # The table's name links open the details page (the grid's cards open the edit page).
    page.goto("/admin/files/?layout=table")
    page.get_by_role("link", name=name, exact=True).first.click()
    # The link opens a signed address (no published post shows the file yet); its text is
    # the public address.
    address = page.locator('a[href^="/uploads/"]').first.inner_text()
    return address.rsplit("/", 1)[-1]


def open_file_edit(page: Page, name: str) -> None:
    """Open the edit page of a file from the Files list (its card in the grid)."""
    page.goto("/admin/files/")
    page.get_by_role("link", name=name, exact=True).first.click()
    page.wait_for_load_state()


def test_alt_text_is_required_before_publishing(page, chromium, live_server, watch):
    editor = create_person(live_server, "editor", "Alma Editor")
    token = secrets.token_hex(3)
    title, image = f"Lighthouse {token}", f"lighthouse-{token}.png"
    log_in(page, editor, PASSWORD)
    stored = upload_image(page, image)

    # An image without alt text in the body: the post is saved as a draft first.
    page.goto("/admin/posts/new/")
    page.locator("#title").fill(title)
    fill_body(page, f"The lamp turns all night.\n\n![](/uploads/{stored})")
    save_form(page)
    expect(page.locator(".alert-success")).to_contain_text("Draft saved.")

    # Publishing is refused, naming the image.
    press_action(page, "publish")
    alert = page.locator(".alert-danger")
    expect(alert).to_contain_text("every image needs alt text")
    expect(alert).to_contain_text(f"“{image}”")
    page.goto("/admin/posts/")
    expect(page.get_by_role("row").filter(has_text=title)).to_contain_text("Draft")

    # The editor describes the image in the library.
    open_file_edit(page, image)
    page.get_by_label("Alt text").fill("A white lighthouse on black rocks at dusk")
    save_form(page)
    expect(page.locator(".alert-success")).to_be_visible()

    # Now it publishes.
    page.goto("/admin/posts/")
    page.get_by_role("link", name=title, exact=True).click()
    press_action(page, "publish")
    page.goto("/admin/posts/")
    expect(page.get_by_role("row").filter(has_text=title)).to_contain_text("Published")
    log_out_of_dashboard(page)

    # A reader sees the image with the library's alt text.
    reader = chromium.new_context(base_url=live_server.url)
    tab = reader.new_page()
    tab.on("response", watch.on_response)
    tab.on("pageerror", watch.on_page_error)
    tab.goto("/")
    tab.get_by_role("link", name=title, exact=True).click()
    picture = tab.locator("article img")
    expect(picture).to_have_attribute("alt", "A white lighthouse on black rocks at dusk")
    expect(tab.get_by_role("img", name="A white lighthouse on black rocks at dusk")).to_be_visible()
    reader.close()


def test_a_file_in_use_is_not_deleted(page, live_server):
    editor = create_person(live_server, "editor", "Ines Editor")
    token = secrets.token_hex(3)
    title, image = f"Quay walls {token}", f"quay-{token}.png"
    log_in(page, editor, PASSWORD)
    stored = upload_image(page, image)
    page.goto("/admin/posts/new/")
    page.locator("#title").fill(title)
    fill_body(page, f"Old stones.\n\n![The quay](/uploads/{stored})")
    save_form(page)

    # The file's page lists the post, linked to its dashboard page.
    page.goto("/admin/files/?layout=table")
    page.get_by_role("link", name=image, exact=True).first.click()
    expect(page.get_by_role("link", name=title, exact=True)).to_be_visible()

    # Deleting it from the list is refused with the post named; the file stays.
    page.goto("/admin/files/?layout=table")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=image, exact=True))
    row.locator("button[data-cms-confirm]").click()
    # The confirmation's button says what it does.
    page.get_by_role("dialog").get_by_role("button", name="Delete file").click()
    page.wait_for_load_state()
    alert = page.locator(".alert-danger")
    expect(alert).to_contain_text("Nothing was deleted")
    expect(alert).to_contain_text(f"“{image}” is used by “{title}”")
    expect(page.get_by_role("link", name=image, exact=True)).to_be_visible()

    # From the list of users, the post is one click away.
    page.get_by_role("link", name=image, exact=True).first.click()
    page.get_by_role("link", name=title, exact=True).click()
    expect(page.locator("#title")).to_have_value(title)
