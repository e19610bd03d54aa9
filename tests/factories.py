"""Factories for test data: users with roles, posts, tags and in-memory images."""

import io
import itertools
import uuid
from datetime import timedelta

from flask_security import hash_password
from PIL import Image
from slugify import slugify

from cms.extensions import db
from cms.models import Post, PostStatus, Role, Tag, User, utcnow
from cms.services.posts import prepare_for_save

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


def make_user(
    email=None, roles=("reader",), password=PASSWORD, confirmed=True, active=True, display_name=None
) -> User:
    """Create and commit a user holding `roles`."""
    number = next(_counter)
    email = email or f"user{number}@example.com"
    user = User(
        email=email,
        display_name=display_name or email.split("@")[0].title(),
        slug=slugify(email.split("@")[0]) + f"-{number}",
        password=hash_password(password),
        active=active,
        fs_uniquifier=uuid.uuid4().hex,
        confirmed_at=utcnow() if confirmed else None,
    )
    for name in roles:
        role = db.session.query(Role).filter_by(name=name).one()
        user.roles.append(role)
    db.session.add(user)
    db.session.commit()
    return user


def make_tag(name="News") -> Tag:
    """Create and commit a tag."""
    tag = db.session.query(Tag).filter_by(name=name).first()
    if tag is None:
        tag = Tag(name=name, slug=slugify(name))
        db.session.add(tag)
        db.session.commit()
    return tag


def make_post(
    author,
    title=None,
    body="Some *text*.",
    status=PostStatus.PUBLISHED,
    published_at=None,
    tags=(),
    **fields,
) -> Post:
    """Create and commit a post (published an hour ago unless told otherwise)."""
    title = title or f"Post {next(_counter)}"
    if status == PostStatus.PUBLISHED and published_at is None:
        published_at = utcnow() - timedelta(hours=1)
    post = Post(
        title=title,
        body_md=body,
        status=status,
        published_at=published_at,
        author=author,
        tags=list(tags),
        **fields,
    )
    db.session.add(post)
    prepare_for_save(post)
    db.session.commit()
    return post


def image_bytes(fmt="PNG", size=(64, 48), color=(200, 30, 30)) -> bytes:
    """Return a small image made in memory."""
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt)
    return out.getvalue()
