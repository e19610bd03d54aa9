"""Revisions: every change to a post or page is kept as an immutable copy, whoever made it.

Recording happens in one place, just before the session writes, so every path that changes a
post (the edit form, bulk actions, workflow buttons, restores, the command line) leaves a
revision in the same transaction as the change, or none at all.
"""

import re
from datetime import datetime
from typing import NamedTuple

from flask import current_app, has_app_context, has_request_context
from flask_security import current_user
from sqlalchemy import delete, event, func, inspect, select
from sqlalchemy.orm import Session

from cms.extensions import db
from cms.models import File, Post, Revision, Tag, utcnow
from cms.services import audit
from cms.services.posts import prepare_for_save
from cms.services.rendering import make_excerpt
from cms.services.roles import can_see_file
from cms.services.slugs import unique_slug

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


TOUCHED = "cms_touched_posts"


@event.listens_for(Session, "before_flush")
def _remember_changed_posts(session: Session, flush_context, instances) -> None:
    """Note every new or changed post; its revision is recorded once, when the work commits.

    Not here: a flush can happen halfway through filling a form (autoflush), and one save
    must make one revision of the finished state.
    """
    touched = session.info.setdefault(TOUCHED, set())
    for item in list(session.new) + list(session.dirty):
        if isinstance(item, Post):
            touched.add(item)


@event.listens_for(Session, "before_commit")
def _revisions_before_commit(session: Session) -> None:
    """Record a revision of every post this transaction created or changed."""
    session.flush()
    touched = session.info.pop(TOUCHED, set())
    now = utcnow()
    for item in touched:
        if item in session and item not in session.deleted and item.title is not None:
            state = inspect(item)
            if not state.was_deleted and not state.detached:
                _record(session, item, now)


@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_commit")
def _forget_changed_posts(session: Session) -> None:
    """Start the next transaction with nothing noted."""
    session.info.pop(TOUCHED, None)


def count(post: Post) -> int:
    """Return how many revisions a post has."""

    return db.session.scalar(select(func.count(Revision.id)).where(Revision.post_id == post.id))


# --- Restoring ---------------------------------------------------------------------------------

# The note of a restore's revision: "revision:3" (all fields) or "revision:3:title" (one field);
# language-neutral, so the history shows it in each reader's language.
RESTORE_NOTE = re.compile(r"^revision:([1-9][0-9]{0,8})(?::([a-z_]+))?$")


class Restored(NamedTuple):
    """What a restore did: the fields it changed, and those it could not give back."""

    changed: list[str]
    # social_image_id when that file was deleted meanwhile (the post keeps its current image).
    skipped: list[str]
    # social_image_id when the person restoring may not use that file (someone's private one).
    refused: tuple[str, ...] = ()


def restore_note(revision: Revision, field: str | None = None) -> str:
    """Return the note stored with a restore of this revision (or of one of its fields)."""
    return f"revision:{revision.number}" + (f":{field}" if field else "")


def parse_restore_note(note: str) -> tuple[int, str | None] | None:
    """Return (revision number, field or None) of a restore's note; None for other notes."""
    match = RESTORE_NOTE.match(note or "")
    if match is None:
        return None
    return int(match.group(1)), match.group(2)


def _restored_tags(session: Session, stored: list) -> list:
    """Return the tags of a revision: by id while the tag exists, else (again) by name."""

    tags = []
    with session.no_autoflush:
        for item in stored or []:
            tag = session.get(Tag, item.get("id")) if item.get("id") else None
            name = str(item.get("name") or "").strip()[:64]
            if tag is None and name:
                tag = session.scalars(select(Tag).where(Tag.name == name)).first()
                if tag is None:
                    tag = Tag(name=name, slug=unique_slug(Tag, name, None, "tag"))
                    session.add(tag)
            if tag is not None and tag not in tags:
                tags.append(tag)
    # In the order the post's relationship loads them.
    return sorted(tags, key=lambda tag: tag.name)


def restore(post: Post, revision: Revision, fields=None, user=None) -> Restored:
    """Give a post back the content of one of its revisions (all RESTORABLE fields, or `fields`).

    The text comes back exactly as it was stored; status and times stay as they are now. The
    next revision is marked as a restore, an audit event is added; the caller commits. Nothing
    is marked or recorded when the post already has that content. A social image that was
    deleted, or that `user` may not see (roles.can_see_file), is not attached again.
    """

    if revision.post_id != post.id:
        raise ValueError("the revision belongs to another post")
    names = list(RESTORABLE if fields is None else fields)
    unknown = [name for name in names if name not in RESTORABLE]
    if unknown:
        raise ValueError(f"not restorable: {', '.join(unknown)}")
    session = db.session
    before = snapshot(post)
    # An excerpt that was made from the body follows a restored body; a typed one stays.
    excerpt_typed = (post.excerpt or "").strip() != make_excerpt(post.body_html or "")
    changed, skipped, refused = [], [], []
    for name in names:
        if name == "tags":
            if sorted(t["name"] for t in revision.tags or []) != sorted(
                t["name"] for t in before["tags"]
            ):
                post.tags = _restored_tags(session, revision.tags)
                changed.append(name)
            continue
        value = getattr(revision, name)
        if name == "social_image_id" and value is not None:
            with session.no_autoflush:
                image = session.get(File, value)
            if image is None:
                skipped.append(name)
                continue
            # The same rule as the form's choices: only files this person may see.
            if user is not None and not can_see_file(user, image):
                refused.append(name)
                continue
        if value != before[name]:
            setattr(post, name, value)
            changed.append(name)
    if not changed:
        return Restored([], skipped, tuple(refused))
    excerpt_given = "excerpt" in names or excerpt_typed or "body_md" not in changed
    prepare_for_save(post, excerpt_given=excerpt_given)
    field = names[0] if fields is not None and len(names) == 1 else None
    mark(post, "restore", restore_note(revision, field))
    what = f"{field} from revision {revision.number}" if field else f"revision {revision.number}"
    audit.record("restore", post, f"{what}: {', '.join(changed)}", actor=user)
    return Restored(changed, skipped, tuple(refused))
