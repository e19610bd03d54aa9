"""Feeds: Atom at .../feed and RSS 2.0 at .../feed/rss, for the site, each tag, each author.

Only what readers may see now: a scheduled post appears at its time with no job. Each answer
records what it shows (cms.services.page_deps) and answers conditional GETs with 304.
"""

import hashlib
from datetime import datetime

from flask import Response, abort, request, url_for
from flask_babel import gettext as _

from cms.models import Post, Tag
from cms.public import bp
from cms.services import page_deps
from cms.services.feeds import (
    ATOM_MIMETYPE,
    RSS_MIMETYPE,
    FeedInfo,
    build_feed,
    find_author,
    find_tag,
    latest_posts,
    newest_change,
)
from cms.services.seo import site_description, site_name

# Endpoints of each feed, per format, and how its links are titled.
FEED_ENDPOINTS = {
    "site": {"atom": "public.feed", "rss": "public.feed_rss"},
    "tag": {"atom": "public.tag_feed", "rss": "public.tag_feed_rss"},
    "author": {"atom": "public.author_feed", "rss": "public.author_feed_rss"},
}
MIMETYPES = {"atom": ATOM_MIMETYPE, "rss": RSS_MIMETYPE}
FORMAT_NAMES = {"atom": "Atom", "rss": "RSS"}


def xml_response(body: bytes, mimetype: str, changed: datetime | None) -> Response:
    """Return an XML answer with a strong ETag and Last-Modified; 304 when the client has it.

    Idempotent beside the site-wide conditional-GET hook: the headers are the same values.
    """
    response = Response(body, content_type=f"{mimetype}; charset=utf-8")
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    if changed is not None:
        response.last_modified = changed
    page_deps.changed_at(changed)
    return response.make_conditional(request)


def _feed(info: FeedInfo, posts: list[Post], fmt: str) -> Response:
    """Record what the feed shows and answer it."""
    page_deps.shows("posts", "tags", "site")
    page_deps.shows_posts(posts)
    return xml_response(build_feed(info, posts, fmt), MIMETYPES[fmt], newest_change(posts))


def feed_links(kind: str = "site", key: str = "", name: str = "") -> list[dict]:
    """Return the Atom and RSS links of a feed for <link rel="alternate"> (template global)."""
    args = {"slug": key} if kind == "tag" else {"key": key} if kind == "author" else {}
    links = []
    for fmt, endpoint in FEED_ENDPOINTS[kind].items():
        label = FORMAT_NAMES[fmt]
        if kind == "tag":
            title = _("Posts tagged “%(tag)s” (%(format)s)", tag=name or key, format=label)
        elif kind == "author":
            title = _("Posts by %(name)s (%(format)s)", name=name or key, format=label)
        else:
            title = _("%(site)s (%(format)s)", site=site_name(), format=label)
        href = url_for(endpoint, _external=True, **args)
        links.append({"type": MIMETYPES[fmt], "title": title, "href": href})
    return links


bp.add_app_template_global(feed_links, "feed_links")


def _site(fmt: str) -> Response:
    info = FeedInfo(
        title=site_name(),
        description=site_description(),
        page_url=url_for("public.index", _external=True),
        self_url=url_for(FEED_ENDPOINTS["site"][fmt], _external=True),
    )
    return _feed(info, latest_posts(), fmt)


def _tag(slug: str, fmt: str) -> Response:
    tag = find_tag(slug)
    if tag is None:
        abort(404)
    posts = latest_posts(Post.tags.any(Tag.id == tag.id))
    # Like the tag page: a tag only hidden posts carry would tell they exist.
    if not posts:
        abort(404)
    page_deps.shows(f"tag:{tag.id}")
    info = FeedInfo(
        title=_("Posts tagged “%(tag)s” · %(site)s", tag=tag.name, site=site_name()),
        description=tag.description
        or _("Posts tagged “%(tag)s” on %(site)s.", tag=tag.name, site=site_name()),
        page_url=url_for("public.tag", slug=tag.slug, _external=True),
        self_url=url_for(FEED_ENDPOINTS["tag"][fmt], slug=tag.slug, _external=True),
    )
    return _feed(info, posts, fmt)


def _author(key: str, fmt: str) -> Response:
    person = find_author(key)
    if person is None:
        abort(404)
    posts = latest_posts(Post.author_id == person.id)
    # Only people with something published have a public page and feed.
    if not posts:
        abort(404)
    page_deps.shows(f"author:{person.id}")
    public_key = person.slug or str(person.id)
    info = FeedInfo(
        title=_("Posts by %(name)s · %(site)s", name=person.name, site=site_name()),
        description=person.bio
        or _("Posts by %(name)s on %(site)s.", name=person.name, site=site_name()),
        page_url=url_for("public.author", key=public_key, _external=True),
        self_url=url_for(FEED_ENDPOINTS["author"][fmt], key=public_key, _external=True),
    )
    return _feed(info, posts, fmt)


@bp.get("/feed")
def feed():
    """The site's Atom feed: the newest posts."""
    return _site("atom")


@bp.get("/feed/rss")
def feed_rss():
    """The site's RSS 2.0 feed."""
    return _site("rss")


@bp.get("/tags/<slug>/feed")
def tag_feed(slug: str):
    """One tag's Atom feed."""
    return _tag(slug, "atom")


@bp.get("/tags/<slug>/feed/rss")
def tag_feed_rss(slug: str):
    """One tag's RSS 2.0 feed."""
    return _tag(slug, "rss")


@bp.get("/authors/<key>/feed")
def author_feed(key: str):
    """One author's Atom feed."""
    return _author(key, "atom")


@bp.get("/authors/<key>/feed/rss")
def author_feed_rss(key: str):
    """One author's RSS 2.0 feed."""
    return _author(key, "rss")
