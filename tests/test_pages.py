"""Static pages at /<slug>: only visible pages, never in the way of a route of the site."""

import re
from datetime import timedelta

import pytest
from markupsafe import escape
from sqlalchemy import select

from cms.extensions import db
from cms.models import Post, PostKind, PostStatus, utcnow
from cms.services.posts import is_visible
from cms.services.previews import preview_token
from cms.services.slugs import is_reserved_page_slug, reserved_page_slugs
from tests.factories import make_post, make_user


def text(response) -> str:
    """Return a response body as text."""
    return response.get_data(as_text=True)


@pytest.fixture
def author(ctx):
    """An editor who writes the pages."""
    return make_user("pages@example.com", roles=("editor",), display_name="Paula Pages")


@pytest.fixture
def clock(monkeypatch):
    """Set the time readers live in (what "now" is for visibility), without sleeping."""

    def set_time(moment):
        monkeypatch.setattr("cms.services.posts.utcnow", lambda: moment)
        monkeypatch.setattr("cms.services.visibility.utcnow", lambda: moment)
        monkeypatch.setattr("cms.models.content.utcnow", lambda: moment)

    return set_time


def make_page(author, title="About us", **fields) -> Post:
    """Create a page (published an hour ago unless told otherwise)."""
    return make_post(author, title=title, kind=PostKind.PAGE, **fields)


def test_a_published_page_is_served_at_its_slug(app, client, author):
    page = make_page(author, title="About us", body="We grow *tomatoes*.")
    assert page.slug == "about-us"
    response = client.get("/about-us")
    assert response.status_code == 200
    body = text(response)
    assert "<h1>About us</h1>" in body
    assert "We grow <em>tomatoes</em>." in body
    assert re.search(r"<title>About us · ", body)
    # A page is no post: not under /posts/, not in the lists.
    assert client.get("/posts/about-us").status_code == 404
    assert "About us" not in text(client.get("/"))
    assert "About us" not in text(client.get(f"/authors/{author.slug}"))


def test_posts_are_not_pages(app, client, author):
    post = make_post(author, title="A plain post")
    assert client.get(f"/posts/{post.slug}").status_code == 200
    assert client.get(f"/{post.slug}").status_code == 404


@pytest.mark.parametrize(
    "fields",
    [
        {"status": PostStatus.DRAFT},
        {"status": PostStatus.REVIEW},
        {"status": PostStatus.TRASHED},
        # A draft with a publication date is still a draft.
        {"status": PostStatus.DRAFT, "published_at": utcnow() - timedelta(days=1)},
        # Scheduled: published, but its time has not come.
        {"published_at": utcnow() + timedelta(days=1)},
        # Expired: its unpublish time has passed.
        {"unpublish_at": utcnow() - timedelta(minutes=1)},
    ],
    ids=["draft", "review", "trashed", "dated-draft", "scheduled", "expired"],
)
def test_invisible_pages_answer_404(app, client, author, fields):
    page = make_page(author, title="Hidden page", **fields)
    response = client.get(f"/{page.slug}")
    assert response.status_code == 404
    assert "Hidden page" not in text(response)


def test_a_scheduled_page_appears_exactly_at_its_time(app, client, author, clock):
    start = utcnow().replace(microsecond=0) + timedelta(hours=2)
    end = start + timedelta(days=1)
    page = make_page(author, title="Opening hours", published_at=start, unpublish_at=end)
    post = make_post(author, title="Launch news", published_at=start, unpublish_at=end)
    expected = {
        start - timedelta(seconds=1): 404,
        start: 200,
        end - timedelta(seconds=1): 200,
        end: 404,
    }
    for moment, status in expected.items():
        clock(moment)
        assert client.get(f"/{page.slug}").status_code == status, moment
        assert client.get(f"/posts/{post.slug}").status_code == status, moment
        listed = "Launch news" in text(client.get("/"))
        assert listed is (status == 200), moment


def test_is_visible_follows_the_given_time(app, author):
    start = utcnow().replace(microsecond=0) + timedelta(seconds=30)
    page = make_page(author, title="Timed", published_at=start, unpublish_at=start + timedelta(1))

    def visible(moment) -> bool:
        query = select(Post.id).where(is_visible(PostKind.PAGE, now=moment), Post.id == page.id)
        return db.session.scalar(query) is not None

    assert not visible(start - timedelta(microseconds=1))
    assert visible(start)
    assert visible(start + timedelta(hours=23))
    assert not visible(start + timedelta(days=1))
    # The default "now" is the real clock: not yet.
    assert db.session.scalar(select(Post.id).where(is_visible(PostKind.PAGE))) is None
    # ... and the page is no post.
    assert db.session.scalar(select(Post.id).where(is_visible(PostKind.POST, now=start))) is None


# --- Routes win over pages -------------------------------------------------------------------


def test_reserved_slugs_cover_every_route_and_planned_ones(app, ctx):
    reserved = reserved_page_slugs(app)
    expected = {"admin", "account", "posts", "tags", "authors", "uploads", "preview", "healthz"}
    expected |= {"static", "language", "feed", "sitemap.xml", "api", "search", "robots.txt"}
    assert expected <= reserved
    for rule in app.url_map.iter_rules():
        first = rule.rule.strip("/").split("/")[0]
        if first and "<" not in first:
            assert first in reserved, rule.rule
    with app.test_request_context():
        for slug in ("admin", "Admin", "posts", "feed", "sitemap.xml", "/healthz/", "language"):
            assert is_reserved_page_slug(slug), slug
        for slug in ("about", "contact", "admins", "postsx", ""):
            assert not is_reserved_page_slug(slug), slug


RESERVED_PAGE_SLUGS = ["admin", "account", "healthz", "static", "language", "posts", "uploads"]
RESERVED_PAGE_SLUGS += ["preview", "tags", "authors", "feed", "search", "api"]


def test_routes_answer_as_before_even_when_a_page_takes_their_name(app, client, author):
    """Pages named like routes (made behind the form's back) never shadow those routes."""
    for slug in RESERVED_PAGE_SLUGS:
        page = make_page(author, title=f"Page {slug}", slug=slug)
        assert page.slug == slug
    post = make_post(author, title="Still a post")
    checks = {
        "/admin": (308, "/admin/"),
        "/account": (308, "/account/"),
        "/healthz": (200, None),
        "/language": (405, None),
        "/static": (404, None),
        "/posts": (404, None),
        "/uploads": (404, None),
        "/preview": (404, None),
        "/authors": (404, None),
        "/api": (404, None),
    }
    for url, (status, location) in checks.items():
        response = client.get(url)
        assert response.status_code == status, (url, response.status_code)
        assert "Page " + url.strip("/") not in text(response), url
        if location:
            assert response.headers["Location"].endswith(location), url
    assert client.get("/healthz").get_json()["status"] == "ok"
    stylesheet = client.get("/static/site.css")
    stylesheet.close()
    assert stylesheet.status_code == 200
    assert client.get(f"/posts/{post.slug}").status_code == 200
    assert client.get("/account/login").status_code == 200
    assert client.get("/admin/").status_code in (302, 303)
    assert client.get("/uploads/nothing.png").status_code == 404
    assert client.get("/preview/not-a-token").status_code == 404


@pytest.mark.parametrize(
    "key",
    ["²", "١", "0", "-1", "9" * 30, "'", "1 OR 1=1", "%00", "a%00b", "A" * 10_000, "%ff", ".."],
)
def test_hostile_page_slugs_never_500(app, client, author, key):
    make_page(author, title="Something")
    response = client.get("/" + key)
    assert response.status_code in (400, 404), response.status_code
    assert "Traceback" not in text(response)


def test_page_slug_with_surrounding_path_is_not_a_page(app, client, author):
    page = make_page(author, title="Contact")
    assert client.get("/contact").status_code == 200
    assert client.get("/contact/").status_code == 404
    assert client.get(f"/pages/{page.slug}").status_code == 404


# --- Previews --------------------------------------------------------------------------------


def test_preview_of_a_page_uses_the_page_template(app, client, author):
    page = make_page(author, title="Draft page", body="Coming **soon**", status=PostStatus.DRAFT)
    assert client.get(f"/{page.slug}").status_code == 404
    with app.test_request_context():
        token = preview_token(page)
    response = client.get(f"/preview/{token}")
    assert response.status_code == 200
    body = text(response)
    assert '<article class="page">' in body
    assert "Coming <strong>soon</strong>" in body
    assert "readers cannot see this page yet" in body
    assert '<meta name="robots" content="noindex, nofollow">' in body
    assert 'rel="canonical"' not in body
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    # A page has no date and author line, unlike a post.
    assert 'class="post-meta"' not in body


def test_preview_of_a_post_still_uses_the_post_template(app, client, author):
    post = make_post(author, title="Draft post", status=PostStatus.DRAFT)
    with app.test_request_context():
        token = preview_token(post)
    body = text(client.get(f"/preview/{token}"))
    assert '<article class="post">' in body and "readers cannot see this post yet" in body


def test_hostile_page_title_is_escaped(app, client, author):
    hostile = '"><script>alert(1)</script>'
    page = make_page(author, title=f"Page {hostile}", slug="hostile")
    body = text(client.get(f"/{page.slug}"))
    assert "<script>alert(1)" not in body
    assert str(escape(hostile)) in body
