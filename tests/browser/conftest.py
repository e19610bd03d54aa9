"""A real server process and headless Chromium for end-to-end tests.

The server is gunicorn on a free port with its own database, uploads folder and a mail folder
(the file mail backend is the app's outbox here). Every page a test opens is watched: console
errors, script errors, responses >= 400 the test did not expect, and any request that leaves
127.0.0.1 fail the test. A screenshot of the last step goes to build/screenshots/.
"""

import email
import email.policy
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.servers import ROOT, ServerProcess, fresh_database_url

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Keep Chromium quiet offline: no sandbox (root in CI), no GPU, no calls home.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "build" / "screenshots"
# Throttling stays on in the browser tests, with room for a whole test session.
LOOSE_LIMITS = {
    f"RATELIMIT_{name}{suffix}": "500 per minute"
    for name in ("LOGIN", "REGISTER", "RESET", "CONFIRM", "UPLOAD", "SECOND_FACTOR")
    for suffix in ("", "_ACCOUNT")
}
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin password for browser tests"


class LiveServer(ServerProcess):
    """The CMS under test, with helpers to read the mail it sent."""

    def mails(self) -> list[email.message.EmailMessage]:
        """Return every mail the server wrote to its mail folder, oldest first."""
        folder = Path(self.env["MAIL_FILE_PATH"])
        messages = []
        for path in sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime_ns):
            for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
                if chunk.strip():
                    messages.append(email.message_from_bytes(chunk, policy=email.policy.default))
        return messages

    def mailed_link(self, to: str, containing: str) -> str:
        """Return the newest link containing `containing` mailed to `to`."""
        for message in reversed(self.mails()):
            if to not in str(message["To"]):
                continue
            body = message.get_body(preferencelist=("plain", "html")).get_content()
            for link in re.findall(r"https?://[^\s\"'<>]+", body):
                if containing in link:
                    return link
        raise AssertionError(f"no mail to {to} with a link containing {containing!r}")


def start_live_server(folder, database_url, name, admin_email, admin_password, **env):
    """Start the CMS on a fresh database, with mail to files and one admin account."""
    server = LiveServer(
        folder,
        fresh_database_url(database_url, folder, name),
        workers=1,
        MAIL_BACKEND="file",
        MAIL_FILE_PATH=str(folder / "mail"),
        # Every scenario comes from 127.0.0.1 and several log in as the same admin.
        **LOOSE_LIMITS,
        **env,
    )
    server.flask("db", "upgrade")
    server.flask("cms", "create-admin", admin_email, "--password", admin_password)
    return server.start()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, database_url):
    """Start the CMS once for all browser tests, with an admin account."""
    server = start_live_server(
        tmp_path_factory.mktemp("live"), database_url, "browser", ADMIN_EMAIL, ADMIN_PASSWORD,
        # The admin logs in with a password only; tests/browser/test_two_factor.py covers 2FA.
        TWO_FACTOR_REQUIRED_ROLES="none",
    )  # fmt: skip
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright; no browser is ever downloaded."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


class Watch:
    """What went wrong on a page: errors, unexpected statuses, requests off the machine."""

    def __init__(self, base_url: str):
        self.host = urlsplit(base_url).hostname
        self.problems: list[str] = []
        self.expected_statuses: set[int] = set()

    def expect_status(self, *codes: int) -> None:
        """Allow responses with these statuses for the rest of the test."""
        self.expected_statuses.update(codes)

    def on_console(self, message) -> None:
        if message.type != "error":
            return
        # Chromium also logs every failed response; the expected ones are not problems.
        failed = re.search(r"status of (\d{3})", message.text)
        if failed and int(failed.group(1)) in self.expected_statuses:
            return
        self.problems.append(f"console error: {message.text}")

    def on_page_error(self, error) -> None:
        self.problems.append(f"script error: {error}")

    def on_response(self, response) -> None:
        if response.status >= 400 and response.status not in self.expected_statuses:
            self.problems.append(
                f"HTTP {response.status}: {response.request.method} {response.url}"
            )

    def on_route(self, route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == self.host or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            self.problems.append(f"request left the machine: {url}")
            route.abort()


@pytest.fixture
def context(chromium, live_server):
    """A fresh browser profile (no cookies) pointed at the live server."""
    ctx = chromium.new_context(base_url=live_server.url, locale="en-US")
    yield ctx
    ctx.close()


@pytest.fixture
def watch(live_server):
    """The problems seen on the test's pages; asserted empty at the end of the test."""
    return Watch(live_server.url)


def watched_page(context, watch: Watch) -> Page:
    """Open a new tab whose errors and requests are reported to `watch`."""
    page = context.new_page()
    page.on("console", watch.on_console)
    page.on("pageerror", watch.on_page_error)
    page.on("response", watch.on_response)
    page.route("**/*", watch.on_route)
    return page


@pytest.fixture
def page(context, watch, request):
    """A watched tab; its last state is saved as a screenshot."""
    tab = watched_page(context, watch)
    yield tab
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    assert watch.problems == [], "\n".join(watch.problems)


@pytest.fixture
def new_tab(context, watch):
    """Open more watched tabs (another person, or an anonymous reader)."""
    return lambda: watched_page(context, watch)
