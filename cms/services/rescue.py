"""Text sent from a post or page form after the session ended, kept until its writer is back.

A save that arrives without a valid login (the session expired, or the person was logged out
elsewhere) would lose what was typed. Instead, the form's fields are stored here under a random
token whose SHA-256 is the key (the token itself lives only in the writer's browser cookie);
after logging in again, the same browser gets the text back in the same form, once.
"""

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import DBAPIError

from cms.extensions import db
from cms.models import Post, PostKind, RescuedForm, utcnow
from cms.services.rendering import max_body_chars

# Fields of the post form worth keeping; anything else posted is dropped.
FIELDS = (
    "title", "slug", "body_md", "excerpt", "tags", "status", "published_at", "unpublish_at",
    "meta_title", "meta_description", "canonical_url", "noindex", "social_image", "author",
    "version", "submission",
)  # fmt: skip
# Fields that may carry several values (a multiple select).
MULTI_FIELDS = frozenset({"tags"})
# Longest value of any field but the body (the body's limit is the form's own, MAX_BODY_CHARS);
# the form's own limits are lower.
MAX_FIELD_LENGTH = 2_000
# Most values of a multiple select (tags).
MAX_VALUES = 200
# Largest stash in all, in characters, besides the body.
MAX_OTHER_LENGTH = 50_000
# Most stashes kept at once (all writers together); more are refused until old ones expire.
MAX_STORED = 500
TOKEN_BYTES = 32
# The dashboard views whose forms are kept, and the kind of content each one edits.
VIEW_KINDS = {"posts": PostKind.POST.value, "pages": PostKind.PAGE.value}
DEFAULT_MAX_AGE = timedelta(hours=24)


def max_age() -> timedelta:
    """Return how long a stash is kept."""
    return current_app.config.get("RESCUED_FORM_MAX_AGE", DEFAULT_MAX_AGE)


def token_hash(token: str) -> str:
    """Return the key a token is stored under."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def clean_fields(form_data) -> dict[str, list[str]] | None:
    """Return the known fields of a posted form as {name: [values]}; None if too large.

    `form_data` is a MultiDict (request.form) or a plain dict of strings or lists.
    """
    cleaned: dict[str, list[str]] = {}
    total = 0
    for name in FIELDS:
        if hasattr(form_data, "getlist"):
            values = form_data.getlist(name)
        else:
            raw = form_data.get(name)
            values = [] if raw is None else raw if isinstance(raw, (list, tuple)) else [raw]
        if not values:
            continue
        if any(not isinstance(value, str) for value in values):
            return None
        if name not in MULTI_FIELDS:
            values = values[:1]
        elif len(values) > MAX_VALUES:
            return None
        limit = max_body_chars() if name == "body_md" else MAX_FIELD_LENGTH
        if any(len(value) > limit for value in values):
            return None
        total += sum(len(value) for value in values)
        cleaned[name] = list(values)
    if total > max_body_chars() + MAX_OTHER_LENGTH:
        return None
    return cleaned


def purge_expired() -> int:
    """Delete the stashes older than RESCUED_FORM_MAX_AGE, in the caller's transaction."""
    cutoff = utcnow() - max_age()
    result = db.session.execute(
        delete(RescuedForm)
        .where(RescuedForm.created_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def kind_of(endpoint: str | None) -> str | None:
    """Return the kind of form ("post", "page") an endpoint ("pages.edit_view") belongs to."""
    return VIEW_KINDS.get((endpoint or "").split(".", 1)[0])


def stash(form_data, endpoint: str, post_id: int | None) -> str | None:
    """Keep a posted post or page form; return the token to give its writer (None: refused).

    `endpoint` is the form's ("posts.edit_view", "pages.create_view", ...); `post_id` the row
    being edited, None for a create form. Refused: an empty create form, a stash too large, a
    post that does not exist, or too many stashes stored already. Commits its own work.
    """
    kind = kind_of(endpoint)
    fields = clean_fields(form_data)
    if kind is None or not fields:
        return None
    typed = any(fields.get(name, [""])[0].strip() for name in ("title", "body_md"))
    if post_id is None and not typed:
        return None
    try:
        purge_expired()
        stored = db.session.scalar(select(func.count()).select_from(RescuedForm))
        if stored >= MAX_STORED:
            db.session.commit()
            current_app.logger.warning("rescued form refused: %d stored already", stored)
            return None
        if post_id is not None and db.session.get(Post, post_id) is None:
            db.session.commit()
            return None
        token = secrets.token_urlsafe(TOKEN_BYTES)
        db.session.add(
            RescuedForm(
                token_hash=token_hash(token),
                post_id=post_id,
                kind=kind,
                data=fields,
                created_at=utcnow(),
            )
        )
        db.session.commit()
    except DBAPIError:
        db.session.rollback()
        current_app.logger.warning("rescued form not stored", exc_info=True)
        return None
    return token


def take(token: str | None, post_id: int | None, kind: str | None = None) -> dict | None:
    """Return and delete the unexpired stash of this token for this post (None: create form).

    A stash made for another post, another kind of form or too long ago is not returned (nor
    deleted). One DELETE ... RETURNING in its own short transaction: of two tabs taking the
    same stash, one gets it.
    """
    if not token or len(token) > 200:
        return None
    conditions = [
        RescuedForm.token_hash == token_hash(token),
        RescuedForm.created_at >= utcnow() - max_age(),
        RescuedForm.post_id.is_(None) if post_id is None else RescuedForm.post_id == post_id,
    ]
    if kind is not None:
        conditions.append(RescuedForm.kind == kind)
    statement = delete(RescuedForm).where(*conditions).returning(RescuedForm.data)
    try:
        with db.engine.begin() as connection:
            data = connection.execute(statement).scalar_one_or_none()
    except DBAPIError:
        current_app.logger.warning("rescued form not taken", exc_info=True)
        return None
    if not isinstance(data, dict):
        return None
    return {
        name: [value for value in values if isinstance(value, str)]
        for name, values in data.items()
        if name in FIELDS and isinstance(values, list)
    }
