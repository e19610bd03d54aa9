"""The page cache (cms/page_cache_app.py, cms/services/page_cache.py, cms/services/changes.py).

Every test builds its own app with the cache on (TESTING apps run without it otherwise) on the
session's database; the file cache lives in the test's own folder. Writes are made in that
app's context, so their purges reach its cache, as in production.

Views record what they show (cms.services.page_deps); `record_from_templates` below also
records it from the template context, so these tests do not depend on every view doing so
(recording more only makes the cache more careful).
"""

import contextlib
import gzip
import os
import pickle
import secrets
import threading
import time
from datetime import timedelta

import brotli
import pytest
import redis
from flask import template_rendered
from sqlalchemy import event, select, update

from cms.extensions import db
from cms.models import NavItem, Post, PostKind, PostStatus, Tag, User, post_tags, utcnow
from cms.page_cache_app import PageCacheMiddleware, choose_encoding
from cms.services import page_deps
from cms.services.listing import ALL, Scope, count_visible, related
from cms.services.page_cache import (
    LAST_KEY,
    MEMO_PREFIX,
    PASS,
    VERSION_PREFIX,
    PageCache,
    get_page_cache,
    lock_key,
    next_scheduled_change,
)
from tests.factories import PASSWORD, make_post, make_tag, make_user
from tests.helpers import Browser

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def record_from_templates(app) -> list[str]:
    """Record page dependencies from what templates are given; return the rendered names."""
    rendered = []

    def record(sender, template, context, **extra):
        rendered.append(template.name)
        page_deps.shows("menu")
        for value in context.values():
            if isinstance(value, Post):
                page_deps.shows_posts([value])
                page_deps.shows("pages" if value.kind == PostKind.PAGE else "posts", "tags")
            elif isinstance(value, Tag):
                page_deps.shows(f"tag:{value.id}", "tags")
            elif isinstance(value, User):
                page_deps.shows(f"author:{value.id}")
            posts = getattr(value, "posts", value)
            if isinstance(posts, list | tuple) and posts and isinstance(posts[0], Post):
                page_deps.shows("posts", "tags")
                page_deps.shows_posts(posts)

    template_rendered.connect(record, app, weak=False)
    return rendered


def build(variant, **overrides):
    """Return (app, rendered template names) with the page cache on."""
    settings = {"PAGE_CACHE_IN_TESTS": True, "PAGE_CACHE_TYPE": "filesystem", **overrides}
    application = variant(**settings)
    return application, record_from_templates(application)


@pytest.fixture
def cached(variant):
    """An app with the file page cache, its context pushed; yields (app, rendered names)."""
    application, rendered = build(variant)
    with application.app_context():
        yield application, rendered
        db.session.remove()


@pytest.fixture
def site(cached):
    """An author, a tag and two posts: A (tagged), B (untagged) far apart in time."""
    application, _ = cached
    writer = make_user("writer@example.com", roles=("editor",), display_name="Wendy Writer")
    news = make_tag("News")
    now = utcnow()
    a = make_post(writer, title="Alpha", tags=[news], published_at=now - timedelta(days=9))
    # Posts between A and B, so neither is the other's previous/next neighbour.
    make_post(writer, title="Gamma", published_at=now - timedelta(days=6))
    make_post(writer, title="Delta", published_at=now - timedelta(days=3))
    b = make_post(writer, title="Beta", published_at=now - timedelta(hours=1))
    return {"writer": writer, "tag": news, "a": a, "b": b}


def state(response) -> str | None:
    return response.headers.get("X-Page-Cache")


def get(client, url, **headers):
    return client.get(url, headers=headers)


# --- hits ---------------------------------------------------------------------------------------


def test_a_hit_returns_the_same_bytes_without_running_the_view(cached, site):
    application, rendered = cached
    client = application.test_client()
    first = get(client, "/posts/alpha")
    assert first.status_code == 200 and state(first) == "miss"
    count = len(rendered)
    second = get(client, "/posts/alpha")
    assert state(second) == "hit"
    assert second.data == first.data
    assert len(rendered) == count  # no template rendered, so no view ran
    assert second.headers["Content-Type"] == first.headers["Content-Type"]
    assert second.headers["ETag"] == first.headers["ETag"]
    assert "Set-Cookie" not in second.headers


def test_head_is_answered_from_the_get_entry_and_fills_it(cached, site):
    application, rendered = cached
    client = application.test_client()
    head = client.head("/posts/alpha")
    assert head.status_code == 200 and head.data == b""
    full = get(client, "/posts/alpha")
    assert state(full) == "hit"
    assert int(head.headers["Content-Length"]) == len(full.data)
    again = client.head("/posts/alpha")
    assert state(again) == "hit" and again.data == b""
    assert again.headers["Content-Length"] == str(len(full.data))


def test_conditional_requests_get_304_from_the_stored_etag(cached, site):
    application, _ = cached
    client = application.test_client()
    first = get(client, "/posts/alpha")
    etag = first.headers["ETag"]
    not_modified = get(client, "/posts/alpha", **{"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert not_modified.headers["ETag"] == etag
    assert "Content-Type" not in not_modified.headers
    other = get(client, "/posts/alpha", **{"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.data == first.data
    # The compressed copy has its own tag, which also answers 304.
    zipped = get(client, "/posts/alpha", **{"Accept-Encoding": "gzip"})
    assert zipped.headers["ETag"] != etag
    assert (
        get(
            client,
            "/posts/alpha",
            **{"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]},
        ).status_code
        == 304
    )
    modified = first.headers.get("Last-Modified")
    if modified:
        since = get(client, "/posts/alpha", **{"If-Modified-Since": modified})
        assert since.status_code == 304


def test_compressed_copies_are_served_by_accept_encoding(cached, site):
    application, _ = cached
    client = application.test_client()
    plain = get(client, "/posts/alpha")
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
    br = get(client, "/posts/alpha", **{"Accept-Encoding": "gzip, deflate, br"})
    assert br.headers["Content-Encoding"] == "br"
    assert brotli.decompress(br.data) == plain.data
    gz = get(client, "/posts/alpha", **{"Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(gz.data) == plain.data
    assert int(gz.headers["Content-Length"]) == len(gz.data)
    refused = get(client, "/posts/alpha", **{"Accept-Encoding": "br;q=0, gzip;q=0"})
    assert "Content-Encoding" not in refused.headers


def test_choose_encoding():
    both = {"identity": 1, "gzip": 1, "br": 1}
    assert choose_encoding(None, both) == "identity"
    assert choose_encoding("gzip, br", both) == "br"
    assert choose_encoding("gzip;q=1.0, br;q=0.5", both) == "gzip"
    assert choose_encoding("*", both) == "br"
    assert choose_encoding("br;q=0", both) == "identity"
    assert choose_encoding("br", {"identity": 1}) == "identity"


# --- exact, immediate invalidation --------------------------------------------------------------


def test_editing_a_post_purges_exactly_the_pages_that_show_it(cached, site):
    application, _ = cached
    client = application.test_client()
    writer, tag = site["writer"], site["tag"]
    pages = ["/posts/alpha", "/", f"/tags/{tag.slug}", f"/authors/{writer.slug}", "/posts/beta"]
    for url in pages:
        assert get(client, url).status_code == 200
        assert state(get(client, url)) == "hit", url

    post = db.session.get(Post, site["a"].id)
    post.title = "Alpha renamed"
    db.session.commit()

    for url in pages[:4]:
        response = get(client, url)
        assert state(response) == "miss", url
        assert "Alpha renamed" in response.get_data(as_text=True), url
    # Post B does not show A: it stays cached.
    assert state(get(client, "/posts/beta")) == "hit"


def test_publishing_a_post_purges_the_lists(cached, site):
    application, _ = cached
    client = application.test_client()
    draft = make_post(site["writer"], title="Fresh news", status=PostStatus.DRAFT)
    get(client, "/")
    assert state(get(client, "/")) == "hit"
    assert "Fresh news" not in get(client, "/").get_data(as_text=True)

    post = db.session.get(Post, draft.id)
    post.status = PostStatus.PUBLISHED
    post.published_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = get(client, "/")
    assert state(response) == "miss"
    assert "Fresh news" in response.get_data(as_text=True)
    assert get(client, "/posts/fresh-news").status_code == 200


def test_feeds_and_sitemap_are_purged_by_publishing(cached, site):
    application, _ = cached
    rules = {rule.rule for rule in application.url_map.iter_rules()}
    urls = [url for url in ("/feed", "/feed.xml", "/atom.xml", "/sitemap.xml") if url in rules]
    if not urls:
        pytest.skip("no feed or sitemap route yet")
    client = application.test_client()
    draft = make_post(site["writer"], title="Feed item", status=PostStatus.DRAFT)
    for url in urls:
        get(client, url)
    post = db.session.get(Post, draft.id)
    post.status = PostStatus.PUBLISHED
    post.published_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    for url in urls:
        assert state(get(client, url)) != "hit", url


def test_the_sitemap_index_dates_follow_an_edit_of_any_post(cached, site):
    application, _ = cached
    client = application.test_client()
    before = get(client, "/sitemap.xml").get_data(as_text=True)
    assert state(get(client, "/sitemap.xml")) == "hit"
    # An edit of the oldest post (a second later: lastmod counts seconds) moves the posts
    # shard's lastmod to its time.
    time.sleep(1.1)
    post = db.session.get(Post, site["a"].id)
    post.title = "Alpha, revised"
    db.session.commit()
    after = get(client, "/sitemap.xml")
    assert state(after) != "hit"
    assert after.get_data(as_text=True) != before
    assert post.updated_at.strftime("%Y-%m-%dT%H:%M:%S") in after.get_data(as_text=True)


def test_a_scheduled_post_appears_on_the_cached_home_page_at_its_time(cached, site):
    application, _ = cached
    client = application.test_client()
    when = utcnow() + timedelta(seconds=2)
    make_post(site["writer"], title="Scheduled story", published_at=when)
    first = get(client, "/")
    assert "Scheduled story" not in first.get_data(as_text=True)
    assert state(get(client, "/")) == "hit"
    # No write from here on: the entry's life ends at the publication time.
    time.sleep(max(0.0, (when - utcnow()).total_seconds()) + 0.1)
    later = get(client, "/")
    assert state(later) == "miss"
    assert "Scheduled story" in later.get_data(as_text=True)


def test_next_scheduled_change_takes_the_earliest_of_both_kinds_and_times(cached, site):
    now = utcnow()
    assert next_scheduled_change(now) is None
    writer = site["writer"]
    make_post(writer, title="Later", published_at=now + timedelta(hours=5))
    make_post(
        writer,
        title="Going",
        published_at=now - timedelta(hours=1),
        unpublish_at=now + timedelta(hours=3),
    )
    make_post(writer, title="Page soon", kind=PostKind.PAGE, published_at=now + timedelta(hours=2))
    # Drafts do not count.
    make_post(writer, title="Draft", status=PostStatus.DRAFT, published_at=now + timedelta(hours=1))
    assert next_scheduled_change(now) == now + timedelta(hours=2)


def test_tag_renames_purge_tag_names_and_menu_changes_purge_the_menu(cached, site):
    application, _ = cached
    cache = get_page_cache(application)

    def version(name):
        return cache.backend.get(VERSION_PREFIX + name)

    client = application.test_client()
    get(client, "/posts/alpha")  # creates the version keys the page depends on
    before = {name: version(name) for name in ("tags", "menu", f"tag:{site['tag'].id}", "posts")}
    tag = db.session.get(Tag, site["tag"].id)
    tag.name = "Headlines"
    db.session.commit()
    assert version("tags") != before["tags"]
    assert version(f"tag:{tag.id}") != before[f"tag:{tag.id}"]
    assert version("menu") == before["menu"]
    assert version("posts") == before["posts"]

    db.session.add(NavItem(label="About", url="/about", position=1))
    db.session.commit()
    assert version("menu") != before["menu"]
    assert state(get(client, "/posts/alpha")) == "miss"


def test_author_changes_purge_their_pages(cached, site):
    application, _ = cached
    client = application.test_client()
    url = f"/authors/{site['writer'].slug}"
    get(client, url)
    person = db.session.get(User, site["writer"].id)
    person.last_login_ip = "127.0.0.1"  # not shown: no purge
    db.session.commit()
    assert state(get(client, url)) == "hit"
    person.display_name = "Wendy W."
    db.session.commit()
    response = get(client, url)
    assert state(response) == "miss"
    assert "Wendy W." in response.get_data(as_text=True)


def test_bulk_updates_through_the_session_purge_the_rows_they_name(cached, site):
    application, _ = cached
    client = application.test_client()
    get(client, "/posts/alpha")
    get(client, "/posts/beta")
    table = Post.__table__
    db.session.execute(
        update(table).where(table.c.id == site["a"].id).values(body_html="<p>Rewritten</p>")
    )
    db.session.commit()
    response = get(client, "/posts/alpha")
    assert state(response) == "miss" and "Rewritten" in response.get_data(as_text=True)
    assert state(get(client, "/posts/beta")) == "hit"
    # A bulk statement that names no ids purges everything.
    db.session.execute(update(table).values(meta_description="x"))
    db.session.commit()
    assert state(get(client, "/posts/beta")) == "miss"


def test_a_rolled_back_change_purges_nothing(cached, site):
    application, _ = cached
    client = application.test_client()
    get(client, "/posts/alpha")
    post = db.session.get(Post, site["a"].id)
    post.title = "Never saved"
    db.session.flush()
    db.session.rollback()
    assert state(get(client, "/posts/alpha")) == "hit"


# --- what is never cached -----------------------------------------------------------------------


def test_a_logged_in_reader_is_never_served_a_cached_page_nor_stored(cached, site):
    application, rendered = cached
    anonymous = application.test_client()
    get(anonymous, "/posts/alpha")
    assert state(get(anonymous, "/posts/alpha")) == "hit"

    make_user("reader@example.com")
    client = application.test_client()
    browser = Browser(application, client)
    assert browser.login("reader@example.com", PASSWORD).status_code in (302, 303)
    count = len(rendered)
    mine = client.get("/posts/alpha")
    assert mine.status_code == 200 and state(mine) is None
    assert len(rendered) > count
    # The logged-in page was not stored: B rendered for them is a miss for readers.
    client.get("/posts/beta")
    assert state(get(anonymous, "/posts/beta")) == "miss"


def test_a_response_that_sets_a_cookie_is_never_stored(variant):
    application, rendered = build(variant)

    @application.get("/cookie-page")
    def cookie_page():
        page_deps.shows("posts")
        response = application.make_response("<p>with a cookie</p>")
        response.set_cookie("tracker", "1")
        return response

    client = application.test_client()
    for _ in range(3):
        response = client.get("/cookie-page")
        assert response.status_code == 200 and "tracker=1" in response.headers["Set-Cookie"]
        assert state(response) != "hit"


def test_a_page_that_records_nothing_is_not_stored(variant):
    application, _ = build(variant)
    calls = []

    @application.get("/plain")
    def plain():
        calls.append(1)
        return "<p>plain</p>"

    client = application.test_client()
    for _ in range(3):
        assert client.get("/plain").data == b"<p>plain</p>"
    assert len(calls) == 3
    with application.app_context():
        assert get_page_cache(application).lookup("http://localhost/plain?") is PASS


def test_unknown_query_parameters_bypass_and_allowed_ones_are_canonical(cached, site):
    application, _ = cached
    client = application.test_client()
    get(client, "/?page=1")
    assert state(get(client, "/?page=1")) == "hit"
    tracked = get(client, "/?utm_source=mail")
    assert tracked.status_code == 200 and state(tracked) is None
    assert state(get(client, "/?utm_source=mail")) is None
    middleware = application.wsgi_app
    while not isinstance(middleware, PageCacheMiddleware):
        middleware = middleware.app
    base = {"REQUEST_METHOD": "GET", "PATH_INFO": "/search", "HTTP_HOST": "localhost"}
    one = middleware.key_for({**base, "QUERY_STRING": "q=a+b&page=2"})
    two = middleware.key_for({**base, "QUERY_STRING": "page=2&q=a%20b"})
    assert one == two
    assert middleware.key_for({**base, "QUERY_STRING": "page=2&x=1"}) is None
    assert middleware.key_for({**base, "REQUEST_METHOD": "POST"}) is None
    assert middleware.key_for({**base, "PATH_INFO": "/admin/post/"}) is None
    assert middleware.key_for({**base, "HTTP_COOKIE": "a=b; session=x"}) is None
    assert middleware.key_for({**base, "HTTP_COOKIE": "a=b"}) == middleware.key_for(base)
    german = middleware.key_for({**base, "SCRIPT_NAME": "/de"})
    assert german != middleware.key_for(base) and "/de/search" in german


def test_the_language_prefix_is_part_of_the_key(cached, site):
    application, _ = cached
    if "de" not in application.config["LANGUAGES"]:
        pytest.skip("one language only")
    client = application.test_client()
    english = get(client, "/posts/alpha")
    german = get(client, "/de/posts/alpha")
    assert german.status_code == 200 and state(german) == "miss"
    assert state(get(client, "/de/posts/alpha")) == "hit"
    assert state(get(client, "/posts/alpha")) == "hit"
    assert english.data == get(client, "/posts/alpha").data


# --- single flight ------------------------------------------------------------------------------


def _concurrent_gets(application, url: str, count: int) -> list:
    barrier = threading.Barrier(count)
    results = [None] * count

    def fetch(index):
        client = application.test_client()
        barrier.wait()
        response = client.get(url)
        results[index] = (response.status_code, state(response), response.data)

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.mark.parametrize("backend", ["filesystem", "redis"])
def test_200_concurrent_requests_for_a_purged_page_cause_one_render(variant, backend):
    overrides = {}
    if backend == "redis":
        overrides = {"REDIS_URL": REDIS_URL, "PAGE_CACHE_KEY_PREFIX": _prefix()}
    application, rendered = build(variant, PAGE_CACHE_TYPE=backend, **overrides)
    try:
        with application.app_context():
            writer = make_user("crowd@example.com", roles=("editor",))
            post = make_post(writer, title="Popular")
            client = application.test_client()
            assert client.get("/posts/popular").status_code == 200
            post = db.session.get(Post, post.id)
            post.title = "Popular again"
            db.session.commit()
            db.session.remove()
        rendered.clear()
        results = _concurrent_gets(application, "/posts/popular", 200)
        assert all(result is not None and result[0] == 200 for result in results)
        assert len({result[2] for result in results}) == 1
        assert b"Popular again" in results[0][2]
        assert [name for name in rendered if name.startswith("public/post")] == ["public/post.html"]
    finally:
        _clean_redis(application)


def test_waiters_render_themselves_when_the_lock_holder_died(variant, site):
    application, rendered = build(variant, PAGE_CACHE_LOCK_SECONDS=2)
    cache = get_page_cache(application)
    key = "http://localhost/posts/alpha?"
    # A holder that took the lock and died: nobody releases it. The file cache keeps expiry
    # times in whole seconds, so a 2-second lock ends between 1 and 2 seconds from now.
    assert cache.backend.add(lock_key(key), "dead", timeout=2)
    started = time.monotonic()
    response = application.test_client().get("/posts/alpha")
    waited = time.monotonic() - started
    assert response.status_code == 200 and state(response) == "miss"
    assert 0.9 <= waited < 8
    assert state(application.test_client().get("/posts/alpha")) == "hit"


# --- Redis: several app instances (hosts) -------------------------------------------------------


def _prefix() -> str:
    return f"test-page-{secrets.token_hex(4)}:"


def _clean_redis(application) -> None:
    prefix = application.config.get("PAGE_CACHE_KEY_PREFIX", "")
    if not application.config.get("REDIS_URL") or not prefix.startswith("test-page-"):
        return
    client = redis.Redis.from_url(application.config["REDIS_URL"])
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_two_app_instances_sharing_redis_see_each_others_purges(variant, site):
    prefix = _prefix()
    one, _ = build(variant, PAGE_CACHE_TYPE="", REDIS_URL=REDIS_URL, PAGE_CACHE_KEY_PREFIX=prefix)
    two, rendered_two = build(
        variant, PAGE_CACHE_TYPE="", REDIS_URL=REDIS_URL, PAGE_CACHE_KEY_PREFIX=prefix
    )
    try:
        assert type(get_page_cache(one).backend).__name__ == "PageRedisCache"
        first = get(one.test_client(), "/posts/alpha")
        assert state(first) == "miss"
        # The other instance is served what the first one stored.
        count = len(rendered_two)
        assert get(two.test_client(), "/posts/alpha").data == first.data
        assert len(rendered_two) == count
        with one.app_context():
            post = db.session.get(Post, site["a"].id)
            post.title = "Renamed on host one"
            db.session.commit()
            db.session.remove()
        response = get(two.test_client(), "/posts/alpha")
        assert state(response) == "miss"
        assert "Renamed on host one" in response.get_data(as_text=True)
    finally:
        _clean_redis(one)


# --- figures kept like pages ----------------------------------------------------------------


@contextlib.contextmanager
def count_queries():
    """Collect the SQL statements run inside the block."""
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_kept_counts_follow_publishing_trashing_and_the_clock(cached, site):
    tag_scope = Scope("tag", site["tag"].id)
    assert count_visible(ALL) == 4
    assert count_visible(tag_scope) == 1
    # A second read comes from the store: the database is not asked.
    with count_queries() as queries:
        assert count_visible(ALL) == 4
    assert queries == []
    # Publishing one more (through the ORM: the purge runs after the commit).
    make_post(site["writer"], title="Epsilon", tags=[site["tag"]])
    assert count_visible(ALL) == 5
    assert count_visible(tag_scope) == 2
    # Trashing one.
    site["b"].status = PostStatus.TRASHED
    db.session.commit()
    assert count_visible(ALL) == 4
    # A post scheduled two seconds ahead is counted from its time on, with no write.
    make_post(site["writer"], title="Later", published_at=utcnow() + timedelta(seconds=2))
    assert count_visible(ALL) == 4
    time.sleep(2.2)
    assert count_visible(ALL) == 5


def test_kept_related_posts_follow_tags_visibility_and_the_clock(cached, site):
    application, _ = cached
    writer, news = site["writer"], site["tag"]
    other = make_tag("Other")

    def related_titles(post) -> list[str]:
        with application.test_request_context():
            return [card.title for card in related(post)]

    assert related_titles(site["a"]) == []
    # A second read of the same post's related ids comes from the store.
    related_titles(site["a"])
    with count_queries() as queries:
        related_titles(site["a"])
    assert not any("post_tags.tag_id" in statement for statement in queries)
    # A new post with the tag, a tag added to another, one tag removed, one trashed.
    make_post(writer, title="Newer news", tags=[news])
    assert related_titles(site["a"]) == ["Newer news"]
    site["b"].tags.append(news)
    db.session.commit()
    assert related_titles(site["a"]) == ["Newer news", "Beta"]
    site["b"].tags.remove(news)
    site["b"].tags.append(other)
    db.session.commit()
    assert related_titles(site["a"]) == ["Newer news"]
    db.session.execute(
        select(Post).where(Post.title == "Newer news")
    ).scalar_one().status = PostStatus.TRASHED
    db.session.commit()
    assert related_titles(site["a"]) == []
    # A post scheduled two seconds ahead is related from its time on, with no write.
    make_post(writer, title="Later news", tags=[news], published_at=utcnow() + timedelta(seconds=2))
    assert related_titles(site["a"]) == []
    time.sleep(2.2)
    assert related_titles(site["a"]) == ["Later news"]


def publish_unseen(site, title: str) -> None:
    """Publish a post on a connection of its own: no purge (an import on another host)."""
    with db.engine.begin() as conn:
        conn.execute(
            Post.__table__.insert().values(
                title=title, slug=title.lower(), status=PostStatus.PUBLISHED,
                published_at=utcnow() - timedelta(minutes=1), author_id=site["writer"].id,
            )
        )  # fmt: skip


def test_a_workers_copy_of_a_kept_count_holds_until_any_purge_anywhere(cached, site):
    application, _ = cached
    cache = get_page_cache(application)
    assert count_visible(ALL) == 4  # counted and stored
    assert count_visible(ALL) == 4  # checked against the store: now this worker's copy
    kept = cache.local.keys()
    [mkey] = [key for key in kept if key.startswith(MEMO_PREFIX)]
    # Its cost in the worker's budget is its pickled size (a nested figure counts whole).
    copy = cache.local.find(mkey)
    assert copy["size"] == len(pickle.dumps(copy["value"], pickle.HIGHEST_PROTOCOL))
    # The store loses the count behind this worker's back: the copy still answers.
    cache.backend.delete(mkey)
    with count_queries() as queries:
        assert count_visible(ALL) == 4
    assert queries == []
    # A post appears without this app knowing (another host's import), then anyone anywhere
    # purges: the copy is not trusted any more, the count is made again.
    publish_unseen(site, "Elsewhere")
    PageCache(cache.backend, application.config).purge(["tag:999999"])
    db.session.remove()  # a new request reads the database as it is now
    assert count_visible(ALL) == 5


def test_a_count_checked_during_a_purge_is_not_kept_past_it(cached, site):
    """The purge's version keys land after "last": a count checked in between still matches
    the old versions; the copy it leaves must not outlive the purge."""
    application, _ = cached
    cache = get_page_cache(application)
    assert count_visible(ALL) == 4
    publish_unseen(site, "Imported")
    backend = cache.backend
    write_versions = backend.set_many
    during = []

    def versions_written_late(mapping, timeout=None):
        during.append(count_visible(ALL))
        return write_versions(mapping, timeout=timeout)

    backend.set_many = versions_written_late
    try:
        PageCache(backend, application.config).purge(["posts"])
    finally:
        backend.set_many = write_versions
    assert during == [4]
    db.session.remove()  # a new request reads the database as it is now
    assert count_visible(ALL) == 5


def test_a_page_drawn_during_a_purge_with_a_kept_figure_is_not_served_after_it(cached, site):
    """Between a purge's "last" and its version keys, this worker checks post A's related
    posts (old versions: they match). A page drawn after the version keys landed uses that
    figure; it must not be stored as fresh, or it would be served once the purge has ended."""
    application, _ = cached
    client, url = post_a_kept(application, site)
    post_a = site["a"].id
    # A related post appears where this app does not see it (another host), then that host
    # purges "posts" (as its commit would).
    publish_unseen(site, "Unseennews")
    with db.engine.begin() as conn:
        found = conn.execute(select(Post.id).where(Post.slug == "unseennews")).scalar_one()
        conn.execute(post_tags.insert().values(post_id=found, tag_id=site["tag"].id))
    db.session.remove()
    backend = get_page_cache(application).backend
    write_versions = backend.set_many

    def versions_written_late(mapping, timeout=None):
        with application.test_request_context():
            shown = related(db.session.get(Post, post_a))
            assert [card.title for card in shown] == []  # still matches
        result = write_versions(mapping, timeout=timeout)
        # Drawn now: the page's own versions are new, its related posts are not.
        assert "Unseennews" not in client.get(url).get_data(as_text=True)
        return result

    backend.set_many = versions_written_late
    try:
        PageCache(backend, application.config).purge(["posts"])
    finally:
        backend.set_many = write_versions
    db.session.remove()
    assert "Unseennews" in client.get(url).get_data(as_text=True)
    assert "Unseennews" in client.get(url).get_data(as_text=True)


def test_a_purge_whose_write_fails_leaves_every_hit_to_check_its_versions(cached, site):
    """The backends report a failed write instead of raising: then "last" is removed, so no
    hit and no worker's copy trusts a value the purge may not have finished with."""
    application, _ = cached
    client, url = post_a_kept(application, site)
    backend = get_page_cache(application).backend
    write = backend.set

    def last_write_fails(key, value, *args, **kwargs):
        # The purge's second write of "last" fails (a full disk, say).
        if key == LAST_KEY:
            written.append(key)
            if len(written) == 2:
                return False
        return write(key, value, *args, **kwargs)

    written = []
    backend.set = last_write_fails
    try:
        PageCache(backend, application.config).purge([f"post:{site['a'].id}"])
    finally:
        backend.set = write
    assert backend.get(LAST_KEY) is None
    # The page showed post A: its versions say it is stale, so it is drawn again.
    assert state(client.get(url)) == "miss"
    assert state(client.get(url)) == "hit"
    assert backend.get(LAST_KEY) is not None


def post_a_kept(application, site):
    """Ask for post A twice (the second is a hit); return the client and its address."""
    client = application.test_client()
    url = f"/posts/{site['a'].slug}"
    client.get(url)
    assert state(client.get(url)) == "hit"
    return client, url


def test_a_workers_copy_serves_its_hits_until_any_purge_anywhere(cached, site):
    application, rendered = cached
    client, url = post_a_kept(application, site)
    cache = get_page_cache(application)
    [ekey] = cache.local.keys()
    # The store loses the page behind this worker's back: its own copy still answers.
    cache.backend.delete(ekey)
    renders = rendered.count("public/post.html")
    assert state(client.get(url)) == "hit"
    assert rendered.count("public/post.html") == renders
    # Another worker (another process or host sharing the store) purges anything: the copy
    # is no longer trusted, the store has nothing, the page is drawn again.
    PageCache(cache.backend, application.config).purge(["tag:999999"])
    assert state(client.get(url)) == "miss"
    assert rendered.count("public/post.html") == renders + 1
    assert state(client.get(url)) == "hit"
    # An expired copy is not served either.
    cache.backend.delete(ekey)
    cache.local.find(ekey)["expires"] = time.time() - 1
    assert state(client.get(url)) == "miss"


@pytest.mark.parametrize("copies", ["4", "0"])
def test_a_hit_during_a_purge_never_vouches_for_the_page_afterwards(variant, copies):
    """Another worker's purge writes "last", then the version keys. A hit in between finds
    the old versions still matching; it may serve the page (the purge has not finished), but
    once the purge has, no hit may take the page as checked against the new "last"."""
    application, rendered = build(variant, PAGE_CACHE_LOCAL_MIB=copies)
    with application.app_context():
        writer = make_user("race@example.com", roles=("editor",))
        post = make_post(writer, title="Race")
        client = application.test_client()
        url = f"/posts/{post.slug}"
        client.get(url)
        assert state(client.get(url)) == "hit"
        backend = get_page_cache(application).backend
        write_versions = backend.set_many
        during = []

        def versions_written_late(mapping, timeout=None):
            # This worker's hit lands after "last" changed, before the version keys did.
            during.append(state(client.get(url)))
            return write_versions(mapping, timeout=timeout)

        backend.set_many = versions_written_late
        try:
            PageCache(backend, application.config).purge([f"post:{post.id}"])
        finally:
            backend.set_many = write_versions
        assert during == ["hit"]
        renders = rendered.count("public/post.html")
        assert state(client.get(url)) == "miss"
        assert rendered.count("public/post.html") == renders + 1
        db.session.remove()


def test_without_copies_every_hit_reads_the_store(variant):
    application, _ = build(variant, PAGE_CACHE_LOCAL_MIB="0")
    with application.app_context():
        cache = get_page_cache(application)
        assert cache.local is None
        writer = make_user("nocopy@example.com", roles=("editor",))
        post = make_post(writer, title="No copy")
        client = application.test_client()
        client.get(f"/posts/{post.slug}")
        assert state(client.get(f"/posts/{post.slug}")) == "hit"
        db.session.remove()


def test_the_purge_command_makes_every_cached_page_stale(cached, site):
    application, rendered = cached
    client, url = post_a_kept(application, site)
    result = application.test_cli_runner().invoke(args=["cms", "purge-page-cache"])
    assert result.exit_code == 0, result.output
    assert "next request" in result.output
    assert state(client.get(url)) != "hit"
    assert state(client.get(url)) == "hit"


def test_with_the_page_cache_off_pages_render_every_time_and_counts_are_still_kept(variant):
    application, rendered = build(variant, PAGE_CACHE="off")
    with application.app_context():
        writer = make_user("off@example.com", roles=("editor",))
        make_post(writer, title="One")
        client = application.test_client()
        for _ in range(2):
            assert client.get("/").status_code == 200
        assert rendered.count("public/index.html") == 2
        assert count_visible(ALL) == 1
        with count_queries() as queries:
            assert count_visible(ALL) == 1
        assert queries == []
        make_post(writer, title="Two")
        assert count_visible(ALL) == 2
        db.session.remove()
