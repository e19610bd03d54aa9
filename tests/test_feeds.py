"""Atom and RSS feeds: what readers may see now, stable ids, hostile text, conditional GET."""

from datetime import timedelta

import feedparser
import pytest
from flask import request_finished
from markupsafe import escape

from cms.extensions import db
from cms.models import Post, PostKind, PostStatus, utcnow
from cms.services import page_deps
from tests.factories import make_post, make_tag, make_user

ATOM = "application/atom+xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
FORMATS = [("", ATOM), ("/rss", RSS)]
# Text no feed may choke on: XML-illegal control characters, a CDATA end, a script end tag,
# markup, an emoji and right-to-left script.
HOSTILE = "Bad \x01\x08\x0b\x0c\x1f\ufffe ]]> </script><script>alert(1)</script> & 🙂 שלום"
CLEAN = "Bad  ]]> </script><script>alert(1)</script> & 🙂 שלום"


def parse(response):
    """Parse a feed answer; fail on anything feedparser found wrong (bozo)."""
    assert response.status_code == 200, response.status_code
    parsed = feedparser.parse(response.get_data())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


def titles(parsed) -> list[str]:
    """Return the entry titles of a parsed feed, in order."""
    return [entry.title for entry in parsed.entries]


@pytest.fixture
def writer(ctx):
    """An editor with a public page."""
    return make_user("writer@example.com", roles=("editor",), display_name="Wren Writer")


@pytest.fixture
def recorded(app):
    """Collect what each request recorded for the page cache (cms.services.page_deps)."""
    found = []

    def keep(sender, response, **extra):
        found.append(page_deps.recorded())

    request_finished.connect(keep, app)
    yield found
    request_finished.disconnect(keep, app)


@pytest.mark.parametrize("suffix, content_type", FORMATS)
def test_the_site_feed_lists_only_what_readers_see(app, client, writer, suffix, content_type):
    now = utcnow()
    make_post(writer, title="Older", published_at=now - timedelta(days=2))
    make_post(writer, title="Newer", published_at=now - timedelta(days=1))
    make_post(writer, title="Draft", status=PostStatus.DRAFT)
    make_post(writer, title="In review", status=PostStatus.REVIEW)
    make_post(writer, title="Scheduled", published_at=now + timedelta(days=1))
    make_post(writer, title="Trashed", status=PostStatus.TRASHED, published_at=now)
    make_post(writer, title="Expired", unpublish_at=now - timedelta(minutes=1))
    make_post(writer, title="A page", kind=PostKind.PAGE)
    response = client.get(f"/feed{suffix}")
    assert response.headers["Content-Type"] == content_type
    # Anonymous readers get no cookie (a shared cache may keep the feed).
    assert "Set-Cookie" not in response.headers
    parsed = parse(response)
    assert titles(parsed) == ["Newer", "Older"]
    assert parsed.feed.title == app.config["SITE_NAME"]
    assert parsed.feed.link == "http://localhost/"
    entry = parsed.entries[0]
    assert entry.link == "http://localhost/posts/newer"
    assert entry.author == "Wren Writer"
    assert "writer@example.com" not in response.get_data(as_text=True)


@pytest.mark.parametrize("suffix, content_type", FORMATS)
def test_a_scheduled_post_appears_at_its_time_with_no_job(
    client, writer, monkeypatch, suffix, content_type
):
    make_post(writer, title="Now")
    make_post(writer, title="Later", published_at=utcnow() + timedelta(hours=2))
    assert titles(parse(client.get(f"/feed{suffix}"))) == ["Now"]
    later = utcnow() + timedelta(hours=3)
    monkeypatch.setattr("cms.services.visibility.utcnow", lambda: later)
    assert titles(parse(client.get(f"/feed{suffix}"))) == ["Later", "Now"]


@pytest.mark.parametrize("suffix, content_type", FORMATS)
def test_entry_ids_survive_edits_of_title_and_slug(client, writer, suffix, content_type):
    post = make_post(writer, title="First title")
    before = parse(client.get(f"/feed{suffix}")).entries[0].id
    assert before == f"tag:localhost,{post.created_at:%Y-%m-%d}:post-{post.id}"
    post.title = "A new title"
    post.slug = "a-new-address"
    post.body_md = "Rewritten."
    db.session.commit()
    entry = parse(client.get(f"/feed{suffix}")).entries[0]
    assert entry.id == before
    assert entry.title == "A new title"
    assert entry.link == "http://localhost/posts/a-new-address"


@pytest.mark.parametrize("suffix, content_type", FORMATS)
def test_hostile_text_is_cleaned_and_escaped(client, writer, suffix, content_type):
    writer.display_name = f"Name {HOSTILE}"
    tag = make_tag(f"Tag {HOSTILE}"[:60])
    post = make_post(writer, title=f"Title {HOSTILE}", tags=[tag], excerpt=f"Sum {HOSTILE}")
    # Straight into the stored HTML, past the renderer: the feed must cope on its own.
    post.body_html = f"<p>{escape('Body ' + HOSTILE)}</p><p>]]> {HOSTILE[:12]}</p>"
    db.session.commit()
    response = client.get(f"/feed{suffix}")
    parsed = parse(response)
    entry = parsed.entries[0]
    assert entry.title == f"Title {CLEAN}"
    body = entry.content[0].value
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in body
    assert "🙂 שלום" in body and "]]&gt;" in body
    assert "<script" not in body
    assert f"Name {CLEAN}" in (entry.get("author") or "")
    # The script is text of the feed, never markup of it.
    raw = response.get_data(as_text=True)
    assert "<script>" not in raw
    assert "\x01" not in raw and "\x0b" not in raw


def test_tag_feeds_carry_the_tag_and_its_description(client, writer):
    garden = make_tag("Garden")
    garden.description = "Growing things."
    make_tag("Kitchen")
    make_post(writer, title="Tomatoes", tags=[garden])
    make_post(writer, title="Soup", tags=[make_tag("Kitchen")])
    make_post(writer, title="Secret", tags=[garden], status=PostStatus.DRAFT)
    for suffix, content_type in FORMATS:
        response = client.get(f"/tags/garden/feed{suffix}")
        assert response.headers["Content-Type"] == content_type
        parsed = parse(response)
        assert titles(parsed) == ["Tomatoes"]
        assert parsed.feed.subtitle == "Growing things."
        assert parsed.feed.link == "http://localhost/tags/garden"
        assert parsed.entries[0].tags[0].term in ("garden", "Garden")


def test_feeds_of_unknown_or_hidden_tags_and_authors_are_404(client, writer):
    hidden = make_tag("Hidden")
    make_post(writer, title="Only a draft", tags=[hidden], status=PostStatus.DRAFT)
    nobody = make_user("nobody@example.com", roles=("author",))
    for url in (
        "/tags/nothing/feed",
        "/tags/hidden/feed",
        "/tags/hidden/feed/rss",
        "/authors/nobody-at-all/feed",
        f"/authors/{nobody.slug}/feed",
        f"/authors/{writer.slug}/feed",  # only a draft so far
    ):
        assert client.get(url).status_code == 404, url


def test_author_feeds_by_slug_and_by_id(client, writer):
    other = make_user("other@example.com", roles=("editor",))
    make_post(writer, title="Mine")
    make_post(other, title="Theirs")
    writer_id, writer_slug = writer.id, writer.slug
    for url in (f"/authors/{writer_slug}/feed", f"/authors/{writer_slug}/feed/rss"):
        parsed = parse(client.get(url))
        assert titles(parsed) == ["Mine"]
        assert parsed.feed.link == f"http://localhost/authors/{writer_slug}"
    writer.slug = None
    db.session.commit()
    assert titles(parse(client.get(f"/authors/{writer_id}/feed"))) == ["Mine"]


def test_full_content_or_excerpts_by_setting(app, client, writer, monkeypatch):
    make_post(writer, title="Long", body="The **whole** body. [Home](/) ![x](/uploads/a.png)")
    entry = parse(client.get("/feed")).entries[0]
    body = entry.content[0].value
    assert "<strong>whole</strong>" in body
    # Root-relative links are made absolute: a feed reader shows the body elsewhere.
    assert 'href="http://localhost/"' in body
    assert 'src="http://localhost/uploads/a.png"' in body
    monkeypatch.setitem(app.config, "FEED_CONTENT", "excerpt")
    for suffix, _content_type in FORMATS:
        entry = parse(client.get(f"/feed{suffix}")).entries[0]
        assert "content" not in entry
        assert entry.summary.startswith("The whole body.")


def test_the_number_of_items_is_a_setting(app, client, writer, monkeypatch):
    start = utcnow() - timedelta(days=1)
    for number in range(5):
        make_post(writer, title=f"Post {number}", published_at=start + timedelta(minutes=number))
    monkeypatch.setitem(app.config, "FEED_ITEMS", 3)
    assert titles(parse(client.get("/feed"))) == ["Post 4", "Post 3", "Post 2"]
    assert len(parse(client.get("/feed/rss")).entries) == 3


@pytest.mark.parametrize("suffix, content_type", FORMATS)
def test_conditional_gets_answer_304_with_an_empty_body(client, writer, suffix, content_type):
    post = make_post(writer, title="Cached")
    first = client.get(f"/feed{suffix}")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    # An unchanged feed is byte for byte the same (no "now" in it).
    assert client.get(f"/feed{suffix}").get_data() == first.get_data()
    for headers in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
        again = client.get(f"/feed{suffix}", headers=headers)
        assert again.status_code == 304, headers
        assert again.get_data() == b""
    post.title = "Cached, then edited"
    db.session.commit()
    changed = client.get(f"/feed{suffix}", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


def test_an_empty_feed_is_valid(client, ctx):
    for suffix, _content_type in FORMATS:
        parsed = parse(client.get(f"/feed{suffix}"))
        assert parsed.entries == []


def test_feeds_record_what_they_show(client, writer, recorded):
    tag = make_tag("Garden")
    post = make_post(writer, title="Shown", tags=[tag])
    client.get("/feed")
    names, changed = recorded[-1]
    assert {"posts", "site", f"post:{post.id}", f"author:{writer.id}"} <= names
    stored = db.session.get(Post, post.id)
    assert changed == max(stored.updated_at, stored.published_at)
    client.get("/tags/garden/feed/rss")
    assert f"tag:{tag.id}" in recorded[-1][0]
    client.get(f"/authors/{writer.slug}/feed")
    assert f"author:{writer.id}" in recorded[-1][0]


def test_feed_links_in_the_heads(client, writer):
    tag = make_tag("Garden")
    make_post(writer, title="Linked", tags=[tag])
    page = client.get("/tags/garden").get_data(as_text=True)
    assert 'type="application/atom+xml"' in page
    assert 'href="http://localhost/tags/garden/feed"' in page
    assert 'href="http://localhost/tags/garden/feed/rss"' in page
    page = client.get(f"/authors/{writer.slug}").get_data(as_text=True)
    assert f'href="http://localhost/authors/{writer.slug}/feed"' in page


def test_a_language_prefix_gives_its_own_links_and_the_same_ids(client, writer):
    make_post(writer, title="Both")
    english = parse(client.get("/feed"))
    german = parse(client.get("/de/feed"))
    assert german.feed.language == "de"
    assert german.feed.link == "http://localhost/de/"
    assert german.entries[0].link == "http://localhost/de/posts/both"
    # One post, one id, whichever language a reader subscribed in.
    assert german.entries[0].id == english.entries[0].id
