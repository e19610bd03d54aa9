"""The Files list as a grid of cards (thumbnails) or as a table, chosen in the address.

The choice is a query argument (`?layout=table`), which Flask-Admin keeps in its sort, page and
search addresses (its "extra args"), so it stays while the person works through the list.
"""

from dataclasses import dataclass

from flask import request
from flask_babel import gettext as _
from flask_security import current_user
from markupsafe import Markup

from cms.admin.base import url_with_args
from cms.models import File
from cms.services import media_access
from cms.services.roles import can_change_file

LAYOUTS = ("grid", "table")
# The list's own arguments that name a place in one layout and mean nothing in the other.
RESET_ON_SWITCH = ("page",)


def chosen_layout() -> str:
    """Return the layout the address asks for: "grid" unless it says "table"."""
    layout = request.args.get("layout")
    return layout if layout in LAYOUTS else "grid"


def layout_url(endpoint: str, layout: str) -> str:
    """Return the current list address in another layout (search, filters and sort kept)."""
    args = request.args.to_dict(flat=False)
    for name in (*RESET_ON_SWITCH, "layout"):
        args.pop(name, None)
    if layout != "grid":
        args["layout"] = [layout]
    return url_with_args(endpoint, args)


def short_type(content_type: str) -> str:
    """Return a file type as people name it: "image/png" -> "PNG", "application/pdf" -> "PDF"."""
    subtype = content_type.split("/", 1)[-1].split(";", 1)[0].split("+", 1)[0]
    return subtype.removeprefix("x-").upper() or content_type


@dataclass(frozen=True)
class Card:
    """What one card of the grid shows."""

    url: str
    name: str
    thumbnail: str | None
    alt: str
    kind: str
    missing_alt: bool


def card(view, record: File) -> Card:
    """Return the card of a file: its edit screen (or details, if not this person's to change)."""
    target = ".edit_view" if can_change_file(current_user, record) else ".details_view"
    thumbnail = record.thumbnail_name
    return Card(
        url=view.get_url(target, id=record.id, url=request.full_path),
        name=record.original_name,
        thumbnail=media_access.dashboard_url(thumbnail) if thumbnail else None,
        alt="" if record.decorative else " ".join((record.alt_text or "").split()),
        kind=short_type(record.content_type),
        missing_alt=record.is_image and not record.has_alt,
    )


def select_box(record: File) -> Markup:
    """Return the checkbox that selects a card for a bulk action, labelled with the file."""
    return Markup(
        '<input type="checkbox" name="rowid" class="action-checkbox cms-file-card-select" '
        'value="{}" aria-label="{}">'
    ).format(record.id, _("Select “%(name)s”", name=record.original_name))
