"""Editorial workflow in a real browser: review, scheduling, history and conflicting saves.

Each person has a browser of their own (their own cookies); readers are anonymous. Every tab
is watched like the test's page, so an unexpected error status or script error fails the test.
"""

import re
import secrets
import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

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

# How far ahead a scheduled post is set at least: enough for the checks made before its time.
SCHEDULE_LEAD = timedelta(seconds=20)


def unique_title(prefix: str) -> tuple[str, str]:
    """Return a title nobody else uses and the address (slug) typed for it."""
    token = secrets.token_hex(3)
    return f"{prefix} {token}", f"{prefix.lower().replace(' ', '-')}-{token}"


@pytest.fixture
def browser_for(chromium, live_server, watch):
    """Open a browser of another person (own cookies); its tabs are watched like `page`."""
    contexts = []

    def open_browser() -> Page:
        context = chromium.new_context(base_url=live_server.url, locale="en-US")
        contexts.append(context)
        return watched_page(context, watch)

    yield open_browser
    for context in contexts:
        context.close()


def field(page: Page, label: str):
    """Return the form field with exactly this label (a required field's label ends in *)."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}\W*$"))


def post_row(page: Page, title: str):
    """Return the row of the dashboard's post list that shows this title."""
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=title, exact=True))


def open_post(page: Page, title: str) -> None:
    """Open a post's edit form from the dashboard's post list."""
    page.goto("/admin/posts/")
    page.get_by_role("link", name=title, exact=True).click()
    expect(field(page, "Title")).to_have_value(title)


def dashboard_section(page: Page, heading: str):
    """Return the dashboard home's section under this heading."""
    return page.locator("section").filter(has=page.get_by_role("heading", name=heading))


def write_post(page: Page, title: str, slug: str, body: str) -> None:
    """Open a new post's form and type its title, address and body."""
    page.goto("/admin/posts/new/")
    field(page, "Title").fill(title)
    page.get_by_role("button", name="Edit", exact=True).click()
    field(page, "Address").fill(slug)
    fill_body(page, body)


def type_time(page: Page, label: str, when: datetime) -> None:
    """Type a time (wall clock of the writer's zone) into a dashboard date-time field."""
    box = field(page, label)
    box.fill(when.strftime("%Y-%m-%dT%H:%M"))
    expect(box).to_have_value(when.strftime("%Y-%m-%dT%H:%M"))


def next_minute(lead: timedelta) -> datetime:
    """Return the first whole minute (UTC, naive) at least `lead` from now (fields take minutes)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    when = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
    while when - now < lead:
        when += timedelta(minutes=1)
    return when


# The text of cells as seen on screen: words only for screen readers ("added:") left out.
SEEN_TEXT = """cells => cells.map(cell => {
    const copy = cell.cloneNode(true);
    copy.querySelectorAll(".sr-only").forEach(hidden => hidden.remove());
    return copy.textContent.trim();
})"""


def shown_lines(diff, kind: str) -> list[str]:
    """Return the lines of one kind ("removed", "added", "context") a line diff shows."""
    rows = diff.locator(f"tr.cms-diff-{kind}")
    expect(rows.first).to_be_visible()
    return rows.locator(".cms-diff-code").evaluate_all(SEEN_TEXT)


def shown_change(diff, name: str) -> list[str]:
    """Return the old and new values a comparison shows for a short field."""
    row = diff.locator(f"tr#cms-diff-{name}")
    expect(row).to_be_visible()
    return row.locator(".cms-diff-old, .cms-diff-new").evaluate_all(SEEN_TEXT)


def expect_not_found(reader: Page, watch, path: str) -> None:
    """Open a public address as a reader and see the site's "Page not found" page."""
    watch.expect_status(404)
    response = reader.goto(path)
    assert response is not None and response.status == 404, path
    expect(reader.get_by_role("heading", name="Page not found")).to_be_visible()


def expect_post_page(reader: Page, path: str, title: str, text: str) -> None:
    """Open a public post as a reader and see its title and some of its text."""
    response = reader.goto(path)
    assert response is not None and response.status == 200, path
    expect(reader.locator("article.post h1")).to_have_text(title)
    expect(reader.locator("article.post .post-body")).to_contain_text(text)


def test_author_submits_editor_sends_back_then_publishes(page, browser_for, live_server, watch):
    author = create_person(live_server, "author", "Rita Writer")
    editor = create_person(live_server, "editor", "Ed Reviewer")
    title, slug = unique_title("Harbour notes")
    first_text = "The ferry leaves at nine."
    comment = "Please say which day, and where the timetable comes from."
    second_text = "On weekdays the ferry leaves at nine (timetable of the harbour office)."

    # The author writes a draft and submits it for review in one go.
    writer = browser_for()
    log_in(writer, author, PASSWORD)
    write_post(writer, title, slug, first_text)
    writer.get_by_role("button", name="Submit for review").click()
    expect(writer.locator(".alert-success")).to_contain_text("Submitted for review.")
    expect(post_row(writer, title)).to_contain_text("In review")

    # Readers do not see it.
    reader = browser_for()
    expect_not_found(reader, watch, f"/posts/{slug}")
    reader.goto("/")
    expect(reader.get_by_role("link", name=title)).to_have_count(0)

    # The editor finds it on the dashboard home and sends it back with a comment.
    log_in(page, editor, PASSWORD)
    expect(page).to_have_url(re.compile(r"/admin/$"))
    waiting = dashboard_section(page, "Waiting for review")
    expect(waiting).to_contain_text("Rita Writer")
    waiting.get_by_role("link", name=title, exact=True).click()
    expect(page.locator(".cms-workflow")).to_contain_text("In review")
    page.get_by_label("What should change?").fill(comment)
    page.get_by_role("button", name="Send back to the author").click()
    expect(page.locator(".alert-success")).to_contain_text("Send back to the author")
    expect(page.locator(".cms-workflow .badge")).to_have_text("Draft")
    page.goto("/admin/")
    expect(waiting.get_by_role("link", name=title)).to_have_count(0)

    # The author reads the comment, changes the text and submits it again.
    open_post(writer, title)
    expect(writer.locator(".cms-review-note")).to_have_text(comment)
    fill_body(writer, second_text)
    writer.get_by_role("button", name="Submit for review").click()
    expect(post_row(writer, title)).to_contain_text("In review")
    post_row(writer, title).get_by_role("link", name=title, exact=True).click()
    # In review, the post is the editors' to change: the author gets its details only.
    expect(writer.locator(".cms-review-note")).to_have_count(0)
    expect(writer.locator("#body_md")).to_have_count(0)

    # The editor publishes it.
    page.reload()
    waiting.get_by_role("link", name=title, exact=True).click()
    expect(page.locator("#body_md")).to_have_value(second_text)
    expect(page.locator(".cms-workflow .badge")).to_have_text("In review")
    press_action(page, "publish")
    expect(page.locator(".alert-success")).to_contain_text("Post published.")
    page.goto("/admin/posts/")
    expect(post_row(page, title)).to_contain_text("Published")

    # Readers see it now, with the changed text.
    expect_post_page(reader, f"/posts/{slug}", title, "timetable of the harbour office")
    reader.goto("/")
    reader.get_by_role("link", name=title).click()
    expect(reader).to_have_url(re.compile(rf"/posts/{slug}$"))


def test_scheduled_post_appears_when_its_time_comes(page, browser_for, live_server, watch):
    editor = create_person(live_server, "editor", "Sam Scheduler")
    title, slug = unique_title("Night market")
    reader = browser_for()
    log_in(page, editor, PASSWORD)
    write_post(page, title, slug, "Stalls open at dusk on the quay.")
    # The site's zone (UTC here) is the writer's; the field takes whole minutes.
    when = next_minute(SCHEDULE_LEAD)
    type_time(page, "Publication time", when)
    press_action(page, "schedule")
    expect(page.locator(".alert-success")).to_contain_text("Scheduled for")
    page.goto("/admin/posts/")
    expect(post_row(page, title).locator(".badge")).to_have_text("Scheduled")

    page.goto("/admin/")
    scheduled = dashboard_section(page, "Scheduled next")
    expect(scheduled.get_by_role("link", name=title, exact=True)).to_be_visible()

    reader.goto("/")
    expect(reader.get_by_role("heading", name="Latest posts")).to_be_visible()
    expect(reader.get_by_role("link", name=title)).to_have_count(0)
    expect_not_found(reader, watch, f"/posts/{slug}")
    # Everything above must have been seen before the publication time.
    assert datetime.now(UTC).replace(tzinfo=None) < when, "checks took longer than the lead"

    # Readers reload the front page until the post shows up (bounded wait).
    left = when - datetime.now(UTC).replace(tzinfo=None)
    deadline = time.monotonic() + left.total_seconds() + 20
    link = reader.get_by_role("link", name=title)
    while True:
        reader.goto("/")
        if link.count():
            break
        assert time.monotonic() < deadline, "the scheduled post never appeared"
        reader.wait_for_timeout(500)
    assert datetime.now(UTC).replace(tzinfo=None) >= when, "shown before its time"
    expect(link).to_be_visible()
    expect_post_page(reader, f"/posts/{slug}", title, "Stalls open at dusk")

    # In the dashboard it is published now, and no longer scheduled.
    page.goto("/admin/")
    expect(scheduled.get_by_role("link", name=title)).to_have_count(0)
    page.goto("/admin/posts/")
    expect(post_row(page, title).locator(".badge")).to_have_text("Published")


def test_editor_compares_revisions_and_restores_the_first_body(page, live_server):
    editor = create_person(live_server, "editor", "Hana Historian")
    title, slug = unique_title("Lighthouse")
    original = "# Lighthouse\n\nBuilt in 1872.\nThe lamp burns oil.\n\nVisits on Sundays."
    second = "# Lighthouse\n\nBuilt in 1872.\nThe lamp is electric.\n\nVisits on Sundays."
    third = "# Lighthouse\n\nBuilt in 1872.\nThe lamp is electric.\n\nClosed for repairs."
    new_title = f"{title} (renovated)"

    log_in(page, editor, PASSWORD)
    write_post(page, title, slug, original)
    save_form(page)
    expect(page.locator(".alert-success")).to_be_visible()
    open_post(page, title)
    fill_body(page, second)
    save_form(page)
    expect(page.locator(".alert-success")).to_be_visible()
    open_post(page, title)
    fill_body(page, third)
    field(page, "Title").fill(new_title)
    save_form(page)
    expect(page.locator(".alert-success")).to_be_visible()

    # History: three revisions, newest first.
    open_post(page, new_title)
    expect(page.locator(".cms-history-link")).to_contain_text("3 revisions")
    page.locator(".cms-history-link").get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"History of “{new_title}”")
    rows = page.locator("tr.cms-history-row")
    expect(rows).to_have_count(3)
    expect(rows.first.get_by_role("rowheader")).to_have_text("Revision 3")
    expect(rows.last).to_contain_text("Created")
    assert serious_violations(page) == []

    # Compare revision 1 with the current version.
    page.get_by_label("Compare from revision 1", exact=True).check()
    page.get_by_label("Compare to the current version").check()
    page.get_by_role("button", name="Compare", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Compare versions of “{new_title}”")
    body_diff = page.locator("#cms-diff-body_md")
    assert shown_lines(body_diff, "removed") == ["The lamp burns oil.", "Visits on Sundays."]
    assert shown_lines(body_diff, "added") == ["The lamp is electric.", "Closed for repairs."]
    assert "Built in 1872." in shown_lines(body_diff, "context")
    assert shown_change(page, "title") == [title, new_title]
    assert serious_violations(page) == []

    # Restore only the body: the title stays as it is now.
    body_diff.get_by_role("button", name="Restore this field from revision 1 (Body)").click()
    expect(page.locator(".alert-success")).to_contain_text("Restored “Body” from revision 1.")
    expect(page.locator("#body_md")).to_have_value(original)
    expect(field(page, "Title")).to_have_value(new_title)

    # The restore is a new revision; nothing was lost.
    page.locator(".cms-history-link").get_by_role("link", name="History").click()
    expect(rows).to_have_count(4)
    restored = page.locator("tr#cms-revision-4")
    expect(restored).to_contain_text("Restored")
    expect(restored.locator(".cms-history-note")).to_have_text("Restored “Body” from revision 1")
    expect(page.locator("tr#cms-revision-1")).to_contain_text("Created")


def test_stale_save_shows_the_conflict_and_keeps_the_typed_title(
    page, browser_for, live_server, watch
):
    first = create_person(live_server, "editor", "Anna Able")
    second = create_person(live_server, "editor", "Ben Baker")
    title, slug = unique_title("Library hours")
    bens_title = f"{title}, summer"

    # Anna publishes a post; both editors open it.
    log_in(page, first, PASSWORD)
    write_post(page, title, slug, "Open from 9 to 5.")
    press_action(page, "publish")
    expect(page.locator(".alert-success")).to_be_visible()
    open_post(page, title)
    ben = browser_for()
    log_in(ben, second, PASSWORD)
    open_post(ben, title)

    # Anna saves first.
    fill_body(page, "Open from 8 to 6.")
    save_form(page)
    expect(page.locator(".alert-success")).to_be_visible()

    # Ben, with the form he opened before, changes the title and saves: refused.
    field(ben, "Title").fill(bens_title)
    watch.expect_status(409)
    with ben.expect_response(
        lambda r: r.request.method == "POST" and "/admin/posts/edit/" in r.url
    ) as answer:
        ben.locator("#cms-actions button[value=update]").click()
    assert answer.value.status == 409
    conflict = ben.locator(".cms-conflict")
    expect(conflict).to_be_visible()
    expect(conflict.get_by_role("heading", level=2)).to_contain_text(
        "Anna Able saved a newer version"
    )
    assert shown_change(conflict, "title") == [title, bens_title]
    body_diff = conflict.locator("#cms-diff-body_md")
    assert shown_lines(body_diff, "removed") == ["Open from 8 to 6."]
    assert shown_lines(body_diff, "added") == ["Open from 9 to 5."]
    expect(ben.locator(".alert-danger").filter(has_text="changed this item")).to_contain_text(
        "Anna Able changed this item"
    )
    expect(field(ben, "Title")).to_have_value(bens_title)

    # Readers still get Anna's version.
    reader = browser_for()
    expect_post_page(reader, f"/posts/{slug}", title, "Open from 8 to 6.")

    # Having seen the difference, Ben saves again on purpose: it goes through.
    save_form(ben)
    expect(ben.locator(".alert-success")).to_contain_text("Post updated.")
    ben.goto("/admin/posts/")
    expect(post_row(ben, bens_title)).to_contain_text("Published")
    expect_post_page(reader, f"/posts/{slug}", bens_title, "Open from 9 to 5.")
    # Anna's text is not lost: it is in the history.
    open_post(ben, bens_title)
    ben.locator(".cms-history-link").get_by_role("link", name="History").click()
    saves = ben.locator("tr.cms-history-row")
    expect(saves.nth(0).get_by_role("cell", name="Ben Baker", exact=True)).to_be_visible()
    expect(saves.nth(1).get_by_role("cell", name="Anna Able", exact=True)).to_be_visible()
