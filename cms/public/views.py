"""Views of the public site; only published posts whose time has come are ever shown."""

import re

from flask import (
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import or_, select
from werkzeug.routing import BaseConverter, ValidationError

from cms.extensions import db
from cms.models import File, Post, PostKind, SlugRedirect
from cms.public import bp, fragments
from cms.services import cards, listing, media_access, page_deps, renditions
from cms.services.featured import featured_image
from cms.services.navigation import menu_items
from cms.services.posts import is_visible
from cms.services.previews import preview_for_token
from cms.services.seo import seo_for
from cms.services.slugs import FUTURE_SEGMENTS, reserved_segments
from cms.services.storage import InvalidName, check_name, get_storage

# Page numbers beyond this are not a real archive; refuse them rather than scan.
MAX_PAGE = 100_000
# ASCII digits only: str.isdigit() also accepts "²" and "١", which int() rejects or reads.
NUMBER = re.compile(r"[0-9]{1,9}")


class PageSlugConverter(BaseConverter):
    """A page's address: one path segment that no route of the site (or a planned one) uses.

    A reserved word does not match at all, so /language still answers 405 to a GET and a page
    can never hide a route, whatever its slug.
    """

    regex = r"[A-Za-z0-9_-]{1,200}"

    def to_python(self, value: str) -> str:
        if value.lower() in reserved_segments(self.map) | FUTURE_SEGMENTS:
            raise ValidationError()
        return value


# Registered before the routes below are added to the app's URL map.
bp.record_once(lambda state: state.app.url_map.converters.setdefault("page", PageSlugConverter))


def shown_menu_items() -> tuple:
    """Return the menu for the layout, recording that the page shows it (read once per request)."""
    page_deps.shows("menu")
    return tuple(menu_items())


bp.record_once(fragments.init_fragments)
bp.add_app_template_global(shown_menu_items, "menu_items")
bp.add_app_template_global(featured_image, "featured_image")
bp.add_app_template_global(listing.reading_minutes, "reading_minutes")


def _page_number() -> int:
    """Return ?page= as a positive integer; 404 for junk so no hostile value reaches SQL."""
    raw = request.args.get("page", "1")
    if not NUMBER.fullmatch(raw):
        abort(404)
    page = int(raw)
    if page < 1 or page > MAX_PAGE:
        abort(404)
    return page


def _list_page(scope: listing.Scope, total: int | None = None) -> listing.Page:
    """Return the requested page of a list; 404 past its end (decided by the count alone)."""
    found = listing.paginate(scope, _page_number(), current_app.config["POSTS_PER_PAGE"], total)
    if found is None:
        abort(404)
    return found


def _shows_list(posts, *names: str) -> None:
    """Record what a list page shows: the set of posts, each listed post, its tags, its time."""
    page_deps.shows("posts", *names)
    page_deps.shows_posts(posts)
    if any(post.tags for post in posts):
        page_deps.shows("tags")
    for post in posts:
        page_deps.changed_at(post.updated_at)


@bp.get("/")
def index():
    """List published posts, newest first; the newest is large on the first page."""
    page = _list_page(listing.ALL)
    _shows_list(page.posts)
    return render_template("public/index.html", page=page)


def _redirect_from_old_slug(kind: str, slug: str):
    """Answer 301 to the current address of the item that had this slug, if readers see it."""
    target = db.session.scalars(
        select(Post)
        .join(SlugRedirect, SlugRedirect.post_id == Post.id)
        .where(SlugRedirect.kind == kind, SlugRedirect.slug == slug)
        .where(or_(is_visible(PostKind.POST), is_visible(PostKind.PAGE)))
    ).first()
    if target is None:
        abort(404)
    endpoint = "public.page" if target.kind == PostKind.PAGE else "public.post"
    return redirect(url_for(endpoint, slug=target.slug), code=301)


def _render_item(item: Post | cards.Card, preview: bool = False) -> str:
    """Render a post or a page with its head tags (posts also with neighbours and related)."""
    page_deps.shows(f"post:{item.id}", f"author:{item.author_id}")
    page_deps.changed_at(item.updated_at)
    if item.social_image_id:
        page_deps.shows(f"file:{item.social_image_id}")
    if item.kind == PostKind.PAGE:
        return render_template(
            "public/page.html", post=item, preview=preview, seo=seo_for(item, preview)
        )
    newer = older = None
    related = []
    if item.is_public:
        newer, older = listing.neighbours(item)
        related = listing.related(item)
        page_deps.shows("posts")
        page_deps.shows_posts(related)
        for other in (newer, older, *related):
            if other is not None:
                page_deps.shows(f"post:{other.id}")
                page_deps.changed_at(other.updated_at)
    if item.tags or any(other.tags for other in related):
        page_deps.shows("tags")
    return render_template(
        "public/post.html",
        post=item,
        preview=preview,
        seo=seo_for(item, preview),
        newer=newer,
        older=older,
        related=related,
    )


@bp.get("/posts/<slug>")
def post(slug: str):
    """Show one published post; an old address of one answers 301."""
    item = cards.load_item(PostKind.POST, slug)
    if item is None:
        return _redirect_from_old_slug(PostKind.POST, slug)
    return _render_item(item)


@bp.get("/<page:slug>")
def page(slug: str):
    """Show one published page (About, Contact); an old address of one answers 301."""
    item = cards.load_item(PostKind.PAGE, slug)
    if item is None:
        return _redirect_from_old_slug(PostKind.PAGE, slug)
    return _render_item(item)


@bp.get("/preview/<token>")
def preview(token: str):
    """Show any post or page, published or not, to whoever holds a valid preview link."""
    found = preview_for_token(token)
    if found is None:
        abort(404)
    item, issued_at = found
    # The files readers may not fetch yet get addresses that work while this link does.
    page = media_access.sign_for_preview(_render_item(item, preview=True), item, issued_at)
    response = make_response(page)
    # The link is the key: keep it out of search engines, caches and other sites' logs.
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/tags")
def tags():
    """List the tags that have published posts, with how many each has."""
    counted = listing.tag_counts()
    page_deps.shows("tags", "posts", *(f"tag:{tag.id}" for tag, _count in counted))
    return render_template("public/tags.html", tags=counted)


@bp.get("/tags/<slug>")
def tag(slug: str):
    """List the published posts with one tag, under its description and post count."""
    item = cards.load_tag(slug)
    if item is None:
        abort(404)
    scope = listing.Scope("tag", item.id)
    total = listing.count_visible(scope)
    # A tag only drafts, scheduled or trashed posts carry would tell they exist: 404 alike.
    if total == 0:
        abort(404)
    page = _list_page(scope, total)
    _shows_list(page.posts, f"tag:{item.id}")
    return render_template("public/tag.html", tag=item, page=page)


@bp.get("/authors/<key>")
def author(key: str):
    """List one author's published posts; the author is found by slug or id."""
    person = cards.load_person(key, int(key) if NUMBER.fullmatch(key) else None)
    if person is None:
        abort(404)
    scope = listing.Scope("author", person.id)
    total = listing.count_visible(scope)
    # Only people with something published have a public page.
    if total == 0:
        abort(404)
    page = _list_page(scope, total)
    _shows_list(page.posts, f"author:{person.id}")
    return render_template("public/author.html", author=person, page=page)


@bp.get("/archive")
def archive_index():
    """List the months that have published posts, newest first, with their counts."""
    months = listing.archive_months()
    page_deps.shows("posts")
    return render_template("public/archive_index.html", months=months)


@bp.get("/archive/<int:year>/<int:month>")
def archive_month(year: int, month: int):
    """List one month's published posts, newest first."""
    if not listing.is_valid_month(year, month):
        abort(404)
    scope = listing.Scope("month", (year, month))
    total = listing.count_visible(scope)
    if total == 0:
        abort(404)
    page = _list_page(scope, total)
    _shows_list(page.posts)
    return render_template(
        "public/archive_month.html", page=page, month=listing.Month(year, month, total)
    )


def _access(name: str) -> str | None:
    """Return how this request may fetch a stored name: "signed", "public" or None.

    Checked before anything else is looked up or made, so a file readers may not see answers
    exactly like a name that does not exist.
    """
    if media_access.signed_grant(name, request.args.get(media_access.KEY_ARG)) is not None:
        return "signed"
    if media_access.is_public(name):
        return "public"
    return None


def _file_response(response, access: str):
    """Add the headers every answer with a stored file's bytes carries (200, 206 and 304)."""
    headers = response.headers
    # Set here, so the site's own policy (cms.web) is not added beside it.
    headers["Content-Security-Policy"] = media_access.FILE_CSP
    headers["X-Content-Type-Options"] = "nosniff"
    if access == "public":
        # No `immutable`: after an hour a browser asks again, and a file no published post
        # shows any longer answers 404 instead of living on in caches for a year.
        headers["Cache-Control"] = f"public, max-age={media_access.PUBLIC_MAX_AGE}"
    else:
        headers["Cache-Control"] = f"private, max-age={media_access.SIGNED_MAX_AGE}"
        # The key is in the address: keep it out of other sites' logs.
        headers["Referrer-Policy"] = "no-referrer"
    return response


def _download_name(name: str, rows: list[File]) -> str:
    """Return the file name a download is saved under: never one uploader's private name.

    Copies of one stored object (the same bytes uploaded twice) each keep their uploader's
    name for it; when the names differ, the download takes the stored name instead.
    """
    names = {row.original_name for row in rows}
    return names.pop() if len(names) == 1 else name


@bp.get("/uploads/<name>")
def upload(name: str):
    """Serve a stored file: images inline, everything else as a download, all in a sandbox.

    Readers get a file only while a post or page they can see shows it; a signed address
    (cms.services.media_access) reaches the others. Anything else is 404.
    """
    try:
        check_name(name)
    except InvalidName:
        abort(404)
    access = _access(name)
    if access is None:
        abort(404)
    rows = db.session.scalars(
        select(File)
        .where(or_(File.stored_name == name, File.thumbnail_name == name))
        .order_by(File.id)
    ).all()
    if not rows:
        abort(404)
    record = rows[0]
    is_thumbnail = name == record.thumbnail_name
    mimetype = "image/webp" if is_thumbnail else record.content_type
    inline = is_thumbnail or record.is_image
    try:
        response = get_storage().open_response(
            name,
            mimetype=mimetype,
            as_attachment=not inline,
            download_name=name if is_thumbnail else _download_name(name, rows),
        )
    except (FileNotFoundError, InvalidName):
        abort(404)
    return _file_response(response, access)


@bp.get("/media/<name>")
def media(name: str):
    """Serve a rendition of a library image (a smaller width or a focal-point crop).

    Made on its first request and kept in storage, under the same rules as the original:
    nothing is made or served for a request that may not fetch the original. Names the
    settings do not allow answer 404.
    """
    access = _access(name)
    if access is None:
        abort(404)
    found = renditions.get(name)
    if isinstance(found, renditions.Moved):
        target = url_for("public.media", name=found.name)
        grant = media_access.signed_grant(name, request.args.get(media_access.KEY_ARG))
        if access == "signed" and grant is not None:
            target = media_access.signed_address(target, found.name, grant)
        return redirect(target, code=302)
    if found is None:
        abort(404)
    try:
        response = get_storage().open_response(
            found.name,
            mimetype=found.content_type,
            as_attachment=False,
            download_name=found.name,
        )
    except (FileNotFoundError, InvalidName):
        abort(404)
    return _file_response(response, access)
