"""axe-core in the real browser: no serious or critical violations on any page, dashboard too."""

from urllib.parse import parse_qs, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.browser.people import log_in, png, save_form

# Rules switched off, each with its reason. Keep this empty unless a rule cannot apply.
DISABLED_RULES: dict[str, str] = {}
AXE = Axe()


def serious_violations(page) -> list[str]:
    """Run axe on the page (its script is injected from the Python package, not fetched)."""
    options = {
        "resultTypes": ["violations"],
        "rules": {rule: {"enabled": False} for rule in DISABLED_RULES},
    }
    results = AXE.run(page, options=options)
    problems = []
    for violation in results.response["violations"]:
        if violation["impact"] in ("serious", "critical"):
            targets = [node["target"] for node in violation["nodes"]][:5]
            problems.append(
                f"{violation['id']} ({violation['impact']}): {violation['help']} {targets}"
            )
    return problems


@pytest.mark.parametrize("path", ["/", "/account/login", "/account/register"])
def test_public_pages_have_no_serious_violations(page, path):
    page.goto(path)
    assert serious_violations(page) == []


def test_post_page_has_no_serious_violations(page, live_server):
    live_server.flask("cms", "seed", "--posts", "3")
    page.goto("/")
    page.locator(".post-summary h2 a").first.click()
    page.wait_for_selector("article.post")
    assert serious_violations(page) == []


# Every dashboard and account page an admin sees; the ones about one row are found from the
# lists (the first row's links), after the test has made sure each list has a row.
DASHBOARD_PAGES = [
    "/admin/",
    "/admin/posts/",
    "/admin/posts/new/",
    "/admin/posts/?search=nothing-matches-this",
    "/admin/pages/",
    "/admin/pages/new/",
    "/admin/tags/",
    "/admin/tags/new/",
    "/admin/navigation/",
    "/admin/navigation/new/",
    "/admin/files/",
    "/admin/files/new/",
    "/admin/trash/",
    "/admin/users/",
    "/admin/users/new/",
    "/admin/roles/",
    "/admin/roles/new/",
    "/admin/audit/",
    "/account/settings",
    "/account/tf-setup",
    "/account/mf-recovery-codes",
]
ROW_PAGES = {
    "posts": ("edit", "details"),
    "tags": ("edit", "details"),
    "navigation": ("edit", "details"),
    "files": ("edit", "details"),
    "users": ("edit", "details"),
    "roles": ("edit", "details"),
    "audit": ("details",),
}


def make_one_of_each(page, live_server) -> None:
    """Give the lists rows: seeded posts, a tag, a menu item and an uploaded image."""
    live_server.flask("cms", "seed", "--posts", "3")
    page.goto("/admin/tags/new/")
    page.get_by_label("Name").fill("Checked by axe")
    save_form(page)
    page.goto("/admin/navigation/new/")
    page.get_by_label("Label").fill("Axe link")
    page.get_by_label("Address").fill("/tags")
    save_form(page)
    page.goto("/admin/files/new/")
    page.set_input_files(
        "#upload", files=[{"name": "axe.png", "mimeType": "image/png", "buffer": png(64, 48)}]
    )
    save_form(page)


def row_pages(page) -> list[str]:
    """Return the edit and details pages of each list's first row, and a post's history."""
    found = []
    for view, kinds in ROW_PAGES.items():
        # The files list is a grid of cards leading to the edit page; its table has both links.
        page.goto(f"/admin/{view}/?layout=table" if view == "files" else f"/admin/{view}/")
        for kind in kinds:
            link = page.locator(f"a[href*='/admin/{view}/{kind}/?id=']").first
            found.append(link.get_attribute("href"))
    post_id = parse_qs(urlsplit(found[0]).query)["id"][0]
    found.append(f"/admin/posts/history/{post_id}/")
    return found


def test_every_dashboard_page_has_no_serious_violations(page, live_server):
    log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    make_one_of_each(page, live_server)
    problems = {}
    for path in DASHBOARD_PAGES + row_pages(page):
        page.goto(path)
        found = serious_violations(page)
        if found:
            problems[path] = found
    assert problems == {}, "\n".join(f"{path}: {found}" for path, found in problems.items())


@pytest.mark.parametrize("width", [1280, 390])
def test_navbar_menus_open_by_keyboard_without_violations(page, width):
    page.set_viewport_size({"width": width, "height": 800})
    log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/admin/posts/")
    toggler = page.locator(".navbar-toggler")
    if width < 1200:
        # The collapsed menu: the button says whether it is open.
        expect(toggler).to_be_visible()
        expect(toggler).to_have_attribute("aria-expanded", "false")
        toggler.focus()
        page.keyboard.press("Enter")
        expect(toggler).to_have_attribute("aria-expanded", "true")
        expect(page.get_by_role("link", name="Posts", exact=True)).to_be_visible()
    else:
        expect(toggler).to_be_hidden()
        top = page.locator(".cms-navbar").bounding_box()
        assert top["height"] < 70, "the navbar wrapped onto a second line"
    people = page.get_by_role("button", name="People")
    people.focus()
    page.keyboard.press("Enter")
    expect(people).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("link", name="Audit log")).to_be_visible()
    assert serious_violations(page) == []
    page.keyboard.press("Escape")
    account = page.locator("#cms-account-menu")
    account.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowDown")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Your settings"
    expect(page.locator(".cms-logout-form button")).to_be_visible()
    assert serious_violations(page) == []
