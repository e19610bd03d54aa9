"""Shareable preview links: signed, bound to one post, and expiring."""

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from cms.extensions import db
from cms.models import Post

# Separates preview tokens from every other token signed with the same secret key.
SALT = "cms.post-preview"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def preview_token(post: Post) -> str:
    """Return a token that opens this post's preview until it expires."""
    return _serializer().dumps({"post": post.id})


def preview_url(post: Post) -> str:
    """Return the full preview address of a post, to share with someone."""
    return url_for("public.preview", token=preview_token(post), _external=True)


def post_for_token(token: str) -> Post | None:
    """Return the post a valid, unexpired token names; None for anything else."""
    max_age = int(current_app.config["PREVIEW_LINK_MAX_AGE"].total_seconds())
    try:
        data = _serializer().loads(token, max_age=max_age)
    except BadSignature:  # also covers expired and malformed tokens
        return None
    ident = data.get("post") if isinstance(data, dict) else None
    if not isinstance(ident, int):
        return None
    return db.session.get(Post, ident)
