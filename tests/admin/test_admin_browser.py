"""The dashboard in headless Chromium: the Markdown preview script, select2, uploads, offline.

A gunicorn server of its own (the browser tests' live server belongs to tests/browser); every
page is watched for script errors, failed responses and requests that leave 127.0.0.1.
"""

import io
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from tests.servers import ServerProcess, fresh_database_url

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "admin password for the dashboard browser"


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url):
    """The CMS with an admin account."""
    folder = tmp_path_factory.mktemp("admin-live")
    live = ServerProcess(folder, fresh_database_url(database_url, folder, "admin_browser"))
    live.flask("db", "upgrade")
    live.flask("cms", "create-admin", ADMIN_EMAIL, "--password", ADMIN_PASSWORD)
    live.start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium driven by Playwright; no browser is ever downloaded."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(server, chromium):
    """A logged-in tab that fails the test on script errors, 4xx/5xx and remote requests."""
    problems: list[str] = []

    def route(request_route):
        url = request_route.request.url
        if urlsplit(url).hostname == "127.0.0.1" or url.startswith(("data:", "blob:")):
            request_route.continue_()
        else:
            problems.append(f"request left the machine: {url}")
            request_route.abort()

    context = chromium.new_context(base_url=server.url, locale="en-US")
    tab = context.new_page()
    tab.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    tab.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
    tab.route("**/*", route)
    tab.goto("/account/login")
    tab.get_by_label("Email Address").fill(ADMIN_EMAIL)
    tab.get_by_label("Password").fill(ADMIN_PASSWORD)
    tab.get_by_role("button", name="Login").click()
    tab.wait_for_url("**/admin/")
    yield tab
    context.close()
    assert problems == []


def test_preview_shows_sanitized_html_and_the_post_saves(page):
    page.goto("/admin/posts/new/")
    expect(page.locator(".select2-container").first).to_be_visible()  # tags and author
    page.fill("#title", "Written in a browser")
    page.fill("#body_md", "## Hello\n\n<script>alert(1)</script>[x](javascript:alert(1)) *hi*")
    page.get_by_role("button", name="Preview", exact=True).click()

    output = page.locator("#cms-preview-output")
    expect(output.locator("h2")).to_have_text("Hello")
    assert "<script" not in output.inner_html()
    assert "javascript:" not in output.inner_html()
    assert output.locator("em").inner_text() == "hi"

    page.locator("input[type=submit][value=Save]").click()
    page.wait_for_url("**/admin/posts/")
    expect(page.get_by_role("link", name="Written in a browser")).to_be_visible()


def test_upload_shows_a_thumbnail_and_the_markdown_snippet(page):
    image = io.BytesIO()
    Image.new("RGB", (320, 200), (20, 120, 200)).save(image, format="PNG")
    page.goto("/admin/files/new/")
    page.set_input_files(
        "#upload", files=[{"name": "sky.png", "mimeType": "image/png", "buffer": image.getvalue()}]
    )
    page.locator("input[type=submit][value=Save]").click()
    page.wait_for_url("**/admin/files/")

    thumbnail = page.locator("img.cms-thumb").first
    expect(thumbnail).to_be_visible()
    assert page.evaluate("img => img.naturalWidth", thumbnail.element_handle()) > 0
    page.get_by_role("link", name="sky.png").first.click()
    snippet = page.locator("input.cms-snippet").input_value()
    assert snippet.startswith("![sky.png](/uploads/") and snippet.endswith(".png)")


def test_language_switch_and_logout_from_the_navbar(page):
    page.goto("/admin/posts/")
    page.select_option("#cms-language", "de")
    page.locator(".cms-language-form button").click()
    page.wait_for_url("**/admin/posts/")
    assert page.evaluate("document.documentElement.lang") == "de"
    # The choice is kept on the account: switch back for the other tests.
    page.select_option("#cms-language", "en")
    page.locator(".cms-language-form button").click()
    page.wait_for_url("**/admin/posts/")
    assert page.evaluate("document.documentElement.lang") == "en"
    page.locator(".cms-logout-form button").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/")
