"""The site's navigation menu: pages that readers can see now, and addresses as given."""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import g, has_request_context, url_for
from sqlalchemy import and_, or_, select

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


MENU = (
    select(NavItem.__table__.c.label, NavItem.__table__.c.url, NavItem.__table__.c.page_id, P.slug)
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
    """Read the menu in one query: items in order, pages only while readers may see them."""
    # A plain statement on the session's connection: drawing a page never writes what the
    # request left pending (audit events are committed after the response is drawn).
    rows = execute(MENU, now=reader_now()).all()
    items = []
    for label, url, page_id, slug in rows:
        if page_id is not None:
            items.append(MenuItem(label, url_for("public.page", slug=slug)))
        elif is_allowed_url((url or "").strip()):
            items.append(MenuItem(label, url.strip()))
    return items


def menu_items() -> list[MenuItem]:
    """Return the menu to show, read once per request."""
    if not has_request_context():
        return load_menu_items()
    if "menu_items" not in g:
        g.menu_items = load_menu_items()
    return g.menu_items
