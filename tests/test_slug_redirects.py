"""Old addresses of published posts and pages answer 301 to the current one."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from cms.extensions import db
from cms.models import Post, PostKind, PostStatus, SlugRedirect, utcnow
from tests.factories import make_post, make_user


@pytest.fixture
def author(ctx):
    """An editor who renames things."""
    return make_user("renamer@example.com", roles=("editor",))


@pytest.fixture
def clock(monkeypatch):
    """Set the time readers live in, without sleeping."""

    def set_time(moment):
        monkeypatch.setattr("cms.services.posts.utcnow", lambda: moment)
        monkeypatch.setattr("cms.services.visibility.utcnow", lambda: moment)
        monkeypatch.setattr("cms.models.content.utcnow", lambda: moment)

    return set_time


@contextmanager
def statements():
    """Collect the SQL statements run inside the block."""
    seen: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def rename(item: Post, slug: str, **fields) -> None:
    """Change an item's slug (and other fields) and commit, as any save does."""
    item.slug = slug
    for name, value in fields.items():
        setattr(item, name, value)
    db.session.commit()


def redirects() -> dict[tuple[str, str], int]:
    """Return every stored redirect as (kind, old slug) -> post id."""
    db.session.expire_all()
    rows = db.session.scalars(select(SlugRedirect))
    return {(row.kind, row.slug): row.post_id for row in rows}


def assert_moved(client, old: str, new: str) -> None:
    """GET the old address: one 301 straight to the new one, which answers 200."""
    response = client.get(old)
    assert response.status_code == 301, (old, response.status_code)
    assert response.headers["Location"] == new, (old, response.headers["Location"])
    assert client.get(new).status_code == 200, new


def test_old_slug_of_a_post_answers_301(app, client, author):
    post = make_post(author, title="First name")
    rename(post, "second-name")
    assert redirects() == {("post", "first-name"): post.id}
    assert_moved(client, "/posts/first-name", "/posts/second-name")
    # Query strings and other paths are not redirects.
    assert client.get("/posts/no-such-name").status_code == 404
    assert client.get("/first-name").status_code == 404


def test_chains_collapse_to_the_current_slug(app, client, author):
    post = make_post(author, title="Alpha")
    rename(post, "beta")
    rename(post, "gamma")
    assert redirects() == {("post", "alpha"): post.id, ("post", "beta"): post.id}
    assert_moved(client, "/posts/alpha", "/posts/gamma")
    assert_moved(client, "/posts/beta", "/posts/gamma")


def test_going_back_to_an_old_slug_removes_its_redirect(app, client, author):
    post = make_post(author, title="Original")
    rename(post, "changed")
    rename(post, "original")
    assert redirects() == {("post", "changed"): post.id}
    assert client.get("/posts/original").status_code == 200
    assert_moved(client, "/posts/changed", "/posts/original")


def test_a_live_post_taking_an_old_slug_wins(app, client, author):
    first = make_post(author, title="Shared name", body="The first one.")
    rename(first, "first-renamed")
    second = make_post(author, title="Other", body="The second one.")
    rename(second, "shared-name")
    assert ("post", "shared-name") not in redirects()
    response = client.get("/posts/shared-name")
    assert response.status_code == 200
    assert "The second one." in response.get_data(as_text=True)
    # A brand-new post made with that slug wins too.
    rename(second, "second-renamed")
    assert redirects()[("post", "shared-name")] == second.id
    third = make_post(author, title="Shared name", body="The third one.")
    assert third.slug == "shared-name"
    assert ("post", "shared-name") not in redirects()
    assert "The third one." in client.get("/posts/shared-name").get_data(as_text=True)


def test_drafts_leave_no_redirect(app, client, author):
    draft = make_post(author, title="Draft title", status=PostStatus.DRAFT)
    rename(draft, "draft-renamed")
    assert redirects() == {}
    assert client.get("/posts/draft-title").status_code == 404


def test_a_redirect_to_an_item_readers_cannot_see_is_a_404(app, client, author, clock):
    post = make_post(author, title="Was public")
    rename(post, "now-hidden")
    assert client.get("/posts/was-public").status_code == 301
    # Unpublished: the old address no longer tells anything either.
    post.status = PostStatus.DRAFT
    db.session.commit()
    assert client.get("/posts/was-public").status_code == 404
    assert client.get("/posts/now-hidden").status_code == 404
    # Published again but scheduled for later: 404 until its time, then 301.
    later = utcnow().replace(microsecond=0) + timedelta(hours=1)
    post.status = PostStatus.PUBLISHED
    post.published_at = later
    db.session.commit()
    clock(later - timedelta(seconds=1))
    assert client.get("/posts/was-public").status_code == 404
    clock(later)
    assert_moved(client, "/posts/was-public", "/posts/now-hidden")
    # Expired: gone again.
    post.unpublish_at = later + timedelta(minutes=5)
    db.session.commit()
    clock(later + timedelta(minutes=5))
    assert client.get("/posts/was-public").status_code == 404


def test_renaming_while_unpublishing_keeps_the_old_address(app, client, author):
    """The item was public before this save, so its address was out there."""
    post = make_post(author, title="Going away")
    rename(post, "went-away", status=PostStatus.DRAFT)
    assert redirects() == {("post", "going-away"): post.id}


def test_renaming_an_expired_object_still_records(app, client, author):
    """The old slug is found even when it was not loaded before the change."""
    post = make_post(author, title="Not loaded")
    ident = post.id
    db.session.expire_all()
    fresh = db.session.get(Post, ident)
    db.session.expire(fresh, ["slug"])
    fresh.slug = "loaded-later"
    db.session.commit()
    assert redirects() == {("post", "not-loaded"): ident}


def test_page_slugs_redirect_at_the_top_level(app, client, author):
    page = make_post(author, title="About", kind=PostKind.PAGE)
    rename(page, "about-us")
    rename(page, "who-we-are")
    assert redirects() == {("page", "about"): page.id, ("page", "about-us"): page.id}
    assert_moved(client, "/about", "/who-we-are")
    assert_moved(client, "/about-us", "/who-we-are")
    # A page's old slug is no post address.
    assert client.get("/posts/about").status_code == 404


def test_post_and_page_redirects_are_separate(app, client, author):
    post = make_post(author, title="News")
    rename(post, "news-archive")
    # A page taking "news" does not remove the post's old address /posts/news.
    page = make_post(author, title="News", kind=PostKind.PAGE)
    assert page.slug == "news"
    assert_moved(client, "/posts/news", "/posts/news-archive")
    assert client.get("/news").status_code == 200


def test_a_post_turned_into_a_page_moves_to_the_top_level(app, client, author):
    item = make_post(author, title="Imprint")
    item.kind = PostKind.PAGE
    db.session.commit()
    assert redirects() == {("post", "imprint"): item.id}
    assert_moved(client, "/posts/imprint", "/imprint")


def test_lookups_happen_only_when_no_post_has_the_slug(app, client, author):
    """The normal post page runs no redirect query; the 404 path runs one."""
    post = make_post(author, title="Busy page")
    rename(post, "busy-page-2")
    with statements() as seen:
        assert client.get("/posts/busy-page-2").status_code == 200
    assert not [s for s in seen if "slug_redirect" in s]
    post_queries = len(seen)
    with statements() as seen:
        assert client.get("/posts/busy-page").status_code == 301
    assert len([s for s in seen if "slug_redirect" in s]) == 1
    with statements() as seen:
        assert client.get("/posts/nothing-here").status_code == 404
    assert len([s for s in seen if "slug_redirect" in s]) == 1
    # Redirect rows do not change what the normal page costs.
    url = f"/posts/{make_post(author, title='Quiet page').slug}"
    with statements() as seen:
        assert client.get(url).status_code == 200
    assert len(seen) == post_queries
