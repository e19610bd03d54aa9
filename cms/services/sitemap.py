"""The sitemap: an index, and shards of at most SITEMAP_SHARD_SIZE addresses each.

Shards are ranges of ids (shard n of posts holds the posts with ids (n-1)*size+1 .. n*size),
so any shard is one range scan on the primary key, however deep: never OFFSET. A shard lists
what readers may see now and search engines may index: no drafts, posts in review, scheduled,
trashed or expired posts, no `noindex` ones, none whose canonical address lives elsewhere;
tags and authors only while they have a visible post. `lastmod` is the last change readers
can see: an edit, or the publication when that came later.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote
from xml.sax.saxutils import escape

from flask import current_app, url_for
from sqlalchemy import Integer, and_, func, literal, not_, or_, select

from cms.extensions import db
from cms.models import Post, PostKind, Tag, User
from cms.models.content import post_tags
from cms.services import page_cache
from cms.services.visibility import is_visible

SECTIONS = ("posts", "pages", "tags", "authors")
NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"
# The protocol's own limit per file.
MAX_SHARD_SIZE = 50_000


@dataclass(frozen=True)
class Entry:
    """One address of a shard, or one shard of the index."""

    loc: str
    lastmod: datetime | None
    # The post, tag or author shown (its page-cache dependency name); empty for the index.
    dep: str = ""


def shard_size() -> int:
    """Return the number of addresses per shard (SITEMAP_SHARD_SIZE, 1 .. 50,000)."""
    size = int(current_app.config.get("SITEMAP_SHARD_SIZE", MAX_SHARD_SIZE))
    return min(max(size, 1), MAX_SHARD_SIZE)


def w3c_datetime(when: datetime) -> str:
    """Return a stored UTC time as a W3C datetime, to the second."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).replace(microsecond=0).isoformat()


def _latest(*times: datetime | None) -> datetime | None:
    """Return the latest of some times, ignoring missing ones."""
    return max((when for when in times if when is not None), default=None)


def _address_template(endpoint: str, arg: str) -> tuple[str, str]:
    """Return the absolute address of an endpoint split around its one argument.

    url_for once per shard instead of once per address: 50,000 calls would cost seconds.
    """
    marker = "cmsslugmarker"
    url = url_for(endpoint, _external=True, **{arg: marker})
    before, _, after = url.partition(marker)
    return before, after


def indexable(kind: str):
    """Return the SQL condition for the posts (or pages) a sitemap lists."""
    endpoint = "public.page" if kind == PostKind.PAGE else "public.post"
    before, after = _address_template(endpoint, "slug")
    own_address = literal(before) + Post.slug + literal(after)
    return and_(
        is_visible(kind),
        Post.noindex.is_(False),
        # A post whose canonical address is elsewhere is that address's page, not ours.
        or_(
            Post.canonical_url == "",
            not_(Post.canonical_url.like("http%")),
            Post.canonical_url == own_address,
        ),
    )


def _bounds(number: int, size: int) -> tuple[int, int]:
    """Return the first and last id of shard `number`."""
    return (number - 1) * size + 1, number * size


def _shard_of(column, size: int):
    """Return the SQL expression of an id's shard, counted from 0 (integer division).

    The numbers are written into the SQL, so GROUP BY repeats the very same expression
    (PostgreSQL refuses a GROUP BY whose bound parameters differ from the SELECT's).
    """
    one = literal(1, type_=Integer, literal_execute=True)
    return (column - one) // literal(size, type_=Integer, literal_execute=True)


def _post_shards(kind: str, size: int) -> dict[int, datetime | None]:
    rows = db.session.execute(
        select(_shard_of(Post.id, size), func.max(Post.updated_at), func.max(Post.published_at))
        .where(indexable(kind))
        .group_by(_shard_of(Post.id, size))
    )
    return {int(shard) + 1: _latest(updated, published) for shard, updated, published in rows}


def _tag_shards(size: int) -> dict[int, datetime | None]:
    rows = db.session.execute(
        select(_shard_of(Tag.id, size), func.max(Post.updated_at), func.max(Post.published_at))
        .join(post_tags, post_tags.c.tag_id == Tag.id)
        .join(Post, Post.id == post_tags.c.post_id)
        .where(is_visible(PostKind.POST))
        .group_by(_shard_of(Tag.id, size))
    )
    return {int(shard) + 1: _latest(updated, published) for shard, updated, published in rows}


def _author_shards(size: int) -> dict[int, datetime | None]:
    rows = db.session.execute(
        select(_shard_of(User.id, size), func.max(Post.updated_at), func.max(Post.published_at))
        .join(Post, Post.author_id == User.id)
        .where(is_visible(PostKind.POST))
        .group_by(_shard_of(User.id, size))
    )
    return {int(shard) + 1: _latest(updated, published) for shard, updated, published in rows}


def newest_post_change() -> datetime | None:
    """Return the latest change readers can see among posts (the home page's lastmod)."""
    updated, published = db.session.execute(
        select(func.max(Post.updated_at), func.max(Post.published_at)).where(
            is_visible(PostKind.POST)
        )
    ).one()
    return _latest(updated, published)


def index_entries() -> list[Entry]:
    """Return the shards of the sitemap index, each with its newest change."""
    size = shard_size()
    # Every post is read to date the shards (over a second at 100,000 posts): the dates are
    # kept in the page cache's store until any post, page or tag changes.
    found = page_cache.remember(
        f"sitemap-shards:{size}", ("posts", "pages", "tags", "edits"), lambda: _shards(size)
    )
    entries = []
    for section in SECTIONS:
        # One url_for per section: the shard's number is the address's last part.
        first = url_for("public.sitemap_shard", section=section, number=1, _external=True)
        before, _, after = first.rpartition("1")
        for number in sorted(found[section]):
            entries.append(Entry(f"{before}{number}{after}", found[section][number]))
    return entries


def _shards(size: int) -> dict[str, dict[int, datetime | None]]:
    found = {
        "posts": _post_shards(PostKind.POST, size),
        "pages": _post_shards(PostKind.PAGE, size),
        "tags": _tag_shards(size),
        "authors": _author_shards(size),
    }
    # The home page lives in the first shard of pages, which therefore always exists.
    found["pages"][1] = _latest(found["pages"].get(1), newest_post_change())
    return found


def _post_entries(kind: str, number: int, size: int) -> list[Entry]:
    low, high = _bounds(number, size)
    endpoint = "public.page" if kind == PostKind.PAGE else "public.post"
    before, after = _address_template(endpoint, "slug")
    rows = db.session.execute(
        select(Post.id, Post.slug, Post.updated_at, Post.published_at)
        .where(indexable(kind), Post.id.between(low, high))
        .order_by(Post.id)
    )
    return [
        Entry(f"{before}{quote(slug, safe='')}{after}", _latest(updated, published), f"post:{id_}")
        for id_, slug, updated, published in rows
    ]


def _tag_entries(number: int, size: int) -> list[Entry]:
    low, high = _bounds(number, size)
    before, after = _address_template("public.tag", "slug")
    rows = db.session.execute(
        select(Tag.id, Tag.slug, func.max(Post.updated_at), func.max(Post.published_at))
        .join(post_tags, post_tags.c.tag_id == Tag.id)
        .join(Post, Post.id == post_tags.c.post_id)
        .where(is_visible(PostKind.POST), Tag.id.between(low, high))
        .group_by(Tag.id, Tag.slug)
        .order_by(Tag.id)
    )
    return [
        Entry(f"{before}{quote(slug, safe='')}{after}", _latest(updated, published), f"tag:{id_}")
        for id_, slug, updated, published in rows
    ]


def _author_entries(number: int, size: int) -> list[Entry]:
    low, high = _bounds(number, size)
    before, after = _address_template("public.author", "key")
    rows = db.session.execute(
        select(User.id, User.slug, func.max(Post.updated_at), func.max(Post.published_at))
        .join(Post, Post.author_id == User.id)
        .where(is_visible(PostKind.POST), User.id.between(low, high))
        .group_by(User.id, User.slug)
        .order_by(User.id)
    )
    return [
        Entry(
            f"{before}{quote(slug or str(id_), safe='')}{after}",
            _latest(updated, published),
            f"author:{id_}",
        )
        for id_, slug, updated, published in rows
    ]


def shard_entries(section: str, number: int) -> list[Entry]:
    """Return the addresses of one shard; empty when it has none (the view answers 404)."""
    size = shard_size()
    if section == "posts":
        return _post_entries(PostKind.POST, number, size)
    if section == "tags":
        return _tag_entries(number, size)
    if section == "authors":
        return _author_entries(number, size)
    entries = _post_entries(PostKind.PAGE, number, size)
    if number == 1:
        home = url_for("public.index", _external=True)
        entries.insert(0, Entry(home, newest_post_change()))
    return entries


def _lastmod(entry: Entry) -> str:
    if entry.lastmod is None:
        return ""
    return f"<lastmod>{w3c_datetime(entry.lastmod)}</lastmod>"


def render_urlset(entries: list[Entry]) -> bytes:
    """Return a sitemap (urlset) document."""
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{NAMESPACE}">\n']
    for entry in entries:
        parts.append(f"<url><loc>{escape(entry.loc)}</loc>{_lastmod(entry)}</url>\n")
    parts.append("</urlset>\n")
    return "".join(parts).encode()


def render_index(entries: list[Entry]) -> bytes:
    """Return a sitemap index document."""
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{NAMESPACE}">\n']
    for entry in entries:
        parts.append(f"<sitemap><loc>{escape(entry.loc)}</loc>{_lastmod(entry)}</sitemap>\n")
    parts.append("</sitemapindex>\n")
    return "".join(parts).encode()
