"""Atom and RSS 2.0 feeds of what readers may see now: the whole site, one tag, one author.

Built with feedgen. Entry ids are tag: URIs made of the site's host, the post's creation date
and its id, so they survive edits of the title and slug. Every text is stripped of the
characters XML 1.0 forbids, so no title or body can break a feed.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import current_app, url_for
from flask_babel import get_locale
from sqlalchemy import select

from cms.extensions import db
from cms.models import Post, Tag, User
from cms.services.posts import visible_posts
from cms.services.seo import public_url

if TYPE_CHECKING:
    from feedgen.feed import FeedGenerator

# Characters XML 1.0 does not allow (lone surrogates included); they are dropped.
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Root-relative addresses in a body (href="/posts/x", src="/uploads/y"): made absolute, since
# feed readers show the body away from the site.
RELATIVE_ATTRIBUTE = re.compile(r'\b(href|src|poster)="(/(?!/)[^"]*)"')
SRCSET_ATTRIBUTE = re.compile(r'\bsrcset="([^"]*)"')
# The feed's "updated" time when it has no entries: fixed, so its ETag stays the same.
EMPTY_FEED_TIME = datetime(2000, 1, 1, tzinfo=UTC)
FORMATS = ("atom", "rss")
ATOM_MIMETYPE = "application/atom+xml"
RSS_MIMETYPE = "application/rss+xml"
# An author's page is found by slug or, for people without one, by id.
NUMBER = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class FeedInfo:
    """What a feed says about itself: its title, description and addresses (absolute)."""

    title: str
    description: str
    page_url: str
    self_url: str


def xml_text(value: str | None) -> str:
    """Return text with the characters XML forbids removed."""
    return XML_ILLEGAL.sub("", value or "")


def utc(when: datetime) -> datetime:
    """Return a stored (naive, UTC) time as an aware one, to the second."""
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).replace(microsecond=0)


def last_change(post: Post) -> datetime:
    """Return when readers last saw the post change: its edit, or its publication if later."""
    times = [when for when in (post.updated_at, post.published_at) if when is not None]
    return max(times)


def newest_change(posts) -> datetime | None:
    """Return the latest change readers can see among posts; None for no posts."""
    return max((last_change(post) for post in posts), default=None)


def site_origin() -> str:
    """Return the site's scheme and host, e.g. https://example.org (SITE_URL aware)."""
    parts = urlsplit(url_for("public.index", _external=True))
    return f"{parts.scheme}://{parts.netloc}"


def entry_id(post: Post) -> str:
    """Return the post's permanent feed id (RFC 4151): unchanged by edits of title or slug."""
    host = urlsplit(url_for("public.index", _external=True)).hostname or "localhost"
    return f"tag:{host},{post.created_at:%Y-%m-%d}:post-{post.id}"


def absolute_links(html: str, origin: str) -> str:
    """Return body HTML whose root-relative addresses name the site's origin."""

    def attribute(match: re.Match) -> str:
        return f'{match.group(1)}="{origin}{match.group(2)}"'

    def srcset(match: re.Match) -> str:
        candidates = []
        for candidate in match.group(1).split(","):
            candidate = candidate.strip()
            if candidate.startswith("/") and not candidate.startswith("//"):
                candidate = origin + candidate
            candidates.append(candidate)
        return 'srcset="' + ", ".join(candidates) + '"'

    return SRCSET_ATTRIBUTE.sub(srcset, RELATIVE_ATTRIBUTE.sub(attribute, html))


def feed_limit() -> int:
    """Return how many posts a feed lists (FEED_ITEMS, at least 1)."""
    return max(1, int(current_app.config.get("FEED_ITEMS", 20)))


def full_content() -> bool:
    """Return whether feeds carry whole bodies (FEED_CONTENT = "full") or excerpts only."""
    return current_app.config.get("FEED_CONTENT", "full") != "excerpt"


def latest_posts(condition=None) -> list[Post]:
    """Return the newest posts readers may see now, optionally narrowed by a condition."""
    query = visible_posts()
    if condition is not None:
        query = query.where(condition)
    return list(db.session.scalars(query.limit(feed_limit())))


def find_tag(slug: str) -> Tag | None:
    """Return the tag with this slug, if any."""
    return db.session.scalars(select(Tag).where(Tag.slug == slug)).first()


def find_author(key: str) -> User | None:
    """Return the person whose public key (slug, or id for people without one) this is."""
    person = db.session.scalars(select(User).where(User.slug == key)).first()
    if person is None and NUMBER.fullmatch(key):
        person = db.session.get(User, int(key))
    return person


def _add_entry(feed: "FeedGenerator", post: Post, origin: str, full: bool) -> None:
    """Add one post to the feed (feedgen keeps entries in the order they are added)."""
    entry = feed.add_entry(order="append")
    entry.id(entry_id(post))
    entry.guid(entry_id(post), permalink=False)
    entry.title(xml_text(post.title))
    entry.link(href=public_url(post), rel="alternate", type="text/html")
    entry.published(utc(post.published_at))
    entry.updated(utc(last_change(post)))
    author_url = url_for(
        "public.author", key=post.author.slug or str(post.author.id), _external=True
    )
    name = xml_text(post.author.name)
    # No e-mail address: feeds are public.
    entry.author(name=name, uri=author_url)
    entry.dc.dc_creator(name)
    for tag in post.tags:
        entry.category(
            term=xml_text(tag.slug),
            label=xml_text(tag.name),
            scheme=url_for("public.tag", slug=tag.slug, _external=True),
        )
    # The excerpt is Atom's summary and RSS's description; the body, when feeds carry it,
    # is Atom's content and RSS's content:encoded.
    summary = xml_text(post.excerpt)
    if summary or not full:
        entry.summary(summary or xml_text(post.title))
    if full:
        entry.content(xml_text(absolute_links(post.body_html or "", origin)), type="html")


def build_feed(info: FeedInfo, posts: list[Post], fmt: str) -> bytes:
    """Return the feed of these posts (newest first) as Atom or RSS 2.0, UTF-8 encoded."""
    # Memory: feedgen and lxml (~6 MiB) load in the workers that build a feed, not in all.
    from feedgen.feed import FeedGenerator

    feed = FeedGenerator()
    feed.load_extension("dc", atom=False, rss=True)
    feed.id(info.page_url)
    feed.title(xml_text(info.title))
    feed.description(xml_text(info.description) or xml_text(info.title))
    # Self first: feedgen takes the RSS channel's <link> from the last one given.
    feed.link(href=info.self_url, rel="self")
    feed.link(href=info.page_url, rel="alternate", type="text/html")
    # The site's short language code ("de"), not Babel's catalog name ("de_DE").
    locale = get_locale()
    feed.language(locale.language if locale else current_app.config["BABEL_DEFAULT_LOCALE"])
    feed.generator(xml_text(current_app.config.get("SITE_NAME", "")) or "cms")
    # Fixed times (never "now"), so an unchanged feed is byte for byte the same.
    newest = newest_change(posts)
    updated = utc(newest) if newest else EMPTY_FEED_TIME
    feed.updated(updated)
    feed.lastBuildDate(updated)
    origin = site_origin()
    full = full_content()
    for post in posts:
        _add_entry(feed, post, origin, full)
    if fmt == "rss":
        return feed.rss_str(pretty=False, encoding="UTF-8")
    return feed.atom_str(pretty=False, encoding="UTF-8")
