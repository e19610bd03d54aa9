"""Who has a post's edit form open: a soft notice for the others that expires by itself.

Nothing is locked. Each open edit form sends a heartbeat (cms/static/admin/presence.js) that
records "this person was here at this time" in EditPresence; whoever else opens the same post
within EDIT_PRESENCE_SECONDS of a heartbeat is told. The writes run in the caller's
transaction, which commits them (on SQLite the first write takes the write lock, briefly).
"""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from cms.extensions import db
from cms.models import EditPresence, User, utcnow

DEFAULT_SECONDS = 90


def window() -> timedelta:
    """Return how long a heartbeat keeps someone listed as editing."""
    return timedelta(seconds=current_app.config.get("EDIT_PRESENCE_SECONDS", DEFAULT_SECONDS))


def touch(post_id: int, user_id: int, now: datetime | None = None) -> None:
    """Record that this person has the post's edit form open now; the caller commits.

    An UPDATE first (the usual case: the row exists); else an INSERT inside a savepoint, so
    that losing a race against a second tab of the same person (IntegrityError on the primary
    key) rolls back only the INSERT, and the row the other tab made is updated instead.
    """
    now = now or utcnow()
    mine = (EditPresence.post_id == post_id) & (EditPresence.user_id == user_id)
    refresh = update(EditPresence).where(mine).values(seen_at=now)
    if db.session.execute(refresh).rowcount:
        purge_stale(now)
        return
    try:
        with db.session.begin_nested():
            db.session.execute(
                insert(EditPresence).values(post_id=post_id, user_id=user_id, seen_at=now)
            )
    except IntegrityError:
        db.session.execute(refresh)
    purge_stale(now)


def others(post_id: int, user_id: int | None, now: datetime | None = None) -> list:
    """Return [(User, seen_at)] of the other active people seen on this post lately, newest
    first; the asker is left out."""
    cutoff = (now or utcnow()) - window()
    query = (
        select(User, EditPresence.seen_at)
        .join(EditPresence, EditPresence.user_id == User.id)
        .where(EditPresence.post_id == post_id, EditPresence.seen_at >= cutoff)
        .where(User.active.is_(True))
        .order_by(EditPresence.seen_at.desc(), User.id)
    )
    if user_id is not None:
        query = query.where(User.id != user_id)
    return [(user, seen_at) for user, seen_at in db.session.execute(query)]


def leave(post_id: int, user_id: int) -> None:
    """Forget that this person has the post open (the page was closed); the caller commits."""
    db.session.execute(
        delete(EditPresence).where(EditPresence.post_id == post_id, EditPresence.user_id == user_id)
    )


def purge_stale(now: datetime | None = None) -> int:
    """Delete the rows older than the window, in the caller's transaction; return how many.

    Rows another transaction is refreshing right now are skipped (FOR UPDATE SKIP LOCKED on
    PostgreSQL), so two heartbeats never wait on each other's rows (no deadlock). SQLite has
    one writer at a time and needs no row locks.
    """
    cutoff = (now or utcnow()) - window()
    stale = (
        select(EditPresence.post_id, EditPresence.user_id)
        .where(EditPresence.seen_at < cutoff)
        .with_for_update(skip_locked=True)
    )
    result = db.session.execute(
        delete(EditPresence)
        .where(tuple_(EditPresence.post_id, EditPresence.user_id).in_(stale))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
