"""The writer's desk in a real browser: layout, publishing, scheduling, refusals, accessibility.

The post form is admin/posts/_form.html: title, address and body on the left, a sidebar of
cards with the action buttons on the right (one column on a phone, the actions in a bar).
"""

import re
import secrets
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text

from tests.browser.conftest import watched_page
from tests.browser.people import (
    PASSWORD,
    create_person,
    fill_body,
    log_in,
    press_action,
    save_form,
)
from tests.browser.test_accessibility import serious_violations
from tests.browser.test_media_rules import upload_image
from tests.browser.test_workflow import (
    expect_not_found,
    expect_post_page,
    open_post,
)

# A zone far from UTC: a time read as UTC by mistake would be 14 hours off.
FAR_ZONE = "Pacific/Kiritimati"
LONG_BODY = "\n\n".join(f"Paragraph {n}: the tide comes in over the flats." for n in range(150))


def new_title(prefix: str) -> tuple[str, str]:
    """Return a title nobody else uses and the address the server makes of it."""
    token = secrets.token_hex(3)
    return f"{prefix} {token}", f"{prefix.lower().replace(' ', '-')}-{token}"


def box(page: Page, selector: str) -> dict:
    """Return the box of the first element matching `selector`, the page scrolled to the top."""
    page.evaluate("window.scrollTo(0, 0)")
    found = page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not shown"
    return found


def set_time_zone(live_server, email: str, zone: str) -> None:
    """Give a person their own time zone, as the account setting stores it."""
    engine = create_engine(live_server.env["DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(
            text('UPDATE "user" SET timezone = :zone WHERE email = :email'),
            {"zone": zone, "email": email},
        )
    engine.dispose()


def test_two_columns_at_1366_with_the_actions_in_view(page, live_server):
    editor = create_person(live_server, "editor", "Wide Screen")
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, editor, PASSWORD)
    page.goto("/admin/posts/new/")
    page.locator("#title").fill("A long read")
    fill_body(page, LONG_BODY)

    main, side = box(page, ".cms-desk-main"), box(page, ".cms-desk-side")
    # The sidebar is right of the body, and both start at the same height.
    assert side["x"] >= main["x"] + main["width"], (main, side)
    assert abs(side["y"] - main["y"]) < 2, (main, side)
    assert box(page, "#cms-editor")["x"] + box(page, "#cms-editor")["width"] <= side["x"]
    publish = page.locator("#cms-actions button[value=publish]")
    expect(publish).to_be_in_viewport()

    # At the bottom of a long body the action buttons are still on screen.
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    assert page.evaluate("window.scrollY") > 1000, "the body is not long enough to scroll"
    expect(page.locator("#cms-media")).to_be_in_viewport()
    expect(publish).to_be_in_viewport()
    expect(page.locator("#cms-actions button[value=save]")).to_be_in_viewport()
    # The search-engine fields wait in a closed panel.
    expect(page.locator("details.cms-seo")).not_to_have_attribute("open", "")
    expect(page.locator("#meta_title")).to_be_hidden()


def test_one_column_at_390_and_nothing_wider_than_the_screen(page, live_server):
    editor = create_person(live_server, "editor", "Small Screen")
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, editor, PASSWORD)
    title, slug = new_title("Pocket draft")
    page.goto("/admin/posts/new/")
    page.locator("#title").fill(title)
    fill_body(page, LONG_BODY)

    main, side = box(page, ".cms-desk-main"), box(page, ".cms-desk-side")
    # One column: the sidebar's cards come under the body, as wide as it.
    assert side["y"] >= main["y"] + main["height"], (main, side)
    assert abs(side["x"] - main["x"]) < 2 and abs(side["width"] - main["width"]) < 2
    # Nothing is wider than the screen (no sideways scrolling).
    too_wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(el => el.getClientRects().length)
            .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
            .map(el => el.tagName + '#' + el.id + '.' + el.className)"""
    )
    assert too_wide == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # The actions are in a bar at the bottom of the screen, wherever the page is scrolled.
    save = page.locator("#cms-actions button[value=save]")
    expect(save).to_be_in_viewport()
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight / 2)")
    expect(save).to_be_in_viewport()
    save.click()
    expect(page.locator(".alert-success")).to_contain_text("Draft saved.")
    expect(page.locator("#cms-slug-preview")).to_contain_text(f"/posts/{slug}")


def test_editor_publishes_from_the_sidebar_and_follows_view_post(page, live_server):
    editor = create_person(live_server, "editor", "Pia Publisher")
    title, slug = new_title("Tide tables")
    log_in(page, editor, PASSWORD)
    page.goto("/admin/posts/new/")
    preview = page.locator("#cms-slug-preview")
    # The address follows the title while it is typed; its field opens on "Edit".
    expect(page.locator("#slug")).to_be_hidden()
    page.locator("#title").press_sequentially(title, delay=20)
    expect(preview).to_contain_text(f"/posts/{slug}")
    page.get_by_role("button", name="Edit", exact=True).click()
    expect(page.locator("#slug")).to_be_focused()
    page.locator("#slug").fill(f"{slug}-today")
    expect(preview).to_contain_text(f"/posts/{slug}-today")
    fill_body(page, "High water at 06:12 and 18:40.")

    press_action(page, "publish")
    flash = page.locator(".alert-success")
    expect(flash).to_contain_text("Post published.")
    expect(page.locator(".cms-workflow .badge")).to_have_text("Published")
    flash.get_by_role("link", name="View post").click()
    expect(page).to_have_url(re.compile(rf"/posts/{slug}-today$"))
    expect(page.locator("article.post h1")).to_have_text(title)
    expect(page.locator("article.post .post-body")).to_contain_text("High water at 06:12")


def test_a_post_scheduled_in_the_writers_time_zone_goes_live_then(
    page, chromium, live_server, watch
):
    editor = create_person(live_server, "editor", "Kiri Timati")
    set_time_zone(live_server, editor, FAR_ZONE)
    title, slug = new_title("Dateline")
    # An anonymous reader in a browser of their own.
    readers = chromium.new_context(base_url=live_server.url, locale="en-US")
    reader = watched_page(readers, watch)
    log_in(page, editor, PASSWORD)
    page.goto("/admin/posts/new/")
    page.locator("#title").fill(title)
    fill_body(page, "The first sunrise of the day.")
    expect(page.locator("#published_at-help")).to_contain_text(FAR_ZONE)

    # The field takes minutes: the next whole minute, or the one after when it is too close.
    now = datetime.now(UTC)
    when = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
    if (when - now).total_seconds() < 25:
        when += timedelta(minutes=1)
    local = when.astimezone(ZoneInfo(FAR_ZONE))
    page.locator("#published_at").fill(local.strftime("%Y-%m-%dT%H:%M"))
    # A time in the future makes "Schedule" the primary action.
    schedule = page.locator("#cms-actions button[value=schedule]")
    expect(schedule).to_be_visible()
    expect(schedule).to_have_class(re.compile(r"\bbtn-primary\b"))
    press_action(page, "schedule")
    expect(page.locator(".alert-success")).to_contain_text("Scheduled for")
    expect(page.locator(".alert-success")).to_contain_text(local.strftime(":%M"))
    expect(page.locator(".cms-workflow .badge")).to_have_text("Scheduled")
    # The form shows the time back as typed, in the writer's zone.
    expect(page.locator("#published_at")).to_have_value(local.strftime("%Y-%m-%dT%H:%M"))

    expect_not_found(reader, watch, f"/posts/{slug}")
    assert datetime.now(UTC) < when, "the checks took longer than the lead"
    # Readers reload until it is out; nothing but the clock makes it so (no job runs).
    deadline = time.monotonic() + (when - datetime.now(UTC)).total_seconds() + 20
    while True:
        response = reader.goto(f"/posts/{slug}")
        if response is not None and response.status == 200:
            break
        assert time.monotonic() < deadline, "the scheduled post never went live"
        reader.wait_for_timeout(1000)
    assert datetime.now(UTC) >= when, "shown before its time"
    expect_post_page(reader, f"/posts/{slug}", title, "The first sunrise")
    readers.close()


def test_alt_text_refusal_keeps_the_paragraph_until_it_is_published(page, live_server, watch):
    editor = create_person(live_server, "editor", "Alba Alt")
    title, slug = new_title("Rock pools")
    image = f"rock-pool-{secrets.token_hex(3)}.png"
    paragraph = "At low tide the pools fill with crabs and anemones."
    log_in(page, editor, PASSWORD)
    upload_image(page, image)

    # A paragraph and an image from the library, which has no alt text yet.
    page.goto("/admin/posts/new/")
    page.locator("#title").fill(title)
    fill_body(page, paragraph + "\n\n")
    page.locator("#cms-editor .cm-content").press("Control+End")
    library = page.locator("#cms-media-library")
    library.locator("summary").click()
    page.locator("#cms-media-search").fill(image)
    library.locator("button.cms-media-pick", has_text=image).click()
    expect(page.locator("#body_md")).to_have_value(re.compile(r"!\[[^\]]*\]\(/uploads/\w+\.png\)"))
    press_action(page, "publish")
    refusal = page.locator(".alert-danger").filter(has_text="needs alt text")
    expect(refusal).to_contain_text(image)

    # To Files: the link in the message when it has one, else the menu.
    to_files = refusal.locator("a[href*='/admin/files']")
    if to_files.count():
        to_files.first.click()
    else:
        page.get_by_role("link", name="Files", exact=True).first.click()
    # The file's card in the grid opens its edit page.
    page.get_by_role("link", name=image, exact=True).first.click()
    page.get_by_label("Alt text").fill("Crabs in a rock pool at low tide")
    save_form(page)
    expect(page.locator(".alert-success")).to_be_visible()

    # Back at the post form the unsaved text is offered, and comes back.
    page.goto("/admin/posts/new/")
    banner = page.locator("#cms-autosave-banner")
    expect(banner).to_be_visible()
    banner.locator("#cms-autosave-restore").click()
    expect(page.locator("#title")).to_have_value(title)
    expect(page.locator("#body_md")).to_have_value(re.compile(re.escape(paragraph)))
    press_action(page, "publish")
    expect(page.locator(".alert-success")).to_contain_text("Post published.")
    expect_post_page(page, f"/posts/{slug}", title, paragraph)
    # Published: the slot is gone, the new-post form offers nothing to restore.
    page.goto("/admin/posts/new/")
    expect(page.locator("#cms-autosave-banner")).to_have_count(0)


def test_the_edit_screen_has_no_serious_accessibility_violations(page, live_server, watch):
    editor = create_person(live_server, "editor", "Axel Axe")
    title, _slug = new_title("Accessible")
    log_in(page, editor, PASSWORD)
    page.goto("/admin/posts/new/")
    assert serious_violations(page) == []

    page.locator("#title").fill(title)
    fill_body(page, "Readable by everyone.")
    save_form(page)
    expect(page.locator(".alert-success")).to_contain_text("Draft saved.")
    assert serious_violations(page) == []

    # A refused save: the summary on top links to the field, the error sits under it.
    open_post(page, title)
    page.locator("details.cms-seo summary").click()
    page.locator("#canonical_url").fill("not an address")
    save_form(page)
    summary = page.locator("#cms-error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link", name="Canonical address")).to_be_visible()
    expect(page.locator("#canonical_url-error")).to_contain_text("https://")
    expect(page.locator("#canonical_url")).to_have_attribute("aria-invalid", "true")
    assert serious_violations(page) == []
