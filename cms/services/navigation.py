"""The site's navigation menu: pages that readers can see now, and addresses as given."""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import g, has_request_context, url_for
from sqlalchemy import and_, or_, select

from cms.extensions import db
from cms.models import NavItem, Post, PostKind
from cms.services.posts import is_visible

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


def load_menu_items() -> list[MenuItem]:
    """Read the menu in one query: items in order, pages only while readers may see them."""
    query = (
        select(NavItem.label, NavItem.url, NavItem.page_id, Post.slug)
        .outerjoin(Post, and_(Post.id == NavItem.page_id, is_visible(PostKind.PAGE)))
        .where(or_(NavItem.page_id.is_(None), Post.id.is_not(None)))
        .order_by(NavItem.position, NavItem.id)
    )
    # Drawing a page must not write what the request left pending (audit events are committed
    # after the response is drawn, and only while they are still new in the session).
    with db.session.no_autoflush:
        rows = db.session.execute(query).all()
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
