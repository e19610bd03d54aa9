"""The site's navigation menu: pages that readers can see now, and addresses as given.

The menu has one level of nesting: a top-level item may have sub-items (NavItem.parent_id).
Positions are one order for the whole menu; a sub-item's place among its siblings follows it.
"""

import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import g, has_request_context, url_for
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from cms.models import NavItem, Post, PostKind
from cms.services.cards import P, visible_now
from cms.services.statements import execute
from cms.services.visibility import reader_now

MAX_URL_LENGTH = 500
# Spaces, control characters and backslashes (browsers read "/\\host" as "//host").
UNSAFE_CHARACTERS = re.compile(r"[\x00-\x20\x7f\\]")


@dataclass(frozen=True)
class MenuItem:
    """One link of the menu."""

    label: str
    href: str
    # The sub-items shown under this one (top-level items only).
    children: tuple["MenuItem", ...] = ()

    @property
    def is_site_path(self) -> bool:
        """Return whether the link stays on this site."""
        return self.href.startswith("/")


def is_allowed_url(value: str) -> bool:
    """Return whether a menu may link to `value`: a site path ("/about") or an http(s) URL.

    "//host" (another site), "javascript:", "data:" and anything with spaces, control
    characters or backslashes are refused.
    """
    if not value or len(value) > MAX_URL_LENGTH or UNSAFE_CHARACTERS.search(value):
        return False
    if value.startswith("/"):
        return not value.startswith("//")
    parts = urlsplit(value)
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


N = NavItem.__table__.c
MENU = (
    select(N.id, N.label, N.url, N.page_id, P.slug, N.parent_id)
    .select_from(
        NavItem.__table__.outerjoin(
            Post.__table__,
            and_(P.id == NavItem.__table__.c.page_id, visible_now(PostKind.PAGE)),
        )
    )
    .where(or_(NavItem.__table__.c.page_id.is_(None), P.id.is_not(None)))
    .order_by(NavItem.__table__.c.position, NavItem.__table__.c.id)
)


def load_menu_items() -> list[MenuItem]:
    """Read the menu in one query: items in order, pages only while readers may see them.

    A sub-item whose parent is not shown (a page readers cannot see yet) takes its parent's
    place at the top level rather than disappearing with it.
    """
    # A plain statement on the session's connection: drawing a page never writes what the
    # request left pending (audit events are committed after the response is drawn).
    rows = execute(MENU, now=reader_now()).all()
    links: dict[int, MenuItem] = {}
    for ident, label, url, page_id, slug, _parent in rows:
        if page_id is not None:
            links[ident] = MenuItem(label, url_for("public.page", slug=slug))
        elif is_allowed_url((url or "").strip()):
            links[ident] = MenuItem(label, url.strip())
    children: dict[int, list[MenuItem]] = {}
    for ident, *_fields, parent in rows:
        if ident in links and parent in links:
            children.setdefault(parent, []).append(links[ident])
    items = []
    for ident, *_fields, parent in rows:
        if ident in links and parent not in links:
            items.append(
                MenuItem(links[ident].label, links[ident].href, tuple(children.get(ident, ())))
            )
    return items


def menu_items() -> list[MenuItem]:
    """Return the menu to show, read once per request."""
    if not has_request_context():
        return load_menu_items()
    if "menu_items" not in g:
        g.menu_items = load_menu_items()
    return g.menu_items


# --- The dashboard's ordering -----------------------------------------------------------------

# Positions given when the whole menu is ordered: room in between for items placed by hand.
STEP = 10
MAX_POSITION = 1_000_000


class OrderRefused(ValueError):
    """A menu order that cannot be applied; the message says why, in the user's language."""


def parse_order(raw: str | None) -> list[tuple[int, int | None]]:
    """Read a submitted order: a JSON list of {"id": n, "parent": n or null}, in menu order."""
    try:
        entries = json.loads(raw or "")
    except ValueError:
        entries = None
    if not isinstance(entries, list) or not entries:
        raise OrderRefused(_("The menu order could not be read. Please reload the page."))
    order = []
    for entry in entries:
        ident = entry.get("id") if isinstance(entry, dict) else None
        parent = entry.get("parent") if isinstance(entry, dict) else None
        if not is_row_id(ident) or not (parent is None or is_row_id(parent)):
            raise OrderRefused(_("The menu order could not be read. Please reload the page."))
        order.append((ident, parent))
    return order


def is_row_id(value) -> bool:
    """Return whether a decoded JSON value is a plausible row id."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31


def check_nesting(order: list[tuple[int, int | None]]) -> None:
    """Refuse an order where a sub-item has sub-items, or sits under an item not before it."""
    seen_top: set[int] = set()
    parents = {parent for _ident, parent in order if parent is not None}
    for ident, parent in order:
        if parent is None:
            seen_top.add(ident)
            continue
        if ident in parents:
            raise OrderRefused(
                _("A sub-item cannot have sub-items of its own: the menu has one level of nesting.")
            )
        if parent not in seen_top:
            raise OrderRefused(_("A sub-item must come after the item it belongs to."))


def apply_order(session: Session, order: list[tuple[int, int | None]]) -> list[NavItem]:
    """Give every menu item its place and parent from `order`; return the items that changed.

    The order must name every item of the menu exactly once: an item added or deleted since
    the order was read (another tab, another person) refuses it, so nothing is lost.
    """
    items = {item.id: item for item in session.scalars(select(NavItem))}
    idents = [ident for ident, _parent in order]
    if len(set(idents)) != len(idents) or set(idents) != set(items):
        raise OrderRefused(
            _(
                "The menu changed since this page was opened (an item was added or deleted). "
                "Nothing was saved: reload the page and order it again."
            )
        )
    check_nesting(order)
    changed = []
    for number, (ident, parent) in enumerate(order, start=1):
        item = items[ident]
        position = min(number * STEP, MAX_POSITION)
        if item.position != position or item.parent_id != parent:
            item.position, item.parent_id = position, parent
            changed.append(item)
    return changed
