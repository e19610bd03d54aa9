"""The post editor's background requests: autosave, image upload and alt text, slug preview.

Every endpoint here belongs to the posts and pages views (posts.autosave, pages.upload, ...),
so the views' access check runs first; each then checks the row it touches. Answers are JSON:
{"error": "<translated message>"} with 400 (bad input), 403 (not allowed), 404 (no such row
for this person) or 413 (too long). CSRF and throttling (cms/limits.py) apply as to any POST.
"""

import json

from flask import current_app, flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_babel import format_time, ngettext
from flask_babel import gettext as _
from flask_security import current_user

from cms.admin.base import ROW_ID
from cms.admin.rescue import fill_form
from cms.extensions import db
from cms.models import File, Post, PostKind
from cms.services import audit, autosave, media_access, rerender
from cms.services.dashboard import file_scope
from cms.services.media import (
    UploadRejected,
    alt_for,
    clean_alt_text,
    clean_original_name,
    store_upload,
)
from cms.services.rendering import max_body_chars
from cms.services.return_urls import safe_return_path
from cms.services.roles import can_change_file
from cms.services.slugs import preview_slug

RESTORE_ARG = "restore"
RESTORE_VALUE = "autosave"


def error(message: str, status: int):
    """Return a JSON error answer."""
    return jsonify(error=str(message)), status


def parse_row_id(raw) -> int | None:
    """Return a row id sent by a form or query string; None for empty or junk."""
    text = str(raw if raw is not None else "").strip()
    return int(text) if ROW_ID.match(text) else None


def iso_utc(stored) -> str:
    """Return a stored naive-UTC time as ISO 8601 with a Z."""
    return stored.replace(microsecond=0).isoformat() + "Z"


def file_answer(record: File) -> dict:
    """Return what the editor needs of an uploaded file (contract point 4)."""
    # Bytes uploaded before share their description: any copy's alt text or "decorative".
    library = alt_for(record.stored_name) if record.is_image else ""
    return {
        "id": record.id,
        "url": url_for("public.upload", name=record.stored_name),
        "preview_url": media_access.dashboard_url(record.stored_name),
        "name": record.original_name,
        "needs_alt": bool(record.is_image and library is None),
        "alt": library or "",
        "decorative": bool(record.decorative),
    }


class EditorMixin:
    """Autosave, upload, alt text and slug endpoints, and what the edit page shows of them."""

    kind: str

    # --- Which post a background request is about --------------------------------------

    def _post_for_editing(self, raw_id):
        """Return (post or None, error answer or None) for a posted post_id.

        Empty: a new post (None, None). A post this person cannot see: 404; one they may see
        but not change (an author's post in review): 403.
        """
        if raw_id in (None, ""):
            return None, None
        post_id = parse_row_id(raw_id)
        if post_id is None:
            return None, error(_("This post does not exist."), 404)
        post = self.get_query().filter(Post.id == post_id).one_or_none()
        if post is None:
            return None, error(_("This post does not exist."), 404)
        if not self.may_change(post):
            return None, error(_("You may not change this post."), 403)
        return post, None

    # --- Autosave --------------------------------------------------------------------------

    @expose("/autosave/", methods=("POST",))
    def autosave(self):
        """Keep the posted form in this person's autosave slot (not a revision)."""
        post, refused = self._post_for_editing(request.form.get("post_id"))
        if refused is not None:
            return refused
        version = parse_row_id(request.form.get("version")) if post is not None else None
        try:
            slot = autosave.keep(
                current_user._get_current_object(), self.kind, post, request.form, version
            )
        except autosave.AutosaveRefused as problem:
            return error(str(problem), problem.status)
        return jsonify(
            saved_at=iso_utc(slot.saved_at),
            label=_("Saved at %(time)s", time=format_time(slot.saved_at, "short")),
        )

    @expose("/autosave/discard/", methods=("POST",))
    def autosave_discard(self):
        """Delete this person's autosave slot of a post (or of the create form)."""
        post, refused = self._post_for_editing(request.form.get("post_id"))
        if refused is not None:
            return refused
        autosave.discard(current_user, self.kind, post.id if post is not None else None)
        db.session.commit()
        # The banner's own form (no script) names the page to go back to.
        back = safe_return_path(request.form.get("next"), root=url_for("admin.index"))
        if back is not None:
            flash(_("The unsaved changes were discarded."), "info")
            return redirect(back, 303)
        return jsonify({})

    def keep_refused_form(self, post) -> None:
        """Keep a form whose save was refused in the autosave slot, so leaving loses nothing."""
        db.session.rollback()
        if post is not None and not self.may_change(post):
            return
        version = parse_row_id(request.form.get("version")) if post is not None else None
        try:
            autosave.keep(current_user, self.kind, post, request.form, version)
        except autosave.AutosaveRefused:
            # Too long to keep; the form on the page still holds it.
            db.session.rollback()

    def autosave_offer(self, post):
        """Return the slot the edit or create page offers to restore, or None.

        Only on a plain GET (not after a refused save, nor while restoring), and only when it
        holds text the stored post lacks.
        """
        if request.method != "GET" or request.args.get(RESTORE_ARG) == RESTORE_VALUE:
            return None
        slot = autosave.find(current_user, self.kind, post.id if post is not None else None)
        if slot is None or not autosave.differs(slot, post):
            return None
        return slot

    def autosave_restore_url(self) -> str:
        """Return the address of this form filled from the autosave slot."""
        args = request.args.to_dict()
        args[RESTORE_ARG] = RESTORE_VALUE
        return url_for(request.endpoint, **args)

    def autosave_label(self, slot) -> str:
        """Return "Restore the unsaved changes from 14:03" for the banner."""
        return _(
            "Restore the unsaved changes from %(time)s",
            time=format_time(slot.saved_at, "short"),
        )

    def apply_autosave(self, form, post):
        """Fill the form from the autosave slot on GET ?restore=autosave; return the form.

        The slot's version is kept, so saving over a newer version gets the 409 screen.
        """
        if request.method != "GET" or request.args.get(RESTORE_ARG) != RESTORE_VALUE:
            return form
        slot = autosave.find(current_user, self.kind, post.id if post is not None else None)
        if slot is None:
            flash(_("There are no unsaved changes to restore."), "warning")
            return form
        fill_form(form, autosave.values(slot), skip="version")
        if "version" in form and post is not None:
            form.version.data = slot.version if slot.version is not None else post.version
        flash(_("Your unsaved changes were restored. Review them and save."), "info")
        return form

    # --- Images from the editor ------------------------------------------------------------

    @expose("/upload/", methods=("POST",))
    def upload(self):
        """Store one image or file dropped into the editor: the Files upload's checks, quotas,
        throttling (cms/limits.py) and audit; 201 with what the editor inserts."""
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            return error(_("Choose a file to upload."), 400)
        uploader = current_user._get_current_object()
        name = clean_original_name(upload.filename)
        data = upload.read()
        if len(data) > current_app.config["MAX_CONTENT_LENGTH"]:
            return error(_("The file is larger than the upload limit."), 413)
        try:
            record = store_upload(db.session, data, upload.filename, uploader)
            summary = f"{record.content_type}, {record.size} bytes"
            audit.record("upload", record, f"{audit.shorten(record.original_name)} ({summary})")
            db.session.commit()
        except UploadRejected as problem:
            # Nothing was written yet, or the rollback removes it again.
            db.session.rollback()
            return error(_("%(name)s — %(reason)s", name=name, reason=problem), 400)
        except Exception:
            db.session.rollback()
            current_app.logger.exception("storing the upload %r failed", name)
            return error(_("The file could not be stored. Please try again."), 500)
        return jsonify(file_answer(record)), 201

    @expose("/alt/", methods=("POST",))
    def alt_text(self):
        """Set an image's alt text, or mark it decorative, from the editor."""
        file_id = parse_row_id(request.form.get("id"))
        record = None
        if file_id is not None:
            record = (
                db.session.query(File)
                .filter(File.id == file_id, file_scope(current_user))
                .one_or_none()
            )
        if record is None:
            return error(_("This file does not exist."), 404)
        if not can_change_file(current_user, record):
            return error(_("You may not change this file."), 403)
        if not record.is_image:
            return error(_("Only images have alt text."), 400)
        decorative = request.form.get("decorative") in ("1", "true", "on", "y")
        alt = clean_alt_text(request.form.get("alt"))
        if not decorative and not alt:
            return error(_("Describe the image in a few words, or mark it as decorative."), 400)
        record.decorative = decorative
        record.alt_text = "" if decorative else alt
        # The posts showing this image carry its alt text in their stored HTML.
        rerender.rerender_users(record)
        audit.record("alt", record, audit.shorten(record.alt_text or "decorative"))
        db.session.commit()
        return jsonify(alt=record.alt_text, decorative=record.decorative)

    # --- The address while typing ----------------------------------------------------------

    @expose("/slug/", methods=("GET",))
    def slug_preview(self):
        """Return the address a save would give this title (or typed address), reading only."""
        text = (request.args.get("slug") or "").strip() or request.args.get("title") or ""
        text = text[:1000]
        raw_id = request.args.get("id") or ""
        exclude = parse_row_id(raw_id)
        if raw_id and exclude is None:
            return error(_("This post does not exist."), 400)
        slug, reserved = preview_slug(self.kind, text, exclude)
        endpoint = "public.page" if self.kind == PostKind.PAGE else "public.post"
        answer = {"slug": slug, "url": url_for(endpoint, slug=slug, _external=True)}
        if reserved:
            answer["error"] = _(
                "This address is used by the site itself. Please choose another one."
            )
        return jsonify(answer)

    # --- What the editor script reads ------------------------------------------------------

    def editor_config(self, post) -> dict:
        """Return the data-* attributes of <div id="cms-editor-config"> (contract point 3)."""
        return {
            "data-preview-url": self.get_url(".preview"),
            "data-autosave-url": self.get_url(".autosave"),
            "data-autosave-discard-url": self.get_url(".autosave_discard"),
            "data-upload-url": self.get_url(".upload"),
            "data-alt-url": self.get_url(".alt_text"),
            "data-slug-url": self.get_url(".slug_preview"),
            "data-post-id": str(post.id) if post is not None else "",
            "data-max-body-chars": str(max_body_chars()),
            "data-messages": json.dumps(editor_messages(), ensure_ascii=False),
        }


def editor_messages() -> dict[str, str]:
    """Return every string the editor script shows, translated (keys: contract point 6).

    "words" and "readingTime" come in the plural forms of the language: words_one and
    words_other, readingTime_one and readingTime_other, with {n} for the number.
    """
    return {
        "bold": _("Bold"),
        "italic": _("Italic"),
        "link": _("Link"),
        "heading": _("Heading"),
        "quote": _("Quote"),
        "bulletList": _("Bulleted list"),
        "numberedList": _("Numbered list"),
        "code": _("Code"),
        "table": _("Table"),
        "image": _("Image"),
        "preview": _("Preview"),
        # ngettext with 1 and 2 gives the singular and the plural; {n} is filled in by the script.
        "words_one": ngettext("%(n)s word", "%(n)s words", 1, n="{n}"),
        "words_other": ngettext("%(n)s word", "%(n)s words", 2, n="{n}"),
        "readingTime_one": ngettext("%(n)s min read", "%(n)s min read", 1, n="{n}"),
        "readingTime_other": ngettext("%(n)s min read", "%(n)s min read", 2, n="{n}"),
        "saving": _("Saving…"),
        "saved": _("Saved"),
        # {reason} is filled in by the script: the server's message, or the "offline" text.
        "saveFailed": _(
            "Not saved: %(reason)s. Your changes are still in this window.", reason="{reason}"
        ),
        "leaveWarning": _("You have unsaved changes. Leave this page anyway?"),
        "altPrompt": _("Describe this image for people who cannot see it:"),
        "altDecorative": _("Decorative (screen readers skip it)"),
        "altSave": _("Save alt text"),
        "uploadFailed": _("The upload failed."),
        "uploading": _("Uploading…"),
        "previewFailed": _("The preview could not be made."),
        "previewEmpty": _("Nothing to preview yet."),
        "tooLong": _(
            "The body is too long: %(length)s characters, at most %(limit)s allowed.",
            length="{length}",
            limit="{limit}",
        ),
        "toolbar": _("Formatting"),
        "placeholder": _("Write here. Markdown works: **bold**, _italic_, # Heading, - list."),
        "editorLabel": _("Body"),
        "tableColumn": _("Column %(n)s", n="{n}"),
        "altText": _("Alt text"),
        "altSkip": _("Not now"),
        "altRequired": _("Describe the image in a few words, or mark it as decorative."),
        "offline": _("no connection to the server"),
        "signedOut": _("you are signed out; sign in again in another tab"),
    }
