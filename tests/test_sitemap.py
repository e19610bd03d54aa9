"""The sitemap index and its shards (validated by the sitemaps.org XSDs), and robots.txt."""

import re
from datetime import timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
import xmlschema
from sqlalchemy import event

from cms.extensions import db
from cms.models import Post, PostKind, PostStatus, utcnow
from cms.services import sitemap
from tests.factories import make_post, make_tag, make_user

DATA = Path(__file__).parent / "data"
NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


@pytest.fixture(scope="module")
def schemas():
    """The sitemaps.org schemas of a sitemap and of a sitemap index."""
    return {
        "urlset": xmlschema.XMLSchema(DATA / "sitemap.xsd"),
        "sitemapindex": xmlschema.XMLSchema(DATA / "siteindex.xsd"),
    }


@pytest.fixture
def writer(ctx):
    """An editor."""
    return make_user("mapper@example.com", roles=("editor",))


@pytest.fixture
def small_shards(app, monkeypatch):
    """Shards of two addresses, so a few posts make several."""
    monkeypatch.setitem(app.config, "SITEMAP_SHARD_SIZE", 2)


def fetch(client, schemas, url):
    """GET a sitemap document, validate it against its schema, return {loc: lastmod}."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert "Set-Cookie" not in response.headers
    body = response.get_data()
    root = ElementTree.fromstring(body)  # noqa: S314  (our own answer)
    kind = root.tag.split("}", 1)[1]
    schemas[kind].validate(body.decode())
    child = "s:url" if kind == "urlset" else "s:sitemap"
    found = {}
    for item in root.findall(child, NS):
        lastmod = item.find("s:lastmod", NS)
        found[item.find("s:loc", NS).text] = lastmod.text if lastmod is not None else None
    return found


def everything(client, schemas) -> dict[str, str]:
    """Follow the index through every shard; return every listed address with its lastmod."""
    found = {}
    for shard in fetch(client, schemas, "/sitemap.xml"):
        urls = fetch(client, schemas, shard.removeprefix("http://localhost"))
        assert len(urls) <= sitemap.shard_size()
        assert not set(urls) & set(found), "an address in two shards"
        found.update(urls)
    return found


def w3c(when) -> str:
    """Return a stored time as the sitemap writes it."""
    return when.replace(microsecond=0).isoformat() + "+00:00"


def test_only_what_readers_see_and_engines_may_index(client, schemas, writer, small_shards):
    now = utcnow()
    shown = [make_post(writer, title=f"Shown {n}") for n in range(5)]
    make_post(writer, title="Draft", status=PostStatus.DRAFT)
    make_post(writer, title="Review", status=PostStatus.REVIEW)
    make_post(writer, title="Scheduled", published_at=now + timedelta(days=1))
    make_post(writer, title="Trashed", status=PostStatus.TRASHED, published_at=now)
    make_post(writer, title="Expired", unpublish_at=now - timedelta(minutes=1))
    make_post(writer, title="Hidden from engines", noindex=True)
    make_post(writer, title="Elsewhere", canonical_url="https://other.example.org/original")
    make_post(writer, title="Odd canonical", canonical_url="javascript:alert(1)")
    make_post(writer, title="Self", canonical_url="http://localhost/posts/self")
    page = make_post(writer, title="About", kind=PostKind.PAGE)
    make_post(writer, title="Secret page", kind=PostKind.PAGE, noindex=True)
    make_post(writer, title="Draft page", kind=PostKind.PAGE, status=PostStatus.DRAFT)
    found = everything(client, schemas)
    expected = {f"http://localhost/posts/{post.slug}" for post in shown}
    expected |= {"http://localhost/posts/odd-canonical", "http://localhost/posts/self"}
    expected |= {"http://localhost/", f"http://localhost/{page.slug}"}
    expected.add(f"http://localhost/authors/{writer.slug}")
    assert set(found) == expected
    stored = db.session.get(Post, shown[0].id)
    assert found[f"http://localhost/posts/{stored.slug}"] == w3c(stored.updated_at)


def test_shards_are_id_ranges_listed_by_the_index(client, schemas, writer, small_shards):
    posts = [make_post(writer, title=f"Post {n}") for n in range(5)]
    index = fetch(client, schemas, "/sitemap.xml")
    post_shards = sorted(url for url in index if "sitemap-posts-" in url)
    assert post_shards == [f"http://localhost/sitemap-posts-{n}.xml" for n in (1, 2, 3)]
    first = fetch(client, schemas, "/sitemap-posts-1.xml")
    assert list(first) == [f"http://localhost/posts/{post.slug}" for post in posts[:2]]
    # A range whose posts all went away is left out of the index and answers 404.
    for post in posts[2:4]:
        post.status = PostStatus.DRAFT
    db.session.commit()
    index = fetch(client, schemas, "/sitemap.xml")
    assert "http://localhost/sitemap-posts-2.xml" not in index
    assert client.get("/sitemap-posts-2.xml").status_code == 404
    for url in ("/sitemap-posts-9.xml", "/sitemap-posts-0.xml", "/sitemap-other-1.xml"):
        assert client.get(url).status_code == 404, url


def test_no_offset_at_any_depth(app, client, writer, small_shards):
    for n in range(7):
        make_post(writer, title=f"Deep {n}")
    statements = []

    def keep(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", keep)
    try:
        for url in ("/sitemap.xml", "/sitemap-posts-4.xml", "/sitemap-tags-1.xml"):
            client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert statements
    assert not [sql for sql in statements if re.search(r"\bOFFSET\b", sql, re.IGNORECASE)]


def test_tags_and_authors_only_with_a_visible_post(client, schemas, writer):
    garden = make_tag("Garden")
    hidden = make_tag("Hidden")
    make_tag("Unused")
    idle = make_user("idle@example.com", roles=("author",))
    older = make_post(writer, title="Older", tags=[garden], published_at=utcnow() - timedelta(2))
    newer = make_post(writer, title="Newer", tags=[garden])
    make_post(idle, title="Idle draft", tags=[hidden], status=PostStatus.DRAFT)
    found = everything(client, schemas)
    assert "http://localhost/tags/garden" in found
    assert "http://localhost/tags/hidden" not in found
    assert "http://localhost/tags/unused" not in found
    assert f"http://localhost/authors/{idle.slug}" not in found
    # A list's lastmod is its newest visible post's last change.
    newest = max(
        db.session.get(Post, newer.id).updated_at, db.session.get(Post, older.id).updated_at
    )
    assert found["http://localhost/tags/garden"] == w3c(newest)
    assert found[f"http://localhost/authors/{writer.slug}"] == w3c(newest)


def test_a_scheduled_post_enters_at_its_time_with_its_publication_as_lastmod(
    client, schemas, writer, monkeypatch
):
    publish_at = (utcnow() + timedelta(hours=2)).replace(microsecond=0)
    post = make_post(writer, title="Soon", published_at=publish_at)
    assert "http://localhost/posts/soon" not in everything(client, schemas)
    later = publish_at + timedelta(hours=1)
    monkeypatch.setattr("cms.services.visibility.utcnow", lambda: later)
    found = everything(client, schemas)
    # Written before it went out: what readers first saw changed at its publication time.
    assert db.session.get(Post, post.id).updated_at < publish_at
    assert found["http://localhost/posts/soon"] == w3c(publish_at)


def test_the_sitemap_answers_conditional_gets(client, writer):
    make_post(writer, title="Mapped")
    first = client.get("/sitemap.xml")
    for headers in (
        {"If-None-Match": first.headers["ETag"]},
        {"If-Modified-Since": first.headers["Last-Modified"]},
    ):
        again = client.get("/sitemap.xml", headers=headers)
        assert again.status_code == 304
        assert again.get_data() == b""


def test_an_empty_site_still_has_a_valid_sitemap(client, schemas, ctx):
    assert everything(client, schemas) == {"http://localhost/": None}


def test_shards_never_exceed_the_protocol_limit(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "SITEMAP_SHARD_SIZE", 10**6)
    assert sitemap.shard_size() == 50_000
    monkeypatch.setitem(app.config, "SITEMAP_SHARD_SIZE", 0)
    assert sitemap.shard_size() == 1


def test_robots_txt_closes_the_dashboard_and_names_the_sitemap(app, client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "User-agent: *"
    for path in ("/admin", "/account", "/de/admin", "/de/account"):
        assert f"Disallow: {path}" in lines
    assert "Disallow: /" not in lines
    assert "Sitemap: http://localhost/sitemap.xml" in lines


def test_a_staging_site_disallows_everything(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "ROBOTS_DISALLOW_ALL", True)
    lines = client.get("/robots.txt").get_data(as_text=True).splitlines()
    assert "Disallow: /" in lines
    assert "Disallow: /admin" not in lines
