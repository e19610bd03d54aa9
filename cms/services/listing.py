"""The readers' lists: counts, pages that cost the same at any depth, neighbours, related posts,
the month archive and reading time.

A list is named by a Scope (every visible post, one tag's, one author's, one month's). Its
pages are read in two steps: the ids of the page over the (kind, status, published_at) index,
then the rows of those ids; pages past the middle are read from the end in reverse order, so
the last page costs what the first does. Counts are plain COUNTs, isolated in count_visible()
so that a cache can keep them.
"""

import math
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

from sqlalchemy import and_, bindparam, extract, func, literal_column, or_, select, union_all

from cms.extensions import db
from cms.models import Post, PostKind, PostStatus, Tag, post_tags
from cms.services import cards, page_cache
from cms.services.cards import PT, P
from cms.services.statements import execute
from cms.services.visibility import is_visible, reader_now

# Posts read per tag of a post when looking for its related posts: bounded work on any tag;
# and how many of its tags are looked at.
RELATED_CANDIDATES = 40
RELATED_TAGS = 8


@dataclass(frozen=True)
class Scope:
    """Which visible posts a list shows: kind "all", "tag" (key: tag id), "author" (key: user
    id) or "month" (key: (year, month))."""

    kind: str = "all"
    key: object = None


ALL = Scope()


@dataclass(frozen=True)
class Page:
    """One page of a list: its posts, its number, how many pages and posts there are."""

    posts: list[Post]
    number: int
    pages: int
    total: int

    @property
    def has_prev(self) -> bool:
        """Return whether a newer page exists."""
        return self.number > 1

    @property
    def has_next(self) -> bool:
        """Return whether an older page exists."""
        return self.number < self.pages


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """Return the first instant of a month and of the month after it (UTC, naive)."""
    start = datetime(year, month, 1)
    end = datetime(year + 1, 1, 1) if month == 12 else datetime(year, month + 1, 1)
    return start, end


def count_visible(scope: Scope = ALL) -> int:
    """Return how many posts readers see in a scope.

    A COUNT of 100,000 rows costs more than the rest of a page, so the figure is kept in the
    page cache's store until "posts" is purged (a post appears, goes away, changes tags or
    author) or the next scheduled change comes; without a store it is counted every time.
    """

    def count() -> int:
        query = COUNTS[scope.kind]
        return execute(query, now=reader_now(), **_scope_params(scope)).scalar() or 0

    return page_cache.remember(f"count:{scope.kind}:{scope.key}", ("posts",), count)


def page_count(total: int, per_page: int) -> int:
    """Return how many pages a list of `total` posts has (an empty list has one)."""
    return max(1, math.ceil(total / per_page))


SCOPE_KINDS = ("all", "tag", "author", "month")


def _scoped_ids(kind: str):
    """Return SELECT post.id of the visible posts in a scope kind, with bound parameters."""
    query = select(P.id).where(cards.visible_now())
    if kind == "tag":
        query = query.join(post_tags, PT.post_id == P.id).where(PT.tag_id == bindparam("key"))
    elif kind == "author":
        query = query.where(P.author_id == bindparam("key"))
    elif kind == "month":
        query = query.where(P.published_at >= bindparam("start"), P.published_at < bindparam("end"))
    elif kind != "all":
        raise ValueError(f"unknown scope {kind!r}")
    return query


# scope kind -> SELECT count(...) of its visible posts
COUNTS = {kind: _scoped_ids(kind).with_only_columns(func.count(P.id)) for kind in SCOPE_KINDS}
# (scope kind, newest first) -> SELECT ids ... ORDER BY ... LIMIT :limit OFFSET :offset
PAGE_IDS = {}
for _kind in SCOPE_KINDS:
    for _newest in (True, False):
        _order = (P.published_at.desc(), P.id.desc()) if _newest else (P.published_at, P.id)
        PAGE_IDS[_kind, _newest] = (
            _scoped_ids(_kind)
            .order_by(*_order)
            .limit(bindparam("limit"))
            .offset(bindparam("offset"))
        )


def _scope_params(scope: Scope) -> dict:
    if scope.kind in ("tag", "author"):
        return {"key": scope.key}
    if scope.kind == "month":
        start, end = month_bounds(*scope.key)
        return {"start": start, "end": end}
    return {}


def page_ids(scope: Scope, number: int, per_page: int, total: int) -> list[int]:
    """Return the ids on page `number` (newest first), reading from the nearer end."""
    start = (number - 1) * per_page
    if start >= total:
        return []
    end = min(start + per_page, total)
    params = _scope_params(scope) | {"now": reader_now(), "limit": end - start}
    if start + end <= total:
        # The first half: newest first, skipping the pages before.
        query = PAGE_IDS[scope.kind, True]
        return execute(query, offset=start, **params).scalars()
    # The second half: oldest first from the end, then turned round.
    query = PAGE_IDS[scope.kind, False]
    ids = execute(query, offset=total - end, **params).scalars()
    ids.reverse()
    return ids


def paginate(scope: Scope, number: int, per_page: int, total: int | None = None) -> Page | None:
    """Return page `number` of a scope, or None when it lies past the end (nothing scanned)."""
    if total is None:
        total = count_visible(scope)
    pages = page_count(total, per_page)
    if number < 1 or number > pages:
        return None
    return Page(cards.load_cards(page_ids(scope, number, per_page, total)), number, pages, total)


# --- Around one post --------------------------------------------------------------------------

# is_visible() spelt out with one range per direction: SQLite bounds an index scan by one
# upper limit only, and given both "<= now" and "<= this post's time" it may take "now" and
# walk every newer post (5 ms instead of 0.01 at 100,000 posts). The post is visible, so its
# time is not after now: "<= its time" (passed as `upto`) is the whole rule going back.
_SHOWN = and_(
    P.kind == PostKind.POST,
    P.status == PostStatus.PUBLISHED,
    or_(P.unpublish_at.is_(None), P.unpublish_at > cards.NOW),
)
_WHEN, _KEY = bindparam("when", type_=P.published_at.type), bindparam("key")
_NEIGHBOUR = select(
    literal_column("1").label("newer"), P.id, P.title, P.slug, P.published_at, P.updated_at
).limit(1)
_NEWER = _NEIGHBOUR.where(
    _SHOWN,
    P.published_at >= _WHEN,
    P.published_at <= cards.NOW,
    or_(P.published_at > _WHEN, and_(P.published_at == _WHEN, P.id > _KEY)),
).order_by(P.published_at, P.id)
_OLDER = (
    _NEIGHBOUR.with_only_columns(
        literal_column("0").label("newer"), P.id, P.title, P.slug, P.published_at, P.updated_at
    )
    .where(
        _SHOWN,
        P.published_at <= bindparam("upto", type_=P.published_at.type),
        or_(P.published_at < _WHEN, and_(P.published_at == _WHEN, P.id < _KEY)),
    )
    .order_by(P.published_at.desc(), P.id.desc())
)
# Both in one statement: each side a LIMIT 1 walk of the visibility index.
NEIGHBOURS = union_all(select(_NEWER.subquery()), select(_OLDER.subquery()))


def neighbours(post) -> tuple:
    """Return the visible posts published just after and just before this one (newer, older):
    rows with id, title, slug, published_at and updated_at."""
    when, now = post.published_at, reader_now()
    found = {
        row.newer: row
        for row in execute(NEIGHBOURS, when=when, key=post.id, now=now, upto=min(when, now))
    }
    return found.get(1), found.get(0)


# The latest posts of each tag of a post but the post itself (by id, drafts and scheduled ones
# included, so a few more than are shown): a walk down the (tag_id, post_id) index that stops
# after RELATED_CANDIDATES, on a tag of any size; then those readers may see, with the number
# of the post's tags whose latest posts they are among. One statement per number of tags.
# (A plain join would let SQLite start from the visibility index and sort every visible post.)
@cache
def _related_statement(tags: int):
    latest = [
        select(PT.post_id)
        .where(PT.tag_id == bindparam(f"tag{n}"), PT.post_id != bindparam("post"))
        .order_by(PT.post_id.desc())
        .limit(RELATED_CANDIDATES)
        .subquery()
        for n in range(tags)
    ]
    pool = union_all(*(select(part.c.post_id) for part in latest)).subquery()
    return (
        select(P.id, P.published_at, func.count())
        .select_from(pool.join(Post.__table__, P.id == pool.c.post_id))
        .where(cards.visible_now())
        .group_by(P.id, P.published_at)
    )


def related(post, limit: int = 3) -> list:
    """Return up to `limit` visible posts sharing the most tags with this one, newest first.

    Candidates are the visible ones among the latest few posts of each of the post's tags
    (its first RELATED_TAGS by name; bounded work on a tag of any size, rare or common),
    ranked by how many of the post's tags' candidates they are among (the tags they share,
    counted among recent posts), then by publication time. Which posts they are is kept like
    a list's count (until "posts" is purged: any change to a post's visibility, order or
    tags); the posts themselves are read each time.
    """
    tag_ids = tuple(tag.id for tag in post.tags)[:RELATED_TAGS]
    if not tag_ids:
        return []
    ids = page_cache.remember(
        f"related:{post.id}:{limit}:{','.join(map(str, tag_ids))}",
        ("posts",),
        lambda: _related_ids(post.id, tag_ids, limit),
    )
    return cards.load_cards(ids)


def _related_ids(post_id: int, tag_ids: tuple[int, ...], limit: int) -> list[int]:
    params = {f"tag{n}": tag_id for n, tag_id in enumerate(tag_ids)}
    rows = execute(_related_statement(len(tag_ids)), post=post_id, now=reader_now(), **params)
    ranked = sorted(rows, key=lambda row: (row[2], row[1], row[0]), reverse=True)
    return [row[0] for row in ranked[:limit]]


def reading_minutes(post: Post) -> int:
    """Return the minutes a reader needs for the post's text (its Markdown's words), at least 1."""
    return cards.reading_minutes(post.word_count or 0)


# --- Archives and tag counts ------------------------------------------------------------------


@dataclass(frozen=True)
class Month:
    """A month with visible posts, and how many."""

    year: int
    month: int
    count: int

    @property
    def first_day(self) -> date:
        """Return the month's first day (a date: formatting it shifts no time zone)."""
        return date(self.year, self.month, 1)


def archive_months() -> list[Month]:
    """Return the months with visible posts, newest first, with their counts (one GROUP BY,
    kept like count_visible)."""
    return page_cache.remember("archive-months", ("posts",), _archive_months)


def _archive_months() -> list[Month]:
    year = extract("year", Post.published_at)
    month = extract("month", Post.published_at)
    rows = db.session.execute(
        select(year, month, func.count(Post.id))
        .where(is_visible(PostKind.POST))
        .group_by(year, month)
        .order_by(year.desc(), month.desc())
    ).all()
    return [Month(int(y), int(m), count) for y, m, count in rows]


def is_valid_month(year: int, month: int) -> bool:
    """Return whether (year, month) names a real month the archive may ask for."""
    return 1 <= year <= 9999 and 1 <= month <= 12 and monthrange(year, month)[1] > 0


def tag_counts() -> list[tuple[Tag, int]]:
    """Return the tags with visible posts and how many each has, by name."""
    counted = (
        select(post_tags.c.tag_id, func.count().label("count"))
        .join(Post, Post.id == post_tags.c.post_id)
        .where(is_visible(PostKind.POST))
        .group_by(post_tags.c.tag_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Tag, counted.c.count).join(counted, counted.c.tag_id == Tag.id).order_by(Tag.name)
    ).all()
    return [(tag, count) for tag, count in rows]
