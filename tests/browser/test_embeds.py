"""A video embed in a real browser: nothing leaves the machine until the reader clicks Play.

The post is saved through the dashboard's real form (its CSRF and submission tokens read from
the page). Saving asks YouTube's oEmbed endpoint, which this machine cannot reach: the
placeholder has its neutral text. After the click, the one request to YouTube's player is
answered locally by page.route; every other request must stay on 127.0.0.1.
"""

import re
import secrets
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.browser.people import log_in
from tests.helpers import parse_forms

VIDEO = "dQw4w9WgXcQ"
PLAYER = "https://www.youtube-nocookie.com/embed/"
NEW = "/admin/posts/new/"


def publish_post(page: Page, title: str, body: str) -> str:
    """Publish a post through the dashboard's form (as the browser's session); return its path.

    Every field of the real form is sent as the page filled it (tokens, author, ...).
    """
    html = page.request.get("/admin/posts/new/").text()
    form = next(
        form for form in parse_forms(html)
        if form["method"] == "post" and "/admin/posts/new/" in (form["action"] or NEW)
    )  # fmt: skip
    fields = dict(form["fields"], title=title, body_md=body, workflow="publish")
    response = page.request.post("/admin/posts/new/", form=fields, max_redirects=0)
    assert response.status == 302, re.findall(
        r"(?s)invalid-feedback[^>]*>(.{0,200})", response.text()
    )
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return f"/posts/{slug}"


def test_video_loads_nothing_from_youtube_until_play_is_clicked(page, new_tab, live_server):
    log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    title = f"Video {secrets.token_hex(3)}"
    path = publish_post(page, title, f"Watch this:\n\nhttps://youtu.be/{VIDEO}?t=42\n")

    reader = new_tab()
    requested: list[str] = []
    reader.on("request", lambda request: requested.append(request.url))
    players: list[str] = []

    def answer_player(route):
        # The only thing outside the machine: YouTube's player, answered here.
        players.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p>player</p>")

    # Registered after the watcher's catch-all, so it answers first.
    reader.route(PLAYER + "**", answer_player)
    reader.goto(path)
    placeholder = reader.locator("figure.c-embed")
    expect(placeholder).to_be_visible()
    expect(placeholder.locator("figcaption")).to_have_text("Video on YouTube")
    play = reader.get_by_role("link", name="Play video (loads content from YouTube)")
    expect(play).to_be_visible()
    reader.wait_for_load_state("networkidle")

    host = urlsplit(live_server.url).hostname
    assert requested, "the page made no request at all"
    assert all(urlsplit(url).hostname == host for url in requested), requested
    assert reader.locator("iframe").count() == 0

    play.click()
    frame = reader.locator("figure.c-embed iframe")
    expect(frame).to_have_count(1)
    expect(frame).to_have_attribute("src", f"{PLAYER}{VIDEO}?autoplay=1&start=42")
    expect(frame).to_have_attribute("title", "Video on YouTube")
    reader.wait_for_load_state("networkidle")
    expect(reader.locator("iframe")).to_have_count(1)
    # The CSP let exactly that frame load (a blocked frame would never reach the route).
    assert players == [f"{PLAYER}{VIDEO}?autoplay=1&start=42"]
    off_machine = [url for url in requested if urlsplit(url).hostname != host]
    assert off_machine == players, off_machine


def test_without_script_the_placeholder_is_a_link_to_the_video(chromium, live_server, page):
    """With JavaScript off, Play is a plain link to the video's page (nothing is framed)."""
    log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    path = publish_post(page, f"Plain video {secrets.token_hex(3)}", "https://vimeo.com/76979871")
    context = chromium.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        reader = context.new_page()
        reader.goto(path)
        play = reader.get_by_role("link", name="Play video (loads content from Vimeo)")
        expect(play).to_have_attribute("href", "https://vimeo.com/76979871")
        expect(reader.locator("iframe")).to_have_count(0)
    finally:
        context.close()
