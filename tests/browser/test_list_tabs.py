"""The posts list in a real browser: status tabs with counts, paging older and newer."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.browser.people import log_in
from tests.browser.test_accessibility import serious_violations


def row_titles(page) -> list[str]:
    """Return the ids of the list's rows (titles repeat: the demo and the seed share them),
    in order, once the page has loaded."""
    titles = page.locator("td.col-title a.cms-row-title")
    expect(titles.first).to_be_visible()
    hrefs = [titles.nth(n).get_attribute("href") for n in range(titles.count())]
    return [re.search(r"[?&]id=(\d+)", href).group(1) for href in hrefs]


def tab_count(page, key: str) -> int:
    """Return the number a status tab shows."""
    return int(page.locator(f".cms-status-tab-{key} .cms-tab-count").inner_text().replace(",", ""))


def test_status_tabs_and_paging_older_and_newer(page, live_server):
    live_server.flask("cms", "seed", "--posts", "45", "--seed", "7")
    log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/admin/posts/")
    tabs = page.get_by_role("navigation", name="Filter by status")
    expect(tabs.get_by_role("link", name=re.compile(r"^All"))).to_have_attribute(
        "aria-current", "page"
    )
    total = tab_count(page, "all")
    parts = sum(tab_count(page, key) for key in ("draft", "review", "scheduled", "published"))
    # "All" holds the four tabs and the posts unpublished by time.
    assert total >= parts and total >= 45
    assert serious_violations(page) == []

    # A tab filters the list and is marked as the current one.
    drafts = tab_count(page, "draft")
    tabs.get_by_role("link", name=re.compile(r"^Drafts")).click()
    expect(page).to_have_url(re.compile(r"flt0_status_equals=draft"))
    expect(tabs.get_by_role("link", name=re.compile(r"^Drafts"))).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.locator("td.col-title")).to_have_count(min(drafts, 20))
    badges = page.locator("td.col-status .badge").all_inner_texts()
    assert badges and set(badges) == {"Draft"}

    # Older, then Newer again, by keyboard: the same first page comes back.
    tabs.get_by_role("link", name=re.compile(r"^All")).click()
    expect(page).to_have_url(re.compile(r"/admin/posts/$"))
    expect(page.locator("td.col-title")).to_have_count(20)
    first = row_titles(page)
    pager = page.get_by_role("navigation", name="Pages of this list")
    expect(pager.get_by_text("Newer")).to_be_visible()
    pager.get_by_role("link", name="Older").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"after="))
    second = row_titles(page)
    assert second and not set(second) & set(first)
    pager.get_by_role("link", name="Newer").click()
    expect(page).to_have_url(re.compile(r"before="))
    assert row_titles(page) == first

    # Jump to a date: the list starts at that day's last change.
    pager.get_by_label("Jump to a date").fill("2000-01-01")
    pager.get_by_role("button", name="Go").click()
    expect(page).to_have_url(re.compile(r"day=2000-01-01"))
    expect(page.locator("td.col-title")).to_have_count(0)
    # axe reads colours: only once the new page has its styles (not mid-navigation).
    page.wait_for_load_state("load")
    assert serious_violations(page) == []
    # Nothing that old; the way back to newer posts stays.
    pager.get_by_role("link", name="Newer").click()
    expect(page.locator("td.col-title").first).to_be_visible()
