"""Files: uploads checked by content, listed with thumbnails; authors see only their own."""

from flask import abort, flash, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.form import BaseForm
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_security import current_user
from markupsafe import Markup
from wtforms import FileField, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from cms.admin.base import SecuredModelView, parse_id, when_column
from cms.extensions import db
from cms.models import File
from cms.services import audit
from cms.services.dashboard import file_scope
from cms.services.media import UploadRejected, clean_original_name, delete_file, store_upload
from cms.services.roles import STAFF, can_see_file


class UploadForm(BaseForm):
    """A new upload: the file, and optionally the name to show for it."""

    upload = FileField(_l("File"), [InputRequired()])
    original_name = StringField(
        _l("Display name"),
        [Optional(), Length(max=255)],
        description=_l("Leave empty to use the file's own name."),
    )


class RenameForm(BaseForm):
    """Changing a file: only its display name."""

    original_name = StringField(_l("Display name"), [InputRequired(), Length(max=255)])


def file_url(record: File) -> str:
    """Return the public address of a stored file."""
    return url_for("public.upload", name=record.stored_name)


def markdown_snippet(record: File) -> str:
    """Return the Markdown that shows the file in a post (an image, or a link)."""
    # Brackets and backslashes in the name would end the link text early.
    label = "".join("\\" + ch if ch in "[]\\" else ch for ch in record.original_name)
    prefix = "!" if record.is_image else ""
    return f"{prefix}[{label}]({file_url(record)})"


def human_size(size: int) -> str:
    """Return a byte count as B, KB or MB in the reader's number format."""
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            return f"{format_decimal(size / factor, format='#,##0.#')} {unit}"
    return f"{format_decimal(size)} B"


def thumbnail(view, context, model, name) -> Markup:
    """Return the thumbnail of an image, or a file icon for documents."""
    if model.thumbnail_name:
        return Markup('<img class="cms-thumb" src="{}" alt="" loading="lazy">').format(
            url_for("public.upload", name=model.thumbnail_name)
        )
    return Markup('<span class="fa fa-file-o cms-file-icon" aria-hidden="true"></span>')


def snippet_box(view, context, model, name) -> Markup:
    """Return the Markdown snippet in a read-only field that is easy to select and copy."""
    return Markup(
        '<input type="text" class="form-control cms-snippet" readonly value="{}" aria-label="{}">'
    ).format(markdown_snippet(model), _("Markdown to insert this file into a post"))


class FileView(SecuredModelView):
    """Uploaded files: upload, list, details with a Markdown snippet, rename and delete."""

    allowed_roles = STAFF
    can_create = True
    can_edit = True
    can_delete = True

    column_list = ("preview", "original_name", "content_type", "size", "uploader", "created_at")
    column_details_list = (
        "preview", "original_name", "snippet", "address", "content_type", "size",
        "dimensions", "sha256", "uploader", "created_at",
    )  # fmt: skip
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
        "address": lambda view, context, model, name: Markup('<a href="{0}">{0}</a>').format(
            file_url(model)
        ),
        "dimensions": lambda view, context, model, name: (
            f"{model.width} × {model.height}" if model.width else ""
        ),
    }

    # --- Who sees what ---------------------------------------------------------------------

    def get_query(self):
        """Return the files this person may see (authors: their own uploads)."""
        return super().get_query().filter(file_scope(current_user))

    def get_count_query(self):
        """Count only the files this person may see."""
        return super().get_count_query().filter(file_scope(current_user))

    def get_one(self, id):
        """Return a file this person may see; 404 for everyone else's."""
        record = self.get_query().filter(File.id == parse_id(id)).one_or_none()
        if record is None or not can_see_file(current_user, record):
            abort(404)
        return record

    # --- Upload, rename, delete --------------------------------------------------------

    def get_create_form(self):
        """Return the upload form."""
        return UploadForm

    def get_edit_form(self):
        """Return the rename form: nothing but the display name can change."""
        return RenameForm

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        """Show the upload form; a refused upload answers 400 with the reason on the form."""
        response = super().create_view()
        if request.method == "POST" and isinstance(response, str):
            return response, 400
        return response

    def create_model(self, form):
        """Check and store the upload; a refusal becomes an error on the file field."""
        upload = form.upload.data
        try:
            if not upload or not getattr(upload, "filename", ""):
                raise UploadRejected(_("Choose a file to upload."))
            record = store_upload(
                db.session, upload.read(), upload.filename, current_user._get_current_object()
            )
            if form.original_name.data and form.original_name.data.strip():
                record.original_name = clean_original_name(form.original_name.data)
            db.session.flush()
            name = audit.shorten(record.original_name)
            audit.record("upload", record, f"{name} ({record.content_type}, {record.size} bytes)")
            db.session.commit()
        except UploadRejected as error:
            # Nothing was written yet, or the rollback removes it again.
            db.session.rollback()
            form.upload.errors = [*form.upload.errors, str(error)]
            return False
        except Exception as error:
            db.session.rollback()
            if not self.handle_view_exception(error):
                raise
            return False
        self.after_model_change(form, record, True)
        return record

    def on_model_change(self, form, model, is_created):
        """Keep display names to printable text without folders."""
        name = clean_original_name(form.original_name.data)
        if not name.strip():
            raise ValidationError(_("The name cannot be empty."))
        model.original_name = name

    def delete_model(self, model):
        """Delete the row; the stored bytes and thumbnail go once the deletion commits."""
        if not can_see_file(current_user, model):
            abort(404)
        audit.record("delete", model, audit.shorten(model.original_name))
        delete_file(db.session, model)
        db.session.commit()
        self.after_model_delete(model)
        return True

    @action("delete", _l("Delete"), _l("Delete the selected files?"))
    def action_delete(self, ids):
        """Delete the selected files, all or none; 404 if one is not this person's to see."""
        wanted = {parse_id(ident) for ident in ids}
        records = self.get_query().filter(File.id.in_(wanted)).all() if wanted else []
        if len(records) != len(wanted):
            abort(404)
        for record in records:
            audit.record("bulk:delete", record, audit.shorten(record.original_name))
            delete_file(db.session, record)
        db.session.commit()
        flash(ngettext("%(num)d file deleted.", "%(num)d files deleted.", len(records)), "success")

    def handle_action(self, return_view=None):
        """Refuse unknown bulk actions with 400 instead of ignoring them."""
        if request.form.get("action", "") not in self._actions_data:
            abort(400)
        return super().handle_action(return_view)
