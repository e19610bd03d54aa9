"""Undo a move to the trash: a signed note of what was moved, by whom and from which state.

The note travels in the Undo button's form, so nothing is kept on the server; its signature
(the app's secret key), its age, the person and each post's version make sure it only ever
puts back, for the person who moved them, posts that nobody touched since.
"""

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select

from cms.extensions import db
from cms.models import Post, PostStatus
from cms.services import workflow

# How long the Undo button works after the move.
UNDO_SECONDS = 30 * 60
SALT = "cms-undo-trash"
RESTORABLE = {PostStatus.DRAFT.value, PostStatus.REVIEW.value, PostStatus.PUBLISHED.value}


class UndoRefused(Exception):
    """The undo note is expired, forged, someone else's, or its posts changed since."""


def _serializer() -> URLSafeTimedSerializer:
    """Return the signer of undo notes."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def status_value(status) -> str:
    """Return a post status as its stored text."""
    return getattr(status, "value", status)


def note_for(moved: list[tuple[Post, str]], user) -> str:
    """Return the signed note for posts just moved to the trash (committed), with the
    status each had before: [(post, previous status)]."""
    entries = [[post.id, post.version, status_value(before)] for post, before in moved]
    return _serializer().dumps({"user": user.id, "posts": entries})


def undo(note: str, user) -> list[Post]:
    """Put the posts of an undo note back as they were (the caller commits); all or none."""
    try:
        data = _serializer().loads(note, max_age=UNDO_SECONDS)
    except BadData:
        raise UndoRefused(
            _l("This undo has expired. Editors can restore it from the trash.")
        ) from None
    entries = data.get("posts") if isinstance(data, dict) else None
    if data.get("user") != user.id or not isinstance(entries, list) or not entries:
        raise UndoRefused(_l("This undo is not yours."))
    wanted = {entry[0]: entry for entry in entries}
    posts = db.session.scalars(select(Post).where(Post.id.in_(wanted))).all()
    if len(posts) != len(wanted):
        raise UndoRefused(_l("It was deleted for good meanwhile. Nothing was restored."))
    for post in posts:
        _ident, version, before = wanted[post.id]
        if post.status != PostStatus.TRASHED or post.version != version:
            raise UndoRefused(_l("It changed since it was moved. Nothing was restored."))
        if before not in RESTORABLE:
            raise UndoRefused(_l("This undo is not yours."))
    for post in posts:
        workflow.untrash(post, PostStatus(wanted[post.id][2]), user)
    return posts
