"""URL slugs: transliterated from titles and unique per table."""

from slugify import slugify
from sqlalchemy import and_, event, inspect, or_, select
from sqlalchemy.orm import Session

from cms.extensions import db
from cms.models import Post, PostKind, PostStatus, SlugRedirect
from cms.models.base import begin_writing

MAX_LENGTH = 180


def make_slug(text: str, fallback: str = "item") -> str:
    """Return a URL-safe, transliterated slug for `text`."""
    return slugify(text or "", max_length=MAX_LENGTH, word_boundary=True) or fallback


def unique_slug(
    model, text: str, exclude_id: int | None = None, fallback: str = "item", *, lock: bool = True
) -> str:
    """Return a slug for `text` that no other row of `model` uses (adds -2, -3, ...).

    `lock=False` only looks (the address preview while a title is typed): a save made
    meanwhile may still take the slug; the save itself decides, holding the lock.
    """
    base = make_slug(text, fallback)
    if lock:
        # The slug found here is written next: on SQLite, read it holding the write lock, so
        # two racing saves of the same name get -2 rather than a unique-constraint error.
        begin_writing(db.session)
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


# --- Page addresses ------------------------------------------------------------------------

# First path segments that are not routes yet but are obvious next ones; pages may not take them.
FUTURE_SEGMENTS = frozenset(
    {"feed", "feeds", "rss", "atom", "sitemap.xml", "robots.txt", "api", "search", "favicon.ico"}
)


def reserved_segments(url_map) -> set[str]:
    """Return the first path segments used by the fixed (not variable) parts of routes."""
    found = set()
    for rule in url_map.iter_rules():
        first = rule.rule.lstrip("/").split("/", 1)[0]
        if first and "<" not in first:
            found.add(first.lower())
    return found


def reserved_page_slugs(app) -> set[str]:
    """Return the slugs a page may not have: /<slug> would clash with a route of `app`, or
    with a language's address prefix (/de/ is the German site, never a page named "de")."""
    languages = {code.lower() for code in app.config.get("LANGUAGES", ())}
    return reserved_segments(app.url_map) | FUTURE_SEGMENTS | languages


def is_reserved_page_slug(slug: str) -> bool:
    """Return whether a page may not use this slug (the current app's routes and future ones)."""
    from flask import current_app

    return (slug or "").strip().strip("/").lower() in reserved_page_slugs(current_app)


# --- Old addresses keep working -------------------------------------------------------------


def _history_old(post, name: str):
    """Return (known, value before this flush) of one attribute of a persistent post."""
    history = inspect(post).attrs[name].history
    if history.deleted:
        return True, history.deleted[0]
    if history.added:
        # Set without the old value having been loaded: only the database knows it.
        return False, None
    return True, getattr(post, name)


def _old_values(session: Session, post) -> dict | None:
    """Return the slug, kind, status and publication time the post has in the database."""
    names = ("slug", "kind", "status", "published_at")
    values = {}
    for name in names:
        known, value = _history_old(post, name)
        if not known:
            break
        values[name] = value
    else:
        return values
    with session.no_autoflush:
        row = session.execute(
            select(Post.slug, Post.kind, Post.status, Post.published_at).where(Post.id == post.id)
        ).first()
    return dict(zip(names, row, strict=True)) if row is not None else None


@event.listens_for(Session, "before_flush")
def _record_slug_redirects(session: Session, flush_context, instances) -> None:
    """Keep the old address of a public post or page when its slug (or kind) changes.

    A redirect is "old slug -> post", so chains collapse by themselves; a slug that a post or
    page takes (again) stops being a redirect, so the live item always wins.
    """
    # The addresses live items take in this flush: no redirect may keep or claim them.
    taken = set()
    changed = []
    for item in list(session.new) + list(session.dirty):
        if not isinstance(item, Post) or item in session.deleted:
            continue
        state = inspect(item)
        if item not in session.new and not (
            state.attrs.slug.history.has_changes() or state.attrs.kind.history.has_changes()
        ):
            continue
        if item.slug:
            taken.add((str(item.kind or PostKind.POST), item.slug))
        if item not in session.new and item.id is not None:
            changed.append(item)
    if not taken:
        return
    moved = []
    for post in changed:
        old = _old_values(session, post)
        if old is None or not old["slug"]:
            continue
        was_public = old["status"] == PostStatus.PUBLISHED and old["published_at"] is not None
        key = (str(old["kind"] or PostKind.POST), old["slug"])
        if was_public and key not in taken:
            moved.append((key, post))
    with session.no_autoflush:
        wanted = [key for key, _post in moved] + sorted(taken)
        existing = {
            (row.kind, row.slug): row
            for row in session.scalars(
                select(SlugRedirect).where(
                    or_(*(and_(SlugRedirect.kind == k, SlugRedirect.slug == s) for k, s in wanted))
                )
            )
        }
    for key, post in moved:
        row = existing.get(key)
        if row is not None:
            row.post = post
        else:
            session.add(SlugRedirect(kind=key[0], slug=key[1], post=post))
    for key in taken:
        row = existing.get(key)
        if row is not None:
            session.delete(row)


def preview_slug(kind: str, text: str, exclude_id: int | None) -> tuple[str, bool]:
    """Return (slug, reserved): the address a save would store now (reading only), and
    whether a page may not have it (an address the site needs for itself)."""
    # What services.posts.finish_for_save stores, and what PageView.check_slug refuses.
    slug = unique_slug(Post, make_slug(text, "post"), exclude_id, "post", lock=False)
    reserved = kind == PostKind.PAGE and is_reserved_page_slug(make_slug(text, "page"))
    return slug, reserved
