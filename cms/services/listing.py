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

from sqlalchemy import and_, extract, func, or_, select
from sqlalchemy.orm import defer, load_only, selectinload

from cms.extensions import db
from cms.models import Post, PostKind, PostStatus, Tag, post_tags, utcnow
from cms.services import page_cache
from cms.services.visibility import is_visible

# Words a reader reads in a minute (the usual figure for screen reading).
WORDS_PER_MINUTE = 230
# Posts read per shared tag when looking for related posts (the latest by id, drafts and
# scheduled ones included, so a few more than are shown): bounded work on any tag.
RELATED_CANDIDATES = 40


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


def _ids_query(scope: Scope, now: datetime | None = None):
    """Return SELECT post.id of the visible posts in a scope (no order)."""
    query = select(Post.id).where(is_visible(PostKind.POST, now))
    if scope.kind == "tag":
        query = query.join(post_tags, post_tags.c.post_id == Post.id).where(
            post_tags.c.tag_id == scope.key
        )
    elif scope.kind == "author":
        query = query.where(Post.author_id == scope.key)
    elif scope.kind == "month":
        start, end = month_bounds(*scope.key)
        query = query.where(Post.published_at >= start, Post.published_at < end)
    elif scope.kind != "all":
        raise ValueError(f"unknown scope {scope.kind!r}")
    return query


def count_visible(scope: Scope = ALL) -> int:
    """Return how many posts readers see in a scope.

    A COUNT of 100,000 rows costs more than the rest of a page, so the figure is kept in the
    page cache's store until "posts" is purged (a post appears, goes away, changes tags or
    author) or the next scheduled change comes; without a store it is counted every time.
    """

    def count() -> int:
        query = _ids_query(scope).with_only_columns(func.count(Post.id))
        return db.session.scalar(query) or 0

    return page_cache.remember(f"count:{scope.kind}:{scope.key}", ("posts",), count)


def page_count(total: int, per_page: int) -> int:
    """Return how many pages a list of `total` posts has (an empty list has one)."""
    return max(1, math.ceil(total / per_page))


def load_posts(ids: list[int]) -> list[Post]:
    """Return the posts of these ids in this order, with author, tags and featured image."""
    if not ids:
        return []
    rows = db.session.scalars(
        select(Post)
        .where(Post.id.in_(ids))
        .options(
            # Lists show excerpts: the rendered body stays in the database.
            defer(Post.body_html),
            selectinload(Post.author),
            selectinload(Post.tags),
            selectinload(Post.social_image),
        )
    ).all()
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def page_ids(scope: Scope, number: int, per_page: int, total: int) -> list[int]:
    """Return the ids on page `number` (newest first), reading from the nearer end."""
    start = (number - 1) * per_page
    if start >= total:
        return []
    end = min(start + per_page, total)
    query = _ids_query(scope)
    if start + end <= total:
        # The first half: newest first, skipping the pages before.
        query = query.order_by(Post.published_at.desc(), Post.id.desc())
        return list(db.session.scalars(query.offset(start).limit(end - start)))
    # The second half: oldest first from the end, then turned round.
    query = query.order_by(Post.published_at.asc(), Post.id.asc())
    ids = list(db.session.scalars(query.offset(total - end).limit(end - start)))
    ids.reverse()
    return ids


def paginate(scope: Scope, number: int, per_page: int, total: int | None = None) -> Page | None:
    """Return page `number` of a scope, or None when it lies past the end (nothing scanned)."""
    if total is None:
        total = count_visible(scope)
    pages = page_count(total, per_page)
    if number < 1 or number > pages:
        return None
    return Page(load_posts(page_ids(scope, number, per_page, total)), number, pages, total)


# --- Around one post --------------------------------------------------------------------------


def _neighbour_columns():
    return load_only(Post.id, Post.title, Post.slug, Post.published_at, Post.updated_at)


def neighbours(post: Post) -> tuple[Post | None, Post | None]:
    """Return the visible posts published just after and just before this one (newer, older)."""
    when, key = post.published_at, post.id
    now = utcnow()
    # is_visible() spelt out with one range per direction: SQLite bounds an index scan by one
    # upper limit only, and given both "<= now" and "<= this post's time" it may take "now"
    # and walk every newer post (5 ms instead of 0.01 at 100,000 posts). This post is visible,
    # so its time is not after now: "<= its time" is the whole rule going back.
    shown = and_(
        Post.kind == PostKind.POST,
        Post.status == PostStatus.PUBLISHED,
        or_(Post.unpublish_at.is_(None), Post.unpublish_at > now),
    )
    later = and_(
        shown,
        Post.published_at >= when,
        Post.published_at <= now,
        or_(Post.published_at > when, and_(Post.published_at == when, Post.id > key)),
    )
    earlier = and_(
        shown,
        Post.published_at <= min(when, now),
        or_(Post.published_at < when, and_(Post.published_at == when, Post.id < key)),
    )
    newer = db.session.scalars(
        select(Post)
        .options(_neighbour_columns())
        .where(later)
        .order_by(Post.published_at.asc(), Post.id.asc())
        .limit(1)
    ).first()
    older = db.session.scalars(
        select(Post)
        .options(_neighbour_columns())
        .where(earlier)
        .order_by(Post.published_at.desc(), Post.id.desc())
        .limit(1)
    ).first()
    return newer, older


def related(post: Post, limit: int = 3) -> list[Post]:
    """Return up to `limit` visible posts sharing the most tags with this one, newest first.

    Candidates are the latest few posts of each of the post's tags, read from the (tag_id,
    post_id) index alone (bounded work on a tag of any size, rare or common); the visible ones
    are ranked by how many of its tags they carry, then by publication time.
    """
    tag_ids = [tag.id for tag in post.tags]
    if not tag_ids:
        return []
    pool: set[int] = set()
    for tag_id in tag_ids:
        pool.update(
            db.session.scalars(
                select(post_tags.c.post_id)
                .where(post_tags.c.tag_id == tag_id, post_tags.c.post_id != post.id)
                .order_by(post_tags.c.post_id.desc())
                .limit(RELATED_CANDIDATES)
            )
        )
    if not pool:
        return []
    candidates = {
        post_id: (published_at, post_id)
        for post_id, published_at in db.session.execute(
            select(Post.id, Post.published_at).where(Post.id.in_(pool), is_visible(PostKind.POST))
        )
    }
    if not candidates:
        return []
    shared = dict(
        db.session.execute(
            select(post_tags.c.post_id, func.count())
            .where(post_tags.c.post_id.in_(candidates), post_tags.c.tag_id.in_(tag_ids))
            .group_by(post_tags.c.post_id)
        ).all()
    )
    ranked = sorted(candidates, key=lambda i: (shared.get(i, 0), *candidates[i]), reverse=True)
    return load_posts(ranked[:limit])


def reading_minutes(post: Post) -> int:
    """Return the minutes a reader needs for the post's text (its Markdown's words), at least 1."""
    words = len((post.body_md or "").split())
    return max(1, round(words / WORDS_PER_MINUTE))


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
