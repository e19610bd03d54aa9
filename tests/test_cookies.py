"""Anonymous readers get no cookie and no `Vary: Cookie`, so shared caches can keep pages.

Whoever carries the session or remember cookie is answered `private, no-store`.
"""

import pytest

from cms.models import PostKind
from tests.factories import PASSWORD, make_post, make_tag, make_user
from tests.test_web import login_with_remember

# Public routes that need values, and the values' names in the `site` fixture; routes without
# arguments are found in the URL map. Files, previews and the page route are listed by hand.
ROUTES_WITH_VALUES = {
    "public.post": "/posts/{post}",
    "public.tag": "/tags/{tag}",
    "public.author": "/authors/{author}",
    "public.tag_feed": "/tags/{tag}/feed",
    "public.tag_feed_rss": "/tags/{tag}/feed/rss",
    "public.author_feed": "/authors/{author}/feed",
    "public.author_feed_rss": "/authors/{author}/feed/rss",
    "public.archive_month": "/archive/{year}/{month}",
    "public.sitemap_shard": "/sitemap-posts-1.xml",
}
NOT_PAGES = {"public.upload", "public.media", "public.preview", "public.page"}
# What only a person's own page may hold.
PERSONAL_MARKS = ('name="csrf_token"', "Log out", 'method="post"')


def make_site() -> dict:
    """Create eleven posts (two list pages), a tag, an author and a page; return their keys."""
    admin = make_user("admin@example.com", roles=("admin",))
    make_user("reader@example.com")
    tag = make_tag("Cookies")
    posts = [make_post(admin, title=f"Post {n}", tags=[tag]) for n in range(11)]
    page = make_post(admin, title="About", kind=PostKind.PAGE)
    return {
        "post": posts[0].slug,
        "page": page.slug,
        "tag": tag.slug,
        "author": admin.slug,
        "year": posts[0].published_at.year,
        "month": posts[0].published_at.month,
    }


@pytest.fixture
def site(ctx):
    """Eleven posts (two list pages), a tag, an author and a page."""
    return make_site()


def public_urls(app, site) -> list[str]:
    """Every readers' address there is, in English and in German, and two that are 404."""
    paths = ["/?page=2", f"/{site['page']}", "/search?q=x", "/search?q=Post", "/no-such-page"]
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_PAGES or not rule.endpoint.startswith("public."):
            continue
        if "GET" not in rule.methods:
            continue
        if not rule.arguments:
            paths.append(rule.rule)
        elif rule.endpoint in ROUTES_WITH_VALUES:
            paths.append(ROUTES_WITH_VALUES[rule.endpoint].format(**site))
    # The routes the issue names: each must be there once its helper is done.
    for endpoint in ("public.index", "public.post", "public.tag", "public.author"):
        assert endpoint in app.view_functions
    return sorted(set(paths)) + [f"/de{path}" for path in sorted(set(paths))]


def test_anonymous_readers_get_no_cookie(app, site):
    """Every readers' page, feed and file list, in both languages: no cookie, no Vary: Cookie."""
    client = app.test_client()
    urls = public_urls(app, site)
    assert len(urls) >= 20
    ok = 0
    for url in urls:
        for method in ("GET", "HEAD"):
            response = client.open(url, method=method)
            response.close()
            assert response.status_code < 500, (url, response.status_code)
            assert not response.headers.getlist("Set-Cookie"), (url, method)
            assert "cookie" not in response.headers.get("Vary", "").lower(), (url, method)
        assert client.get_cookie("session") is None, url
        # Icons are files with their own headers; pages, feeds and robots.txt are kept.
        if response.status_code == 200 and not response.mimetype.startswith("image/"):
            ok += 1
            assert response.headers["Cache-Control"].startswith("public"), url
            body = client.get(url).get_data(as_text=True)
            for mark in PERSONAL_MARKS:
                assert mark not in body, (url, mark)
    assert ok >= 16
    assert client.get("/no-such-page").status_code == 404


def test_the_accept_language_redirect_sets_no_cookie(app, client, site):
    response = client.get("/", headers={"Accept-Language": "de"})
    assert response.status_code == 302
    assert not response.headers.getlist("Set-Cookie")


def test_logged_in_readers_get_private_pages(app, browser, client, site):
    """The session cookie makes every readers' page private: no shared cache keeps it."""
    browser.login("reader@example.com", PASSWORD)
    for url in public_urls(app, site):
        response = client.get(url)
        response.close()
        assert response.status_code < 500, url
        if response.status_code in (200, 404) and not response.mimetype.startswith("image/"):
            assert response.headers["Cache-Control"] == "private, no-store", url
            if response.mimetype == "text/html":
                assert "ETag" not in response.headers, url
    assert "Log out" in client.get(f"/posts/{site['post']}").get_data(as_text=True)


def test_remember_cookie_alone_is_personal(app, site):
    """After the browser dropped the session, the remember cookie still means "a person"."""
    client = app.test_client()
    login_with_remember(app, client)
    client.delete_cookie("session")
    assert client.get_cookie("remember_token") is not None
    response = client.get(f"/posts/{site['post']}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "Log out" in response.get_data(as_text=True)


def test_a_leftover_session_cookie_is_personal(app, client, site):
    """A reader who opened the login form holds a session cookie: private from then on."""
    client.get("/account/login")
    assert client.get_cookie("session") is not None
    response = client.get(f"/posts/{site['post']}")
    assert response.headers["Cache-Control"] == "private, no-store"


def test_personal_global(app):
    """personal() is true with either cookie, whatever is in it."""
    render = app.jinja_env.from_string("{{ personal() }}").render
    with app.test_request_context("/"):
        assert render() == "False"
    with app.test_request_context("/", headers={"Cookie": "session=x"}):
        assert render() == "True"
    with app.test_request_context("/", headers={"Cookie": "remember_token=x"}):
        assert render() == "True"
    with app.test_request_context("/", headers={"Cookie": "other=x"}):
        assert render() == "False"


def test_a_page_that_writes_the_session_is_not_kept(app, variant):
    """Should a readers' page ever write to the session (a flash), it becomes private."""
    from flask import flash

    from cms.public import bp

    application = variant()
    view = application.view_functions["public.index"]

    def flashing_index():
        flash("hello")
        return view()

    application.view_functions["public.index"] = flashing_index
    response = application.test_client().get("/")
    assert bp.name == "public"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers.getlist("Set-Cookie")
    assert "Cookie" in response.headers["Vary"]
