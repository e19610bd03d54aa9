"""Search in a real browser: type words into the form, see marked results, follow one; axe."""

import re

from playwright.sync_api import expect

from tests.browser.test_accessibility import serious_violations


def test_search_finds_marks_and_leads_to_the_post(page, live_server):
    live_server.flask("cms", "seed", "--posts", "30")
    # Seeding writes rows in bulk, past the ORM: index them the way an operator would.
    live_server.flask("cms", "reindex")
    page.goto("/search")
    form = page.locator("main form[role=search]")
    form.get_by_label("Search the site").fill("measured twice")
    form.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/search\?q=measured\+twice"))
    expect(page.locator(".search-count")).to_contain_text(re.compile(r"\d+ results? for"))
    first = page.locator(".search-results li").first
    expect(first.locator(".search-snippet mark").first).to_have_text(re.compile("measured", re.I))
    # The field keeps the words, for a second try.
    expect(form.get_by_label("Search the site")).to_have_value("measured twice")
    assert serious_violations(page) == []

    link = first.locator("h2 a")
    title = link.inner_text()
    link.click()
    page.wait_for_selector("article.post")
    expect(page.locator("h1")).to_have_text(title)


def test_search_page_without_results_has_no_serious_violations(page):
    page.goto("/search?q=nothing+matches+this+xyzzy")
    expect(page.locator(".search-count")).to_contain_text("0 results")
    assert serious_violations(page) == []
    page.goto("/search")
    assert serious_violations(page) == []
