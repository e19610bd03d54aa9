"""Lists in a real browser: trash with Undo and Restore, and the posts list on a phone."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, SCREENSHOTS
from tests.browser.people import PASSWORD, create_person, log_in, log_out_of_dashboard


def publish(page, title: str) -> None:
    """Write and publish a post through the dashboard's form."""
    page.goto("/admin/posts/new/")
    page.locator("#title").fill(title)
    page.locator("button[name=workflow][value=publish]").click()
    expect(page.locator(".alert-success")).to_contain_text("Post published.")


def test_trash_with_undo_and_restore_from_the_trash(page, live_server):
    editor = create_person(live_server, "editor", "Tess Trash")
    log_in(page, editor, PASSWORD)
    publish(page, "Autumn sale")
    page.goto("/admin/posts/")
    row = page.get_by_role("row").filter(has_text="Autumn sale")
    # The row's button opens our dialog, whose button says what happens.
    row.get_by_role("button", name=re.compile("Move to trash")).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Move “Autumn sale” to trash?")
    expect(dialog.get_by_role("button", name="Move to trash")).to_be_focused()
    page.screenshot(path=str(SCREENSHOTS / "lists-trash-confirm.png"))
    # Escape cancels: nothing happens.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("row").filter(has_text="Autumn sale")).to_have_count(1)
    row.get_by_role("button", name=re.compile("Move to trash")).click()
    dialog.get_by_role("button", name="Move to trash").click()
    message = page.locator(".alert-success")
    expect(message).to_contain_text("“Autumn sale” moved to trash.")
    expect(page.get_by_role("link", name="Autumn sale", exact=True)).to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / "lists-trash-undo.png"))
    message.get_by_role("button", name="Undo").click()
    expect(page.locator(".alert-success")).to_contain_text("“Autumn sale” is back.")
    # The page's scripts (the confirmation) run once it has loaded.
    page.wait_for_load_state()
    back = page.get_by_role("row").filter(has_text="Autumn sale")
    # Published again, as it was, with its View link.
    expect(back).to_contain_text("Published")
    expect(back.get_by_role("link", name=re.compile("^View"))).to_be_visible()
    # Again, this time restored from the trash's row button.
    back.get_by_role("button", name=re.compile("Move to trash")).click()
    page.get_by_role("dialog").get_by_role("button", name="Move to trash").click()
    expect(page.locator(".alert-success")).to_contain_text("moved to trash")
    page.goto("/admin/trash/")
    trashed = page.get_by_role("row").filter(has_text="Autumn sale")
    trashed.get_by_role("button", name=re.compile("^Restore")).click()
    expect(page.locator(".alert-success")).to_contain_text("“Autumn sale” restored as a draft.")
    expect(page.locator(".cms-empty")).to_contain_text("Trash is empty.")
    page.goto("/admin/posts/")
    expect(page.get_by_role("row").filter(has_text="Autumn sale")).to_contain_text("Draft")
    page.screenshot(path=str(SCREENSHOTS / "lists-posts.png"), full_page=True)


def test_the_audit_log_reads_as_sentences(page, live_server):
    editor = create_person(live_server, "editor", "Lena Log")
    log_in(page, editor, PASSWORD)
    publish(page, "Logged post")
    log_out_of_dashboard(page)
    log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/admin/audit/")
    event = page.get_by_role("row").filter(has_text="Lena Log created")
    expect(event.first.get_by_role("link", name="“Logged post”")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Lena Log logged in").first).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "lists-audit.png"), full_page=True)


def test_the_posts_list_fits_a_phone(page, live_server):
    editor = create_person(live_server, "editor", "Pia Phone")
    log_in(page, editor, PASSWORD)
    publish(page, "A rather long title that has to wrap on a small phone screen")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/admin/posts/")
    row = page.get_by_role("row").filter(has_text="A rather long title")
    for column in (".col-title", ".col-status", ".col-updated_at"):
        expect(row.locator(column)).to_be_visible()
    for column in (".col-author", ".col-tags", ".col-published_at"):
        expect(row.locator(column)).to_be_hidden()
    # No sideways scrolling of the page, nor of the table inside it.
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth,"
        " document.querySelector('.table-responsive').scrollWidth,"
        " document.querySelector('.table-responsive').clientWidth]"
    )
    assert widths[0] <= widths[1] and widths[2] <= widths[3], widths
    page.screenshot(path=str(SCREENSHOTS / "lists-phone-posts.png"), full_page=True)
