"""Autosave: one slot per person and post form, holding what they typed but did not save.

The editor posts the whole form every few seconds of idle typing, and every refused save
(validation error, missing alt text, 409 conflict) is kept the same way, so leaving the page
loses nothing. A slot is not a revision: the post, its version and its history stay untouched.
Restoring fills the form from the slot and keeps the version the form was loaded from, so a
save over someone's newer version is still refused. A successful save or "Discard" deletes it.

The fields are cleaned by the rules of the rescue stash (cms.services.rescue.clean_fields):
known fields only, the body up to MAX_BODY_CHARS, every other field up to 2,000 characters.
"""

from datetime import timedelta

from flask import current_app
from flask_babel import format_number
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from cms.extensions import db
from cms.models import AutosaveSlot, Post, utcnow
from cms.services import rescue
from cms.services.rendering import max_body_chars

DEFAULT_MAX_AGE = timedelta(days=30)
# Fields a slot keeps: the rescue stash's, without the create form's one-time token (a restored
# create form gets a fresh one).
FIELDS = tuple(name for name in rescue.FIELDS if name != "submission")
MULTI_FIELDS = rescue.MULTI_FIELDS
# Fields compared with the stored post to decide whether a slot holds anything new.
TEXT_FIELDS = (
    "title", "slug", "body_md", "excerpt", "meta_title", "meta_description", "canonical_url",
)  # fmt: skip


class AutosaveRefused(ValueError):
    """The form cannot be kept; `status` is the HTTP status to answer (400 or 413)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def max_age() -> timedelta:
    """Return how long a slot is kept (AUTOSAVE_MAX_AGE)."""
    return current_app.config.get("AUTOSAVE_MAX_AGE", DEFAULT_MAX_AGE)


def slot_key(kind: str, post_id: int | None) -> str:
    """Return the slot name of a post's form ("post:12") or a create form ("new:page")."""
    return f"post:{post_id}" if post_id is not None else f"new:{kind}"


def clean(form_data) -> dict[str, list[str]] | None:
    """Return the fields worth keeping as {name: [values]}; None when the form is too large."""
    cleaned = rescue.clean_fields(form_data)
    if cleaned is None:
        return None
    return {name: values for name, values in cleaned.items() if name in FIELDS}


def purge_expired() -> int:
    """Delete the slots older than AUTOSAVE_MAX_AGE (everyone's), in the caller's transaction."""
    result = db.session.execute(
        delete(AutosaveSlot)
        .where(AutosaveSlot.saved_at < utcnow() - max_age())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def keep(user, kind: str, post: Post | None, form_data, version: int | None) -> AutosaveSlot:
    """Store the form in this person's slot for `post` (None: a new post of `kind`); commit.

    Raises AutosaveRefused when the body or the form is too long. The caller checked that this
    person may edit `post`.
    """
    body = form_data.get("body_md") or ""
    limit = max_body_chars()
    if not isinstance(body, str) or len(body) > limit:
        raise AutosaveRefused(
            _(
                "The body is too long: %(length)s characters, at most %(limit)s allowed.",
                length=format_number(len(body)),
                limit=format_number(limit),
            ),
            413,
        )
    data = clean(form_data)
    if data is None:
        raise AutosaveRefused(_("The form is too large to keep. Please shorten it."), 413)
    post_id = post.id if post is not None else None
    try:
        return _write(user, kind, post_id, data, version)
    except IntegrityError:
        # Two autosaves of the same form raced to create the slot: update the one that won.
        db.session.rollback()
        return _write(user, kind, post_id, data, version)


def _write(user, kind: str, post_id: int | None, data: dict, version: int | None):
    """Create or update this person's slot and commit."""
    key = slot_key(kind, post_id)
    purge_expired()
    slot = db.session.scalars(
        select(AutosaveSlot).where(AutosaveSlot.user_id == user.id, AutosaveSlot.slot == key)
    ).first()
    if slot is None:
        slot = AutosaveSlot(user_id=user.id, slot=key, post_id=post_id, kind=kind)
        db.session.add(slot)
    slot.data = data
    slot.version = version
    slot.saved_at = utcnow()
    db.session.commit()
    return slot


def find(user, kind: str, post_id: int | None) -> AutosaveSlot | None:
    """Return this person's unexpired slot for a post (None: the create form of `kind`)."""
    if user is None or getattr(user, "id", None) is None:
        return None
    return db.session.scalars(
        select(AutosaveSlot).where(
            AutosaveSlot.user_id == user.id,
            AutosaveSlot.slot == slot_key(kind, post_id),
            AutosaveSlot.saved_at >= utcnow() - max_age(),
        )
    ).first()


def discard(user, kind: str, post_id: int | None) -> None:
    """Delete this person's slot for a post or create form, in the caller's transaction."""
    db.session.execute(
        delete(AutosaveSlot)
        .where(AutosaveSlot.user_id == user.id, AutosaveSlot.slot == slot_key(kind, post_id))
        .execution_options(synchronize_session=False)
    )


def values(slot: AutosaveSlot) -> dict[str, list[str]]:
    """Return the slot's fields as {name: [strings]}, dropping anything unexpected."""
    data = slot.data if isinstance(slot.data, dict) else {}
    return {
        name: [value for value in found if isinstance(value, str)]
        for name, found in data.items()
        if name in FIELDS and isinstance(found, list)
    }


def _first(data: dict, name: str) -> str:
    """Return the first value of a field in slot data ("" when missing)."""
    found = data.get(name) or [""]
    return found[0]


def differs(slot: AutosaveSlot, post: Post | None) -> bool:
    """Return whether the slot holds text the stored post (or an empty create form) lacks.

    Compares what writers type (title, address, body, excerpt, search-engine fields); line
    endings as browsers send them (CRLF) count as the stored LF.
    """
    data = values(slot)

    def norm(text: str | None) -> str:
        return (text or "").replace("\r\n", "\n").strip()

    if post is None:
        return any(norm(_first(data, name)) for name in ("title", "body_md"))
    for name in TEXT_FIELDS:
        if name not in data:
            continue
        typed, stored = norm(_first(data, name)), norm(getattr(post, name, ""))
        if name == "excerpt" and not typed:
            # An empty excerpt means "made from the body", whatever is stored.
            continue
        if typed != stored:
            return True
    return False
