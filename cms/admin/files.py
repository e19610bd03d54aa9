"""Files: uploads checked by content, listed with thumbnails; authors see only their own."""

import re

from flask import abort, current_app, flash, jsonify, redirect, request, session
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.form import FormOpts
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_security import current_user
from markupsafe import Markup
from wtforms.validators import ValidationError

from cms.admin import file_grid
from cms.admin.base import (
    MAX_SEARCH_LENGTH,
    NOT_SAVED,
    SecuredModelView,
    parse_id,
    return_url_target,
    when_column,
)
from cms.admin.file_columns import (
    IMAGE_FIELDS,
    LIBRARY_LIMIT,
    address_cell,
    describe_alt,
    file_url,
    human_size,
    in_use_message,
    insert_snippet,
    library_alt,
    snippet_box,
    thumbnail,
    usage_list,
    wants_json,
)
from cms.admin.file_describe import DescribeMixin
from cms.admin.file_forms import RenameForm, UploadForm, UploadReport
from cms.admin.words import FILES
from cms.extensions import db
from cms.models import File
from cms.services import audit, media_access, rerender, usage
from cms.services.dashboard import file_scope
from cms.services.media import (
    UploadRejected,
    clean_alt_text,
    clean_original_name,
    delete_file,
    store_upload,
)
from cms.services.roles import (
    STAFF,
    can_change_file,
    can_see_file,
)


class FileView(DescribeMixin, SecuredModelView):
    """Uploaded files: upload, list, details with a Markdown snippet, rename and delete."""

    allowed_roles = STAFF
    words = FILES
    # The grid or the table (file_grid), kept in the list's sort, search and filter links.
    list_args = (*SecuredModelView.list_args, "layout")
    can_create = True
    can_edit = True
    can_delete = True

    column_list = ("preview", "original_name", "content_type", "size", "uploader", "created_at")
    column_details_list = (
        "preview", "original_name", "snippet", "address", "alt", "focal_point", "used_by",
        "content_type", "size", "dimensions", "sha256", "uploader", "created_at",
    )  # fmt: skip
    list_template = "admin/files/list.html"
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
    # Each sort is backed by an index ending in the id (migrations 0014, 0016).
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

    # --- Grid or table (for templates) ---------------------------------------------------

    def layout(self) -> str:
        """Return the list's layout this request asks for ("grid" or "table")."""
        return file_grid.chosen_layout()

    def layout_url(self, layout: str) -> str:
        """Return the list's address in another layout."""
        return file_grid.layout_url(request.endpoint, layout)

    def card(self, record: File) -> file_grid.Card:
        """Return what a file's card in the grid shows."""
        return file_grid.card(self, record)

    def card_select(self, record: File) -> Markup:
        """Return the labelled checkbox that selects a file for a bulk action."""
        return file_grid.select_box(record)

    def card_size(self, record: File) -> str:
        """Return a file's size for its card."""
        return human_size(record.size)

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

    def render(self, template, **kwargs):
        """Draw a page; a refused edit says that nothing was saved (once: the base view may have
        said it already, for Flask-Admin's own "Failed to save record.")."""
        if template == self.edit_template and request.method == "POST":
            message = str(NOT_SAVED)
            if all(text != message for _category, text in session.get("_flashes", [])):
                flash(message, "error")
        return super().render(template, **kwargs)

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
        """Return where the form's buttons lead after an upload (list, another, or edit).

        New images without alt text are described first, on the way to where the button leads.
        """
        if "_continue_editing" in request.form and len(report.stored) == 1:
            return self.get_url(".edit_view", id=report.stored[0].id, url=return_url)
        if "_add_another" in request.form:
            return_url = self.get_url(".create_view", url=return_url)
        undescribed = [record for record in report.stored if not record.has_alt]
        return self.describe_url(undescribed, return_url) or return_url

    def _json_report(self, form, report: UploadReport | None):
        """Return the upload report as JSON (400 when nothing was stored)."""
        if report is None:
            errors = [str(error) for item in form for error in item.errors]
            errors = errors or [_("Choose a file to upload.")]
            report = UploadReport(refused=[("", error) for error in errors])
            message = "; ".join(errors)
        else:
            message = report.summary()
        undescribed = [record for record in report.stored if not record.has_alt]
        body = {
            "describe": self.describe_url(undescribed, self.get_url(".index_view")),
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
