"""What the dashboard shows each person: their share of content, counts, choices, recent work."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, extract, func, or_, select, true
from sqlalchemy.orm import selectinload

from cms.extensions import db
from cms.models import File, Post, PostKind, PostState, PostStatus, Role, Tag, User, utcnow
from cms.services import page_cache, usage
from cms.services.post_counts import tab_counts
from cms.services.roles import STAFF, can_manage_content

CHART_MONTHS = 12


def post_scope(user) -> ColumnElement[bool]:
    """Return the SQL condition for the posts this person sees in the dashboard."""
    if can_manage_content(user):
        return true()
    return Post.author_id == user.id


def file_scope(user) -> ColumnElement[bool]:
    """Return the SQL condition for the files this person sees in the dashboard.

    Editors and admins: all. Authors: their own uploads and the files shown by a post or page
    readers can see now (as roles.can_see_file decides for one file).
    """
    if can_manage_content(user):
        return true()
    return or_(File.uploader_id == user.id, File.id.in_(usage.public_file_ids()))


def staff_users(include_id: int | None = None) -> list[User]:
    """Return the active staff accounts (and one given account), who may be named as authors."""
    condition = User.active.is_(True) & User.roles.any(Role.name.in_(STAFF))
    if include_id:
        # A post keeps its author even after that person left the staff.
        condition = or_(condition, User.id == include_id)
    query = select(User).where(condition).order_by(User.display_name, User.email)
    return list(db.session.scalars(query))


def author_choices(user) -> list[tuple[int, str]]:
    """Return (id, name) of the authors this person may filter by (authors: only themselves)."""
    if not can_manage_content(user):
        return [(user.id, user.name)]
    return [(person.id, person.name) for person in staff_users()]


def image_files(user, include_id: int | None = None) -> list[File]:
    """Return the images this person may see (and one given file), newest first.

    The choices for a post's social media image: authors may not attach someone else's
    private upload. `include_id` keeps the image a post already shows selectable.
    """
    condition = file_scope(user)
    if include_id:
        condition = or_(condition, File.id == include_id)
    query = (
        select(File)
        .where(File.content_type.like("image/%"), condition)
        .order_by(File.created_at.desc(), File.id.desc())
    )
    return list(db.session.scalars(query))


def all_tags() -> list[Tag]:
    """Return every tag, by name."""
    return list(db.session.scalars(select(Tag).order_by(Tag.name)))


def tag_choices() -> list[tuple[int, str]]:
    """Return (id, name) of every tag."""
    return [(tag.id, tag.name) for tag in all_tags()]


@dataclass
class PostCounts:
    """How many posts stand where: drafts, live, and published with a future time."""

    draft: int = 0
    published: int = 0
    scheduled: int = 0
    review: int = 0

    @property
    def total(self) -> int:
        """Return the number of posts counted."""
        return self.draft + self.published + self.scheduled + self.review


def post_counts(user) -> PostCounts:
    """Return the counts of this person's posts (all posts for editors) by state.

    From the counters the database keeps (cms.services.post_counts), as the status tabs of
    the posts list show them: no count of the whole post table per visit.
    """
    tabs = tab_counts(PostKind.POST, user)
    return PostCounts(
        draft=tabs[PostState.DRAFT],
        published=tabs[PostState.PUBLISHED],
        scheduled=tabs[PostState.SCHEDULED],
        review=tabs[PostState.REVIEW],
    )


def recent_posts(user, limit: int = 6) -> list[Post]:
    """Return the posts this person may see, most recently changed first."""
    query = (
        select(Post)
        .where(post_scope(user), Post.status != PostStatus.TRASHED)
        .options(selectinload(Post.author))
        .order_by(Post.updated_at.desc(), Post.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def scheduled_next(user, limit: int = 5, now: datetime | None = None) -> list[Post]:
    """Return the posts and pages that will appear next, soonest first."""
    now = now or utcnow()
    query = (
        select(Post)
        .where(
            post_scope(user),
            # Both kinds named: the listing index (kind, status, published_at) then holds
            # just the posts still to come (without it SQLite reads every published post).
            Post.kind.in_((PostKind.POST, PostKind.PAGE)),
            Post.status == PostStatus.PUBLISHED,
            Post.published_at > now,
        )
        .options(selectinload(Post.author))
        .order_by(Post.published_at, Post.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def waiting_for_review(user, limit: int = 10) -> list[Post]:
    """Return what waits for an editor, oldest first (authors: their own)."""
    query = (
        select(Post)
        .where(post_scope(user), Post.status == PostStatus.REVIEW)
        .options(selectinload(Post.author))
        .order_by(Post.updated_at, Post.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def recent_files(user, limit: int = 6) -> list[File]:
    """Return the files this person may see, newest first."""
    query = (
        select(File)
        .where(file_scope(user))
        .order_by(File.created_at.desc(), File.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def month_starts(today: date, months: int = CHART_MONTHS) -> list[date]:
    """Return the first day of each of the last `months` months, oldest first."""
    starts = []
    year, month = today.year, today.month
    for _ in range(months):
        starts.append(date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return starts[::-1]


def published_per_month(now: datetime | None = None, months: int = CHART_MONTHS):
    """Return [(first day of month, posts published that month)] for the last `months` months.

    Counts what readers can see (published, time reached), site-wide: it is public anyway.
    The figure is kept like the public site's counts (page_cache.remember) until a post
    changes or a scheduled one comes out, so the dashboard home does not count a year of
    posts on every visit; an explicit `now` (another moment than this one) is counted afresh.
    """
    if now is not None:
        return _published_per_month(now, months)
    now = utcnow()
    key = f"dashboard-chart:{now:%Y-%m}:{months}"
    return page_cache.remember(key, ("posts",), lambda: _published_per_month(now, months))


def _published_per_month(now: datetime, months: int):
    """Count the posts published in each of the last `months` months up to `now`."""
    starts = month_starts(now.date(), months)
    first = datetime(starts[0].year, starts[0].month, 1)
    year = extract("year", Post.published_at)
    month = extract("month", Post.published_at)
    rows = db.session.execute(
        select(year, month, func.count(Post.id))
        .where(
            Post.kind == PostKind.POST,
            Post.status == PostStatus.PUBLISHED,
            Post.published_at >= first,
            Post.published_at <= now,
        )
        .group_by(year, month)
    )
    found = {(int(y), int(m)): number for y, m, number in rows}
    return [(start, found.get((start.year, start.month), 0)) for start in starts]
