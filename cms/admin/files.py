"""Files: uploads checked by content, listed with thumbnails; authors see only their own."""

import math
import re
from dataclasses import dataclass, field

from flask import abort, current_app, flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.form import BaseForm, FormOpts
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_security import current_user
from markupsafe import Markup
from wtforms import BooleanField, MultipleFileField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from cms.admin.base import (
    MAX_SEARCH_LENGTH,
    SecuredModelView,
    parse_id,
    return_url_target,
    when_column,
)
from cms.admin.post_forms import STATE_LABELS
from cms.admin.words import FILES
from cms.extensions import db
from cms.models import File, PostKind, PostStatus
from cms.services import audit, media_access, rerender, usage
from cms.services.dashboard import file_scope
from cms.services.media import (
    MAX_ALT_LENGTH,
    UploadRejected,
    clean_alt_text,
    clean_original_name,
    delete_file,
    store_upload,
)
from cms.services.roles import (
    STAFF,
    can_change_file,
    can_edit_post,
    can_manage_content,
    can_see_file,
    can_view_post,
)


class UploadForm(BaseForm):
    """New uploads: one file or several, and optionally the name to show for a single one."""

    upload = MultipleFileField(
        _l("Files"),
        [InputRequired()],
        description=_l("Choose one or more files; each is checked and stored on its own."),
    )
    original_name = StringField(
        _l("Display name"),
        [Optional(), Length(max=255)],
        description=_l("Leave empty to use the file's own name (used for a single file only)."),
    )


@dataclass
class UploadReport:
    """What became of the files of one upload request."""

    stored: list[File] = field(default_factory=list)
    # (file name, reason) of each file refused.
    refused: list[tuple[str, str]] = field(default_factory=list)

    def reasons(self) -> list[str]:
        """Return one "name — reason" line per refused file."""
        return [
            _("%(name)s — %(reason)s", name=name, reason=reason) for name, reason in self.refused
        ]

    def summary(self) -> str:
        """Return "3 uploaded, 1 refused: name — reason", or "3 files uploaded." if none was."""
        if not self.refused:
            return ngettext("%(num)d file uploaded.", "%(num)d files uploaded.", len(self.stored))
        return _(
            "%(uploaded)s, %(refused)s: %(details)s",
            uploaded=ngettext("%(num)d uploaded", "%(num)d uploaded", len(self.stored)),
            refused=ngettext("%(num)d refused", "%(num)d refused", len(self.refused)),
            details="; ".join(self.reasons()),
        )


class FractionField(StringField):
    """A share of an image's width or height: a number from 0 to 1, or a percentage."""

    def process_formdata(self, valuelist):
        """Read "0.25", "0,25", "25%" or "25 %" as 0.25; empty as None."""
        self.data = None
        text = (valuelist[0] if valuelist else "") or ""
        text = text.strip().replace(" ", "").replace(",", ".")
        if not text:
            return
        percent = text.endswith("%")
        try:
            value = float(text.rstrip("%"))
        except ValueError:
            value = math.nan
        if percent:
            value /= 100
        if not math.isfinite(value) or not 0 <= value <= 1:
            raise ValueError(
                _("Enter a number from 0 to 1 (such as 0.25) or a percentage (such as 25%).")
            )
        self.data = value

    def _value(self) -> str:
        """Show the stored fraction as a percentage (what was typed, after an error)."""
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return f"{format_decimal(self.data * 100, format='0.#')}%"


class RenameForm(BaseForm):
    """Changing a file: its display name; for images also alt text and focal point."""

    original_name = StringField(_l("Display name"), [InputRequired(), Length(max=255)])
    alt_text = TextAreaField(
        _l("Alt text"),
        [Optional(), Length(max=MAX_ALT_LENGTH)],
        description=_l(
            "What the image shows, in a sentence, for people who cannot see it. Every image in "
            "a published post needs this, or must be marked as decorative."
        ),
        render_kw={"rows": 2},
    )
    decorative = BooleanField(
        _l("Decorative image"),
        description=_l("Adds nothing to the text around it: screen readers skip it."),
    )
    focal_x = FractionField(
        _l("Focal point, across"),
        description=_l(
            "Where the subject is, from the left edge: 0 to 1 or a percentage (50% is the "
            "middle). Crops keep it in view. Leave both empty for the middle."
        ),
    )
    focal_y = FractionField(
        _l("Focal point, down"),
        description=_l("Where the subject is, from the top edge: 0 to 1 or a percentage."),
    )

    def validate_focal_y(self, field) -> None:
        """Take the focal point as a pair: both values or neither."""
        if field.process_errors or self.focal_x.process_errors:
            return
        if (self.focal_x.data is None) != (field.data is None):
            raise ValidationError(_("Give both focal point values, or leave both empty."))


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


class FileView(SecuredModelView):
    """Uploaded files: upload, list, details with a Markdown snippet, rename and delete."""

    allowed_roles = STAFF
    words = FILES
    can_create = True
    can_edit = True
    can_delete = True

    column_list = ("preview", "original_name", "content_type", "size", "uploader", "created_at")
    column_details_list = (
        "preview", "original_name", "snippet", "address", "alt", "focal_point", "used_by",
        "content_type", "size", "dimensions", "sha256", "uploader", "created_at",
    )  # fmt: skip
    edit_template = "admin/files/edit.html"
    create_template = "admin/files/create.html"
    column_labels = {
        "preview": _l("Preview"),
        "original_name": _l("Name"),
        "snippet": _l("Markdown"),
        "address": _l("Address"),
        "content_type": _l("Type"),
        "size": _l("Size"),
        "dimensions": _l("Dimensions"),
        "sha256": _l("SHA-256"),
        "uploader": _l("Uploaded by"),
        "created_at": _l("Uploaded"),
        "alt": _l("Alt text"),
        "focal_point": _l("Focal point"),
        "used_by": _l("Used by"),
    }
    column_searchable_list = ("original_name",)
    column_sortable_list = ("original_name", "content_type", "size", "created_at")
    column_default_sort = ("created_at", True)
    column_formatters = {
        "preview": thumbnail,
        "original_name": lambda view, context, model, name: Markup('<a href="{}">{}</a>').format(
            view.get_url(".details_view", id=model.id), model.original_name
        ),
        "size": lambda view, context, model, name: human_size(model.size),
        "uploader": lambda view, context, model, name: (
            model.uploader.name if model.uploader else ""
        ),
        "created_at": when_column,
    }
    column_formatters_detail = {
        **column_formatters,
        "original_name": lambda view, context, model, name: model.original_name,
        "snippet": snippet_box,
        "address": address_cell,
        "dimensions": lambda view, context, model, name: (
            f"{model.width} × {model.height}" if model.width else ""
        ),
        "alt": describe_alt,
        "focal_point": lambda view, context, model, name: (
            f"{format_decimal(model.focal_x * 100, format='0.#')}% × "
            f"{format_decimal(model.focal_y * 100, format='0.#')}%"
            if model.focal_x is not None and model.focal_y is not None
            else ""
        ),
        "used_by": lambda view, context, model, name: usage_list(model),
    }

    # --- Who sees what ---------------------------------------------------------------------

    def get_query(self):
        """Return the files this person may see (authors: their own uploads)."""
        return super().get_query().filter(file_scope(current_user))

    def get_count_query(self):
        """Count only the files this person may see."""
        return super().get_count_query().filter(file_scope(current_user))

    def get_one(self, id):
        """Return a file this person may see (details) or change (edit, delete); 404 otherwise."""
        record = self.get_query().filter(File.id == parse_id(id)).one_or_none()
        if record is None or not can_see_file(current_user, record):
            abort(404)
        # Authors see the files of published posts, but change only their own uploads.
        if not request.endpoint.endswith(".details_view") and not can_change_file(
            current_user, record
        ):
            abort(404)
        return record

    def usage_list(self, record: File) -> Markup:
        """Return the posts and pages that show a file, as links (for templates)."""
        return usage_list(record)

    # --- Upload, rename, delete --------------------------------------------------------

    def get_create_form(self):
        """Return the upload form."""
        return UploadForm

    def get_edit_form(self):
        """Return the edit form: display name; for images alt text and focal point."""
        return RenameForm

    def edit_form(self, obj=None):
        """Return the edit form; documents have no alt text or focal point."""
        form = super().edit_form(obj)
        if obj is not None and not obj.is_image:
            for name in IMAGE_FIELDS:
                del form[name]
        return form

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        """Edit a file; a refused change answers 400 with the reasons on the form."""
        response = super().edit_view()
        if request.method == "POST" and isinstance(response, str):
            return response, 400
        return response

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        """Upload one file or several; each is checked and stored on its own.

        The form: a redirect to the list when something was stored (a message names what was
        refused and why), 400 with the reasons on the form when nothing was. Asked for JSON
        (`Accept: application/json`, by the drop zone and the post editor): the same report
        as {"uploaded": [file...], "refused": [{"name", "reason"}...], "message"}, 400 when
        nothing was stored. The endpoint name is throttled (cms/limits.py: files.create_view).
        """
        return_url = return_url_target() or self.get_url(".index_view")
        form = self.create_form()
        if request.method != "POST":
            return self._render_upload_form(form, return_url)
        report = self.store_uploads(form) if self.validate_form(form) else None
        if wants_json():
            return self._json_report(form, report)
        if report is not None and report.stored:
            flash(report.summary(), "warning" if report.refused else "success")
            return redirect(self._after_upload_url(report, return_url))
        if report is not None:
            flash(report.summary(), "error")
            form.upload.errors = [*form.upload.errors, *report.reasons()]
        return self._render_upload_form(form, return_url), 400

    def _render_upload_form(self, form, return_url: str):
        """Return the upload page (Flask-Admin's create page with the drop zone)."""
        form_opts = FormOpts(widget_args=self.form_widget_args, form_rules=self._form_create_rules)
        return self.render(
            self.create_template, form=form, form_opts=form_opts, return_url=return_url
        )

    def _after_upload_url(self, report: UploadReport, return_url: str) -> str:
        """Return where the form's buttons lead after an upload (list, another, or edit)."""
        if "_add_another" in request.form:
            return self.get_url(".create_view", url=return_url)
        if "_continue_editing" in request.form and len(report.stored) == 1:
            return self.get_url(".edit_view", id=report.stored[0].id, url=return_url)
        return return_url

    def _json_report(self, form, report: UploadReport | None):
        """Return the upload report as JSON (400 when nothing was stored)."""
        if report is None:
            errors = [str(error) for item in form for error in item.errors]
            errors = errors or [_("Choose a file to upload.")]
            report = UploadReport(refused=[("", error) for error in errors])
            message = "; ".join(errors)
        else:
            message = report.summary()
        body = {
            "uploaded": [self.file_json(record) for record in report.stored],
            "refused": [{"name": name, "reason": reason} for name, reason in report.refused],
            "message": message,
        }
        return jsonify(body), 200 if report.stored else 400

    def store_uploads(self, form) -> UploadReport:
        """Check and store each uploaded file on its own; a refusal does not stop the others."""
        files = [upload for upload in form.upload.data or () if getattr(upload, "filename", "")]
        display_name = (form.original_name.data or "").strip() if len(files) == 1 else ""
        uploader = current_user._get_current_object()
        report = UploadReport()
        for upload in files:
            name = clean_original_name(upload.filename)
            try:
                record = store_upload(db.session, upload.read(), upload.filename, uploader)
                if display_name:
                    record.original_name = clean_original_name(display_name)
                db.session.flush()
                shown = audit.shorten(record.original_name)
                audit.record(
                    "upload", record, f"{shown} ({record.content_type}, {record.size} bytes)"
                )
                db.session.commit()
            except UploadRejected as error:
                # Nothing was written yet, or the rollback removes it again.
                db.session.rollback()
                report.refused.append((name, str(error)))
                continue
            except Exception:
                db.session.rollback()
                current_app.logger.exception("storing the upload %r failed", name)
                report.refused.append((name, _("The file could not be stored. Please try again.")))
                continue
            self.after_model_change(form, record, True)
            report.stored.append(record)
        return report

    # --- The post editor's picker ------------------------------------------------------

    def file_json(self, record: File) -> dict:
        """Return what the post editor and the drop zone show of a file."""
        focal = None
        if record.focal_x is not None and record.focal_y is not None:
            focal = [record.focal_x, record.focal_y]
        thumbnail = record.thumbnail_name
        return {
            "id": record.id,
            "name": record.original_name,
            "url": file_url(record),
            "thumbnail": media_access.dashboard_url(thumbnail) if thumbnail else None,
            "is_image": record.is_image,
            "width": record.width,
            "height": record.height,
            "alt": library_alt(record),
            "focal": focal,
            "markdown": insert_snippet(record),
            "details": self.get_url(".details_view", id=record.id),
        }

    @expose("/library/", methods=("GET",))
    def library(self):
        """Return the files this person may see, newest first, as JSON for the post editor.

        `?q=` searches the display names; `?type=image` keeps only images. At most
        LIBRARY_LIMIT files; `more` says whether there are others (search to find them).
        """
        query = self.get_query()
        text = (request.args.get("q") or "").strip()[:MAX_SEARCH_LENGTH]
        if text:
            pattern = "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"
            query = query.filter(File.original_name.ilike(pattern, escape="\\"))
        if request.args.get("type") == "image":
            query = query.filter(File.content_type.like("image/%"))
        rows = query.order_by(File.created_at.desc(), File.id.desc()).limit(LIBRARY_LIMIT + 1)
        rows = list(rows)
        return jsonify(
            files=[self.file_json(record) for record in rows[:LIBRARY_LIMIT]],
            more=len(rows) > LIBRARY_LIMIT,
        )

    def on_model_change(self, form, model, is_created):
        """Keep display names to printable text without folders, and alt text to one line."""
        name = clean_original_name(form.original_name.data)
        if not name.strip():
            raise ValidationError(_("The name cannot be empty."))
        model.original_name = name
        if "alt_text" in form:
            model.alt_text = clean_alt_text(form.alt_text.data)
        if not is_created:
            # The posts showing this image carry its alt text in their stored HTML.
            rerender.rerender_users(model)

    def delete_model(self, model):
        """Delete the row unless a post shows it; the bytes go once nothing names them."""
        if not can_change_file(current_user, model):
            abort(404)
        blocked = usage.delete_blockers([model])
        if blocked:
            flash(in_use_message(blocked), "error")
            return False
        audit.record("delete", model, audit.shorten(model.original_name))
        delete_file(db.session, model)
        db.session.commit()
        self.after_model_delete(model)
        return True

    @action("delete", _l("Delete"), _l("Delete the selected files?"))
    def action_delete(self, ids):
        """Delete the selected files, all or none; 404 if one is not this person's to change.

        Nothing is deleted when one of them is still shown by a post or page.
        """
        wanted = {parse_id(ident) for ident in ids}
        records = self.get_query().filter(File.id.in_(wanted)).all() if wanted else []
        if len(records) != len(wanted):
            abort(404)
        if not all(can_change_file(current_user, record) for record in records):
            abort(404)
        blocked = usage.delete_blockers(records)
        if blocked:
            flash(in_use_message(blocked), "error")
            return
        for record in records:
            audit.record("bulk:delete", record, audit.shorten(record.original_name))
            delete_file(db.session, record)
        db.session.commit()
        flash(ngettext("%(num)d file deleted.", "%(num)d files deleted.", len(records)), "success")
