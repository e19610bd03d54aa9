"""What the Files pages show of a file: addresses, snippets, usage lists and list columns."""

from flask import request, url_for
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_security import current_user
from markupsafe import Markup

from cms.admin.post_forms import STATE_LABELS
from cms.models import File, PostKind, PostStatus
from cms.services import media_access, usage
from cms.services.roles import can_edit_post, can_manage_content, can_view_post

# Files the post editor's picker lists at most (newest first; a search finds the others).
LIBRARY_LIMIT = 48

# Fields of the edit form that only images have.
IMAGE_FIELDS = ("alt_text", "decorative", "focal_x", "focal_y")


def file_url(record: File) -> str:
    """Return the public address of a stored file."""
    return url_for("public.upload", name=record.stored_name)


def markdown_snippet(record: File) -> str:
    """Return the Markdown that shows the file in a post (an image, or a link)."""
    # Brackets and backslashes in the name would end the link text early.
    label = "".join("\\" + ch if ch in "[]\\" else ch for ch in record.original_name)
    prefix = "!" if record.is_image else ""
    return f"{prefix}[{label}]({file_url(record)})"


def describe_alt(view, context, model, name) -> str:
    """Return the image's alt text for the details page, or what stands in its place."""
    if not model.is_image:
        return ""
    if model.decorative:
        return _("Decorative (screen readers skip it)")
    return model.alt_text.strip() or _("Missing: add it before the image is published.")


def post_link(post) -> str | None:
    """Return the dashboard address of a post or page for this person; None if not theirs."""
    if post.status == PostStatus.TRASHED:
        return (
            url_for("trash.details_view", id=post.id) if can_manage_content(current_user) else None
        )
    if not can_view_post(current_user, post):
        return None
    view = "pages" if post.kind == PostKind.PAGE else "posts"
    action = "edit_view" if can_edit_post(current_user, post) else "details_view"
    return url_for(f"{view}.{action}", id=post.id)


def usage_list(record: File) -> Markup:
    """Return the posts and pages that show a file, as links (for the details and edit pages)."""
    posts = usage.users_of(record)
    if not posts:
        return Markup('<p class="cms-file-usage-none">{}</p>').format(
            _("Not used in any post or page.")
        )
    items, hidden = [], 0
    for post in posts:
        link = post_link(post)
        if link is None:
            hidden += 1
            continue
        kind = _("Page") if post.kind == PostKind.PAGE else _("Post")
        items.append(
            Markup('<li><a href="{}">{}</a> <span class="text-muted">({}, {})</span></li>').format(
                link, post.title, kind, STATE_LABELS[post.state]
            )
        )
    if hidden:
        items.append(
            Markup("<li>{}</li>").format(
                ngettext(
                    "%(num)d more item you cannot open",
                    "%(num)d more items you cannot open",
                    hidden,
                )
            )
        )
    return Markup('<ul class="cms-file-usage">{}</ul>').format(Markup("").join(items))


def in_use_message(blocked: dict) -> str:
    """Return the refusal shown when files that posts or pages still show were to be deleted."""
    parts = []
    for record, posts in blocked.items():
        shown = [f"“{post.title}”" for post in posts if post_link(post) is not None]
        hidden = len(posts) - len(shown)
        if hidden:
            shown.append(
                ngettext(
                    "%(num)d more item you cannot open",
                    "%(num)d more items you cannot open",
                    hidden,
                )
            )
        parts.append(
            _("“%(name)s” is used by %(posts)s", name=record.original_name, posts=", ".join(shown))
        )
    return ngettext(
        "Nothing was deleted: %(uses)s. Take the file out of these posts and pages first.",
        "Nothing was deleted: %(uses)s. Take the files out of these posts and pages first.",
        len(blocked),
        uses="; ".join(parts),
    )


def library_alt(record: File) -> str:
    """Return the alt text the library gives an image ("" when decorative or undescribed)."""
    if not record.is_image or record.decorative:
        return ""
    return " ".join((record.alt_text or "").split())


def insert_snippet(record: File) -> str:
    """Return the Markdown the post editor inserts: an image with the library's alt text.

    An image without alt text gets empty brackets, so that the library's alt text, once
    written, is used when the post is next saved; documents get a link with their name.
    """
    if not record.is_image:
        return markdown_snippet(record)
    alt = "".join("\\" + ch if ch in "[]\\" else ch for ch in library_alt(record))
    return f"![{alt}]({file_url(record)})"


def wants_json() -> bool:
    """Return whether the request asks for JSON rather than a page."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def human_size(size: int) -> str:
    """Return a byte count as B, KB or MB in the reader's number format."""
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            return f"{format_decimal(size / factor, format='#,##0.#')} {unit}"
    return f"{format_decimal(size)} B"


def thumbnail(view, context, model, name) -> Markup:
    """Return the thumbnail of an image (a signed address), or a file icon for documents."""
    if model.thumbnail_name:
        return Markup('<img class="cms-thumb" src="{}" alt="" loading="lazy">').format(
            media_access.dashboard_url(model.thumbnail_name)
        )
    return Markup('<span class="fa fa-file-o cms-file-icon" aria-hidden="true"></span>')


def address_cell(view, context, model, name) -> Markup:
    """Return the file's public address, linked through a signed one that opens it now."""
    return Markup('<a href="{}">{}</a><br><small class="text-muted">{}</small>').format(
        media_access.dashboard_url(model.stored_name),
        file_url(model),
        _("Readers can open this address while a published post or page shows the file."),
    )


def snippet_box(view, context, model, name) -> Markup:
    """Return the Markdown snippet in a read-only field that is easy to select and copy."""
    return Markup(
        '<input type="text" class="form-control cms-snippet" readonly value="{}" aria-label="{}">'
    ).format(markdown_snippet(model), _("Markdown to insert this file into a post"))
