"""Head tags for search engines and browsers: icons, canonical addresses, structured data.

The template globals here are what cms/templates/macros/seo.html calls; the icons are also
served at /favicon.ico and /apple-touch-icon.png, where browsers look without being told.
"""

import re
from pathlib import Path

from flask import abort, current_app, request, send_file, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from cms.models import Post
from cms.public import bp
from cms.services import jsonld, page_deps
from cms.services.seo import Seo

NUMBER = re.compile(r"[0-9]{1,9}")
ICON_TYPES = {".ico": "image/x-icon", ".png": "image/png", ".svg": "image/svg+xml"}


def _icon_href(setting: str, fallback_endpoint: str, external: bool = False) -> str:
    """Return where a head link finds an icon: in the static folder, or through our route."""
    name = (current_app.config.get(setting) or "").strip()
    if not name:
        return ""
    if Path(name).is_absolute():
        return url_for(fallback_endpoint, _external=external)
    return url_for("static", filename=name, _external=external)


def site_icons() -> list[dict]:
    """Return the favicon and touch icon links of every page (FAVICON, TOUCH_ICON)."""
    icons = []
    favicon = _icon_href("FAVICON", "public.favicon")
    if favicon:
        suffix = Path(current_app.config["FAVICON"]).suffix.lower()
        kind = ICON_TYPES.get(suffix, "")
        icons.append({"rel": "icon", "href": favicon, "type": kind, "sizes": ""})
    touch = _icon_href("TOUCH_ICON", "public.touch_icon")
    if touch:
        icons.append({"rel": "apple-touch-icon", "href": touch, "type": "", "sizes": "180x180"})
    return icons


def _send_icon(setting: str):
    """Answer an icon request from the setting's file (the theme's static folder wins)."""
    page_deps.shows("site")
    name = (current_app.config.get(setting) or "").strip()
    if not name:
        abort(404)
    if Path(name).is_absolute():
        return send_file(name, max_age=86400)
    # The static view, which a THEME_FOLDER replaces (cms.theme).
    return current_app.view_functions["static"](filename=name)


@bp.get("/favicon.ico")
def favicon():
    """The site's icon where browsers look for it by default."""
    return _send_icon("FAVICON")


@bp.get("/apple-touch-icon.png")
def touch_icon():
    """The home-screen icon where phones look for it by default."""
    return _send_icon("TOUCH_ICON")


def canonical_url() -> str:
    """Return the absolute address of the current list page: itself, with ?page=N past 1."""
    args = dict(request.view_args or {})
    page = request.args.get("page", "")
    if NUMBER.fullmatch(page) and int(page) > 1:
        args["page"] = int(page)
    return url_for(request.endpoint, _external=True, **args)


def _search_url() -> str:
    """Return the search page's absolute address; empty while the site has none."""
    if "public.search" not in current_app.view_functions:
        return ""
    return url_for("public.search", _external=True)


def website_jsonld() -> Markup:
    """Return the WebSite block (with its SearchAction) on the home page; nothing elsewhere."""
    if request.endpoint != "public.index":
        return Markup("")
    return jsonld.script(jsonld.website(_search_url()))


def _logo_url() -> str:
    """Return the absolute address of the site's square logo (the touch icon), if any."""
    return _icon_href("TOUCH_ICON", "public.touch_icon", external=True)


def item_jsonld(post: Post, seo: Seo) -> Markup:
    """Return the structured data of a post or page: BlogPosting/WebPage and its trail."""
    return jsonld.script(jsonld.item_graph(post, seo, _logo_url()))


def list_breadcrumbs(kind: str, obj=None) -> list[tuple[str, str]]:
    """Return the trail of a list page: Home, then the tag or author."""
    trail = [(_("Home"), url_for("public.index", _external=True))]
    if kind == "tag" and obj is not None:
        trail.append((obj.name, url_for("public.tag", slug=obj.slug, _external=True)))
    elif kind == "author" and obj is not None:
        key = obj.slug or str(obj.id)
        trail.append((obj.name, url_for("public.author", key=key, _external=True)))
    return trail


def breadcrumbs_jsonld(items) -> Markup:
    """Return a BreadcrumbList block of (name, absolute address) pairs."""
    return jsonld.script(jsonld.breadcrumbs(list(items)))


def iso_time(when) -> str:
    """Return a stored UTC time as ISO 8601 with its zone (Open Graph article times)."""
    return jsonld.iso(when)


for _function, _name in (
    (site_icons, "site_icons"),
    (canonical_url, "canonical_url"),
    (website_jsonld, "website_jsonld"),
    (item_jsonld, "item_jsonld_data"),
    (list_breadcrumbs, "list_breadcrumbs"),
    (breadcrumbs_jsonld, "breadcrumbs_jsonld_data"),
    (iso_time, "iso_time"),
):
    bp.add_app_template_global(_function, _name)
