"""axe-core in the real browser: no serious or critical violations on the main pages."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.browser.people import log_in

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


@pytest.mark.parametrize("path", ["/admin/", "/admin/posts/new/"])
def test_dashboard_pages_have_no_serious_violations(page, path):
    log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(path)
    assert serious_violations(page) == []
