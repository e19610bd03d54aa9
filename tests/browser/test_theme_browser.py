"""The default theme in a real browser: language links, dark mode, axe, screenshots.

Content with featured images is made in the live server's database by a small script run with
the server's environment (seed_theme_demo below), so the pages look as a site owner's would.
"""

import io
import math
import re
import subprocess
import sys
import time

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect
from sqlalchemy import select

from cms import create_app
from cms.extensions import db
from cms.models import Post, PostStatus, Tag, User, utcnow
from cms.services import accounts, seed
from cms.services.media import store_upload
from cms.services.posts import prepare_for_save
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_accessibility import serious_violations
from tests.servers import ROOT

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
# Colours of the painted demo images (landscapes in flat layers).
PALETTES = [
    ((255, 214, 165), (255, 145, 120), (120, 80, 140), (40, 40, 80)),
    ((190, 230, 255), (120, 180, 230), (40, 110, 150), (20, 50, 80)),
    ((230, 245, 210), (160, 210, 140), (70, 140, 90), (30, 70, 60)),
    ((255, 236, 200), (240, 190, 110), (190, 110, 60), (90, 50, 40)),
    ((235, 225, 255), (190, 160, 240), (120, 90, 190), (50, 40, 100)),
    ((220, 240, 240), (140, 200, 200), (60, 130, 140), (20, 60, 70)),
]
BIOS = [
    "Writes about databases, deploys and the quiet craft of keeping software boring.",
    "Designer turned developer; cares about type, contrast and pages that load at once.",
    "Maintains the search and the feeds, and the long list of things still to measure.",
]


def painted_jpeg(number: int, size=(1600, 1000)) -> bytes:
    """Return a landscape in flat colour layers (sky, sun, hills), different per number."""
    sky, sun, near, far = PALETTES[number % len(PALETTES)]
    width, height = size
    image = Image.new("RGB", size, sky)
    draw = ImageDraw.Draw(image)
    for row in range(height // 2):
        shade = tuple(int(c * (1 - row / height * 0.35)) for c in sky)
        draw.line([(0, row), (width, row)], fill=shade)
    x = width * (0.25 + 0.5 * ((number * 37) % 10) / 10)
    draw.ellipse([x - 110, 190, x + 110, 410], fill=sun)
    for layer, (colour, base, amplitude) in enumerate(((far, 0.62, 60), (near, 0.75, 45))):
        points = [(0, height)]
        for step in range(0, width + 40, 40):
            wave = math.sin(step / (170 + 40 * layer) + number) * amplitude
            points.append((step, height * base + wave + layer * 20))
        points.append((width, height))
        draw.polygon(points, fill=colour)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def seed_theme_demo(posts: int = 24) -> None:
    """Fill the configured database with posts, featured images, bios and tag descriptions."""
    app = create_app()
    with app.app_context():
        accounts.ensure_roles()
        seed.seed_posts(posts, 7)
        db.session.commit()
        people = db.session.scalars(select(User).order_by(User.id)).all()
        for person, bio in zip(people[1:], BIOS * 3, strict=False):
            person.bio = bio
        for tag in db.session.scalars(select(Tag)):
            tag.description = f"Notes, guides and lessons learned about {tag.name.lower()}."
        visible = db.session.scalars(
            select(Post)
            .where(Post.status == PostStatus.PUBLISHED, Post.published_at <= utcnow())
            .order_by(Post.published_at.desc())
        ).all()
        for number, post in enumerate(visible):
            if number % 4 == 3:
                continue  # some posts have no image: the theme must look right without
            record = store_upload(
                db.session, painted_jpeg(number), f"landscape-{number}.jpg", post.author
            )
            record.alt_text = f"A painted landscape, number {number + 1}"
            post.social_image = record
        if visible:
            first = visible[0]
            first.body_md += (
                "\n\nA table:\n\n| Step | Time |\n|---|---|\n| Build | 2 s |\n| Test | 9 s |\n\n"
                "```python\ndef hello():\n    return 'readers'\n```\n\nA note.[^1]\n\n"
                "[^1]: The footnote."
            )
            prepare_for_save(first)
        db.session.commit()


def run_seed(live_server) -> None:
    """Run seed_theme_demo against the live server's database (once per server)."""
    if getattr(live_server, "theme_seeded", False):
        return
    subprocess.run(
        [sys.executable, "-c", "from tests.browser.test_theme_browser import seed_theme_demo;"
         "seed_theme_demo()"],
        cwd=ROOT, env=live_server.env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    live_server.theme_seeded = True


@pytest.fixture
def demo(live_server):
    """The live server with the theme's demo content."""
    run_seed(live_server)
    return live_server


def shoot(page, name: str) -> None:
    """Save a full-page screenshot under build/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"theme_{name}.png"), full_page=True)


def wait_for_images(page, seconds: float = 15) -> None:
    """Wait until every image of the page has loaded (polled: the CSP forbids eval)."""
    script = "[...document.images].every(i => i.complete && i.naturalWidth > 0)"
    deadline = time.monotonic() + seconds
    while not page.evaluate(script):
        assert time.monotonic() < deadline, "images did not load"
        page.wait_for_timeout(100)


def first_post_url(page) -> str:
    """Return the address of the newest post (the hero of the home page)."""
    page.goto("/")
    return page.locator(".hero .card-title a").get_attribute("href")


def test_language_links_switch_and_come_back(page, demo):
    """The header's language links lead to the same page in German and back to English."""
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("form[action*='language']").count() == 0
    page.locator(".language-switch a[hreflang='de']").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    german = page.url
    if "?lang=" not in german:  # the real language middleware: /de/ addresses
        assert re.search(r"/de/?$", german), german
    page.locator(".language-switch a[hreflang='en']").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert "/de" not in page.url


def test_dark_mode_has_a_dark_background(page, demo):
    page.emulate_media(color_scheme="dark")
    page.goto("/")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    red, green, blue = (int(part) for part in re.findall(r"\d+", background)[:3])
    assert max(red, green, blue) < 60, background
    text = page.evaluate("getComputedStyle(document.body).color")
    assert min(int(part) for part in re.findall(r"\d+", text)[:3]) > 180, text
    shoot(page, "home_dark")


def test_theme_pages_have_no_serious_violations(page, demo):
    """axe: home, post, tag, author, archive month and index, tags, with and without dark."""
    post_url = first_post_url(page)
    page.goto(post_url)
    author_url = page.locator(".author-box-name a").get_attribute("href")
    # Other browser tests share the server: the newest post may carry no tag; /tags lists them.
    page.goto("/tags")
    tag_url = page.locator("main a[href^='/tags/']").first.get_attribute("href")
    page.goto("/archive")
    month_url = page.locator(".count-list a").first.get_attribute("href")
    paths = ["/", "/?page=2", post_url, tag_url, author_url, "/archive", month_url, "/tags"]
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for path in paths:
            page.goto(path)
            assert serious_violations(page) == [], (scheme, path)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_screenshots_of_home_and_post(page, demo, size):
    """Home and post pages, desktop and phone; every image has loaded and nothing overflows."""
    page.set_viewport_size(DESKTOP if size == "desktop" else PHONE)
    post_url = first_post_url(page)
    for name, path in (("home", "/"), ("post", post_url)):
        page.goto(path)
        # Lazy images load when scrolled to; the full-page screenshot wants them all now.
        page.evaluate("document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; })")
        wait_for_images(page)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (name, size, overflow)
        shoot(page, f"{name}_{size}")


def test_narrowest_phone_has_no_horizontal_scroll(page, demo):
    page.set_viewport_size({"width": 320, "height": 640})
    for path in ("/", first_post_url(page), "/archive", "/tags"):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, path
