"""Tags named from the post form: names are tidied, matched case-insensitively, made unique."""

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from cms.extensions import db
from cms.models import Tag
from cms.services.roles import can_manage_content
from cms.services.slugs import make_slug, unique_slug

# The column sizes: Tag.name is 64 characters, Tag.slug 80 (room for a "-2" suffix).
MAX_NAME_LENGTH = 64
MAX_SLUG_BASE = 70


class TagNameRefused(ValueError):
    """A new tag name that cannot be used; the message is translated and safe to show."""


def may_create(user) -> bool:
    """Return whether this person may create tags while writing (editors and admins; authors
    too when AUTHORS_MAY_CREATE_TAGS is on)."""
    return can_manage_content(user) or bool(current_app.config.get("AUTHORS_MAY_CREATE_TAGS"))


def clean_name(raw: str) -> str:
    """Return a tag name as one line of printable text; TagNameRefused if empty or too long."""
    name = " ".join("".join(ch if ch.isprintable() else " " for ch in raw or "").split())
    if not name:
        raise TagNameRefused(_("A tag name cannot be empty."))
    if len(name) > MAX_NAME_LENGTH:
        raise TagNameRefused(
            _(
                "The tag name “%(name)s…” is too long: at most %(limit)d characters.",
                name=name[:20],
                limit=MAX_NAME_LENGTH,
            )
        )
    return name


def find_by_names(names: list[str]) -> dict[str, Tag]:
    """Return the existing tags among `names`, keyed by lower-cased name (case-insensitive)."""
    wanted = {name.lower() for name in names}
    if not wanted:
        return {}
    with db.session.no_autoflush:
        rows = db.session.scalars(select(Tag).where(func.lower(Tag.name).in_(wanted))).all()
    return {row.name.lower(): row for row in rows}


def give_slugs(tags) -> None:
    """Settle the new tags (no id yet) of a post's tag list; call it in the write phase.

    A tag of the same name (any case) that someone created since the form was read is used
    instead of a second one. The others get a unique address, read holding the write lock
    (SQLite) like every unique slug; tags new in the same save get distinct ones too.
    """
    new = [tag for tag in tags if tag.id is None and not tag.slug]
    existing = find_by_names([tag.name for tag in new])
    for tag in new:
        found = existing.get(tag.name.lower())
        if found is not None:
            if found in tags:
                tags.remove(tag)
            else:
                tags[tags.index(tag)] = found
            if tag in db.session:
                db.session.expunge(tag)
    taken_here: set[str] = set()
    for tag in tags:
        if tag.id is not None or tag.slug:
            continue
        base = make_slug(tag.name, "tag")[:MAX_SLUG_BASE].strip("-") or "tag"
        slug = unique_slug(Tag, base, None, "tag")
        number = 2
        while slug in taken_here:
            slug = unique_slug(Tag, f"{base}-{number}", None, "tag")
            number += 1
        tag.slug = slug
        taken_here.add(slug)
