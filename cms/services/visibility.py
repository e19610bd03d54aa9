"""Which posts and pages readers may see: one SQL condition, decided at read time.

Kept apart from cms.services.posts (which renders bodies, and so needs the file library) so
the file services below it (usage, media access) can ask it without an import circle.
"""

from datetime import datetime

from sqlalchemy import and_, or_

from cms.models import Post, PostKind, PostStatus, utcnow


def reader_now() -> datetime:
    """Return the time readers live in: the clock every visibility rule reads."""
    return utcnow()


def visibility_rule(columns, kind: str, now):
    """Return the rule itself over `columns` (the Post model, or its table's columns for plain
    statements) with `now` a time or a bound parameter."""
    return and_(
        columns.kind == kind,
        columns.status == PostStatus.PUBLISHED,
        columns.published_at.is_not(None),
        columns.published_at <= now,
        or_(columns.unpublish_at.is_(None), columns.unpublish_at > now),
    )


def is_visible(kind: str = PostKind.POST, now: datetime | None = None):
    """Return the SQL condition for posts (or pages) readers may see now.

    Decided at read time: a scheduled post appears exactly at its publication time and goes
    away at its unpublish time, with no job to run.
    """
    return visibility_rule(Post, kind, now or utcnow())
