"""What a public page showed: the names its cached copy depends on, and its newest change.

Views call `shows("post:12", "posts", "menu")` for everything they display and
`changed_at(post.updated_at)` for the times of what they show. The page cache keeps the names
beside the stored page and drops it as soon as one of them changes (cms.services.page_cache);
the newest time becomes the response's Last-Modified.

Names (exact strings):
    post:<id>     one post's or page's own fields (title, slug, excerpt, body, dates, featured
                  image, the tags and author name shown with it)
    posts         the set and order of visible posts: lists, archives, feeds, sitemap,
                  previous/next, related posts, counts, search results
    pages         the set of visible pages
    tag:<id>      one tag's fields          tags   the set of tags and their names
    author:<id>   one person's public fields
    file:<id>     one library file's fields (alt text, focal point, renditions)
    menu          the navigation menu       site   site-wide settings
    edits         any change to any post or page (the sitemap's lastmod dates)
"""

from datetime import datetime

from flask import g, has_request_context


def shows(*names: str) -> None:
    """Record that the page being made displays these things (outside requests: nothing)."""
    if not has_request_context():
        return
    recorded = g.get("page_deps")
    if recorded is None:
        recorded = g.page_deps = set()
    recorded.update(names)


def shows_posts(posts) -> None:
    """Record every post (or page) of a list, with its author, tags and featured image."""
    names = []
    for post in posts:
        names.append(f"post:{post.id}")
        names.append(f"author:{post.author_id}")
        if post.social_image_id:
            names.append(f"file:{post.social_image_id}")
    shows(*names)


def changed_at(when: datetime | None) -> None:
    """Record the time of a change the page shows; the newest becomes its Last-Modified."""
    if when is None or not has_request_context():
        return
    newest = g.get("page_changed_at")
    if newest is None or when > newest:
        g.page_changed_at = when


# A version no version key ever holds: a name shown at two different versions in one page.
MIXED = ""


def vouched(names: tuple[str, ...], versions: tuple) -> None:
    """Record the version of each name at which a kept figure the page shows was checked.

    The page cache stores the page with these versions instead of the ones it reads when it
    stores it: a figure checked before a purge's version keys were written must leave the page
    stale, not vouched for by versions it never saw (cms.services.page_cache).
    """
    if not has_request_context():
        return
    seen = g.get("page_versions")
    if seen is None:
        seen = g.page_versions = {}
    for name, version in zip(names, versions, strict=True):
        if seen.setdefault(name, version) != version:
            seen[name] = MIXED


def versions_seen() -> dict[str, str]:
    """Return the versions this request's kept figures were checked at, by name."""
    return dict(g.get("page_versions") or {})


def recorded() -> tuple[frozenset[str], datetime | None]:
    """Return what this request's page recorded: its dependency names and newest change."""
    return frozenset(g.get("page_deps") or ()), g.get("page_changed_at")
