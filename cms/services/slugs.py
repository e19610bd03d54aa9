"""URL slugs: transliterated from titles and unique per table."""

from slugify import slugify
from sqlalchemy import select

from cms.extensions import db

MAX_LENGTH = 180


def make_slug(text: str, fallback: str = "item") -> str:
    """Return a URL-safe, transliterated slug for `text`."""
    return slugify(text or "", max_length=MAX_LENGTH, word_boundary=True) or fallback


def unique_slug(model, text: str, exclude_id: int | None = None, fallback: str = "item") -> str:
    """Return a slug for `text` that no other row of `model` uses (adds -2, -3, ...)."""
    base = make_slug(text, fallback)
    query = select(model.slug).where(model.slug.like(f"{base}%"))
    if exclude_id is not None:
        query = query.where(model.id != exclude_id)
    # Do not flush a half-built object just to look up slugs.
    with db.session.no_autoflush:
        taken = set(db.session.scalars(query))
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"
