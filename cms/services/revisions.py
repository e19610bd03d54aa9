"""Revisions: every change to a post or page is kept as an immutable copy, whoever made it.

Recording happens in one place, just before the session writes, so every path that changes a
post (the edit form, bulk actions, workflow buttons, restores, the command line) leaves a
revision in the same transaction as the change, or none at all.
"""

from datetime import datetime

from flask import current_app, has_app_context, has_request_context
from flask_security import current_user
from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session

from cms.models import Post, Revision

# The fields a revision keeps besides the tags, in the order a comparison shows them.
FIELDS = (
    "title",
    "slug",
    "body_md",
    "excerpt",
    "status",
    "published_at",
    "unpublish_at",
    "meta_title",
    "meta_description",
    "canonical_url",
    "social_image_id",
    "author_id",
)
# Fields whose text a restore gives back (status and times stay as they are now).
RESTORABLE = (
    "title",
    "slug",
    "body_md",
    "excerpt",
    "tags",
    "meta_title",
    "meta_description",
    "canonical_url",
    "social_image_id",
)


def snapshot(item) -> dict:
    """Return the revision fields of a post or revision as a plain dict (tags as id/name)."""
    data = {name: getattr(item, name) for name in FIELDS}
    if isinstance(item, Post):
        data["tags"] = [{"id": tag.id, "name": tag.name} for tag in item.tags]
    else:
        data["tags"] = list(item.tags or [])
    return data


def same_content(first: dict, second: dict) -> bool:
    """Return whether two snapshots hold the same content (tags compared by name)."""

    def norm(data: dict) -> dict:
        return {**data, "tags": sorted(tag["name"] for tag in data.get("tags") or [])}

    return norm(first) == norm(second)


def mark(post: Post, event_name: str, note: str = "") -> None:
    """Say what the next revision of this post records ("publish", "restore", ...)."""
    post._revision_event = event_name
    post._revision_note = note


def latest(session: Session, post_id: int) -> Revision | None:
    """Return the newest revision of a post."""
    with session.no_autoflush:
        return session.scalars(
            select(Revision)
            .where(Revision.post_id == post_id)
            .order_by(Revision.number.desc())
            .limit(1)
        ).first()


def _actor():
    """Return the logged-in user making this change, or None (command line, jobs)."""
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def _record(session: Session, post: Post, now: datetime) -> None:
    """Add a revision for this post if its content differs from its newest revision."""
    data = snapshot(post)
    number = 1
    if post.id is not None:
        previous = latest(session, post.id)
        if previous is not None:
            if same_content(snapshot(previous), data) and not getattr(
                post, "_revision_event", None
            ):
                return
            number = previous.number + 1
    actor = _actor()
    tags = data.pop("tags")
    session.add(
        Revision(
            post=post,
            number=number,
            tags=tags,
            created_by=actor,
            created_by_name=actor.name if actor else "",
            created_at=now,
            event=getattr(post, "_revision_event", None) or ("create" if number == 1 else "save"),
            note=getattr(post, "_revision_note", "") or "",
            **data,
        )
    )
    post._revision_event = None
    post._revision_note = ""
    _prune(session, post, number)


def _prune(session: Session, post: Post, number: int) -> None:
    """Delete the oldest revisions beyond REVISIONS_KEEP (0, the default, keeps them all)."""
    keep = current_app.config.get("REVISIONS_KEEP", 0) if has_app_context() else 0
    if keep and post.id is not None and number > keep:
        session.execute(
            delete(Revision).where(Revision.post_id == post.id, Revision.number <= number - keep)
        )


@event.listens_for(Session, "before_flush")
def _revisions_before_flush(session: Session, flush_context, instances) -> None:
    """Record a revision of every new or changed post about to be written."""
    from cms.models import utcnow

    now = utcnow()
    for item in list(session.new) + list(session.dirty):
        if isinstance(item, Post) and item not in session.deleted and item.title is not None:
            _record(session, item, now)


def count(post: Post) -> int:
    """Return how many revisions a post has."""
    from cms.extensions import db

    return db.session.scalar(select(func.count(Revision.id)).where(Revision.post_id == post.id))
