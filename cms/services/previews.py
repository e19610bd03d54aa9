"""Shareable preview links: signed, bound to one post, and expiring."""

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from cms.extensions import db
from cms.models import Post, PostStatus

# Separates preview tokens from every other token signed with the same secret key.
SALT = "cms.post-preview"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _birth(post: Post) -> str:
    """Return when the post was created, to the second: it tells two posts with one id apart.

    SQLite hands the id of a post deleted for good to the next post made; a link to the
    deleted one must not open the new one.
    """
    return post.created_at.isoformat(timespec="seconds") if post.created_at else ""


def preview_token(post: Post) -> str:
    """Return a token that opens this post's preview until it expires."""
    return _serializer().dumps({"post": post.id, "created": _birth(post)})


def preview_url(post: Post) -> str:
    """Return the full preview address of a post, to share with someone."""
    return url_for("public.preview", token=preview_token(post), _external=True)


def preview_for_token(token: str) -> tuple[Post, float] | None:
    """Return the post a valid, unexpired token names and when the token was made.

    None for anything else: a post in the trash (trashing withdraws its previews; restoring
    it brings them back while they last), a post deleted for good, and a newer post that got
    the deleted one's id.
    """
    max_age = int(current_app.config["PREVIEW_LINK_MAX_AGE"].total_seconds())
    try:
        data, issued = _serializer().loads(token, max_age=max_age, return_timestamp=True)
    except BadSignature:  # also covers expired and malformed tokens
        return None
    ident = data.get("post") if isinstance(data, dict) else None
    if not isinstance(ident, int):
        return None
    post = db.session.get(Post, ident)
    if post is None or post.status == PostStatus.TRASHED or data.get("created") != _birth(post):
        return None
    return post, issued.timestamp()


def post_for_token(token: str) -> Post | None:
    """Return the post a valid, unexpired token names; None for anything else."""
    found = preview_for_token(token)
    return found[0] if found else None
