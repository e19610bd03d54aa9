"""How many posts of a kind each state holds, for the status tabs of the dashboard's lists.

The stored statuses are counted by the database (post_count, kept by triggers: see
cms.models.counts); "scheduled" and "unpublished by time" depend on the clock, so they are
counted from the index of published posts by time, which holds only the few posts whose
time is still ahead or already past its end. Nothing counts the whole post table.
"""

from sqlalchemy import ColumnElement, and_, func, or_, select, true

from cms.extensions import db
from cms.models import Post, PostCount, PostState, PostStatus, utcnow
from cms.services.roles import can_manage_content

# The tabs of the posts and pages lists, in order ("all": everything but the trash).
TABS = ("all", PostState.DRAFT, PostState.REVIEW, PostState.SCHEDULED, PostState.PUBLISHED)


def _scope(user, author_column) -> ColumnElement[bool]:
    """Return the condition for what this person sees: everything, or their own posts."""
    return true() if can_manage_content(user) else author_column == user.id


def stored_counts(kind: str, user) -> dict[str, int]:
    """Return the number of posts of a kind per stored status that this person sees."""
    rows = db.session.execute(
        select(PostCount.status, func.sum(PostCount.n))
        .where(PostCount.kind == kind, _scope(user, PostCount.author_id))
        .group_by(PostCount.status)
    )
    return {status: int(total or 0) for status, total in rows}


def _count(*conditions) -> int:
    """Return how many posts meet the conditions."""
    return db.session.scalar(select(func.count()).select_from(Post).where(*conditions)) or 0


def tab_counts(kind: str, user) -> dict[str, int]:
    """Return the count of every tab (TABS) for this person, as the tab's filter lists it."""
    stored = stored_counts(kind, user)
    now = utcnow()
    mine = _scope(user, Post.author_id)
    published = and_(Post.kind == kind, Post.status == PostStatus.PUBLISHED, mine)
    scheduled = _count(published, Post.published_at > now)
    started = or_(Post.published_at.is_(None), Post.published_at <= now)
    expired = _count(published, Post.unpublish_at <= now, started)
    draft = stored.get(PostStatus.DRAFT, 0)
    review = stored.get(PostStatus.REVIEW, 0)
    all_published = stored.get(PostStatus.PUBLISHED, 0)
    return {
        "all": draft + review + all_published,
        PostState.DRAFT: draft,
        PostState.REVIEW: review,
        PostState.SCHEDULED: scheduled,
        PostState.PUBLISHED: all_published - scheduled - expired,
    }
