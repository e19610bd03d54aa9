"""Posts: editors and admins see all and publish; authors write and change their own drafts."""

from flask import (
    abort,
    flash,
    g,
    has_request_context,
    jsonify,
    make_response,
    redirect,
    request,
    url_for,
)
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.helpers import is_form_submitted
from flask_admin.model.template import ViewPopupRowAction, ViewRowAction
from flask_babel import format_number, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_security import current_user
from markupsafe import Markup
from sqlalchemy import and_
from sqlalchemy.orm.exc import StaleDataError
from wtforms.validators import ValidationError

from cms.admin.base import (
    SecuredModelView,
    format_when,
    parse_id,
    return_url_target,
    when_column,
)
from cms.admin.post_actions import FormActionsMixin, commit_or_conflict, parse_version
from cms.admin.post_editor import EditorMixin
from cms.admin.post_filters import post_filters
from cms.admin.post_forms import (
    PUBLISHER_FIELDS,
    STATE_BADGES,
    STATE_LABELS,
    PostForm,
    describe_times,
)
from cms.admin.post_tabs import StatusTabsMixin
from cms.admin.presence import PresenceMixin
from cms.admin.rescue import RescueMixin
from cms.admin.revisions import RevisionsMixin
from cms.admin.undo import offer_undo
from cms.admin.words import POSTS
from cms.extensions import db
from cms.models import Post, PostKind, PostStatus
from cms.models.base import begin_writing
from cms.services import (
    audit,
    autosave,
    dashboard,
    external_media,
    list_search,
    media,
    media_access,
    revisions,
    submissions,
    tags,
    timezones,
    undo,
    workflow,
)
from cms.services.media_library import MediaLibrary
from cms.services.posts import finish_for_save, render_for_save
from cms.services.previews import preview_url
from cms.services.rendering import make_excerpt, max_body_chars, render_markdown
from cms.services.roles import (
    STAFF,
    can_edit_post,
    can_manage_content,
    can_publish,
    can_view_post,
)

# Bulk moves of more posts than this get no Undo (the note travels in the session cookie).
MAX_UNDO = 100


class PostView(
    FormActionsMixin,
    EditorMixin,
    PresenceMixin,
    RescueMixin,
    RevisionsMixin,
    StatusTabsMixin,
    SecuredModelView,
):
    """Posts, with Markdown preview, field rules per role and row checks on every endpoint."""

    allowed_roles = STAFF
    kind = PostKind.POST
    words = POSTS
    # Form fields this kind of content does not have.
    fields_left_out: tuple[str, ...] = ()
    form = PostForm
    list_template = "admin/posts/list.html"
    create_template = "admin/posts/create.html"
    edit_template = "admin/posts/edit.html"
    details_template = "admin/posts/details.html"
    form_widget_args = {"body_md": {"rows": 18, "class": "form-control cms-markdown"}}
    form_excluded_columns = ()

    column_list = ("title", "status", "author", "tags", "published_at", "updated_at")
    column_details_list = (
        "title", "slug", "status", "author", "tags", "published_at", "created_at",
        "updated_at", "excerpt", "body_html",
    )  # fmt: skip
    column_export_list = (
        "id", "title", "slug", "status", "author", "tags", "published_at", "updated_at",
    )  # fmt: skip
    column_labels = {
        "id": _l("ID"), "title": _l("Title"), "slug": _l("Address"), "status": _l("Status"),
        "author": _l("Author"), "tags": _l("Tags"), "published_at": _l("Publication time"),
        "created_at": _l("Created"), "updated_at": _l("Last change"), "excerpt": _l("Excerpt"),
        "body_md": _l("Body"), "body_html": _l("Body as readers see it"),
        "unpublish_at": _l("Unpublish time"), "review_note": _l("Editor's comment"),
        "meta_title": _l("Title for search engines"),
        "meta_description": _l("Description for search engines"),
        "canonical_url": _l("Canonical address"), "social_image": _l("Image for social media"),
    }  # fmt: skip
    column_searchable_list = ("title", "body_md")
    # Each sort is an index of the post table, with the id as tie-breaker (keyset paging);
    # states have their tabs, authors their filter.
    column_sortable_list = ("title", "published_at", "updated_at")
    column_default_sort = ("updated_at", True)
    # Readable filter arguments (?flt0_status_equals=draft), so links to a filter are stable.
    named_filter_urls = True
    column_filters = post_filters()
    export_types = ["csv"]
    export_max_rows = 50_000

    # --- Who sees and changes what --------------------------------------------------------

    @property
    def can_export(self) -> bool:
        """Only people who see every post may export them."""
        return has_request_context() and can_manage_content(current_user)

    def _handle_view(self, name, **kwargs):
        """Check the role for every endpoint, then refuse the export to authors."""
        response = super()._handle_view(name, **kwargs)
        if response is None and name == "export" and not self.can_export:
            abort(403)
        return response

    def scope(self):
        """Return the SQL condition for the rows of this view this person may see."""
        return and_(
            Post.kind == self.kind,
            Post.status != PostStatus.TRASHED,
            dashboard.post_scope(current_user),
        )

    def get_query(self):
        """Return the posts this person may see (authors: their own); the trash is apart."""
        return super().get_query().filter(self.scope())

    def get_count_query(self):
        """Count only the posts this person may see."""
        return super().get_count_query().filter(self.scope())

    def _apply_search(self, query, count_query, joins, count_joins, search):
        """Search through the full-text index (title, body, excerpt, tags, author), not LIKE."""
        return query.filter(list_search.condition(search)), count_query, joins, count_joins

    def get_one(self, id):
        """Return the post for details, edit or delete; 404 if this person may not do that."""
        post = self.get_query().filter(Post.id == parse_id(id)).one_or_none()
        if post is None or not can_view_post(current_user, post):
            abort(404)
        # Published posts are read-only to their authors: only the details page opens.
        if not request.endpoint.endswith(".details_view") and not self.may_change(post):
            abort(404)
        return post

    def may_change(self, post) -> bool:
        """Return whether this person may edit or delete the post."""
        return can_edit_post(current_user, post)

    def may_delete_row(self, row) -> bool:
        """Return whether the list offers "Move to trash" on this post to this person."""
        return workflow.allowed(current_user, row, "trash")

    def preview_url(self, post) -> str:
        """Return the signed link that shows this post to anyone who has it."""
        return preview_url(post)

    def row_actions_for(self, post, actions):
        """Return the list's row buttons this person may use on this post."""
        if self.may_change(post):
            return actions
        return [item for item in actions if isinstance(item, (ViewRowAction, ViewPopupRowAction))]

    # --- Forms -----------------------------------------------------------------------------

    def create_form(self, obj=None):
        """Return the create form for this person; publishers' new posts default to themselves."""
        form = self._fields_for_role(super().create_form(obj))
        del form["version"]
        if not is_form_submitted():
            form.submission.data = submissions.new_token()
            if "author" in form:
                form.author.data = current_user._get_current_object()
        self.apply_rescued(form, None)
        self.apply_autosave(form, None)
        return form

    def edit_form(self, obj=None):
        """Return the edit form for this person; the current author stays selectable."""
        form = self._fields_for_role(super().edit_form(obj))
        del form["submission"]
        if "author" in form and obj is not None:
            form.author.query = dashboard.staff_users(include_id=obj.author_id)
        if "social_image" in form and obj is not None:
            # The image the post already shows stays selectable (keeping it exposes nothing).
            user = current_user._get_current_object()
            form.social_image.query = dashboard.image_files(user, include_id=obj.social_image_id)
        if obj is not None and not is_form_submitted():
            form.version.data = obj.version
            # An excerpt made from the body is shown empty, so it follows the body when saved
            # (and is not mistaken for a typed one in comparisons).
            if (obj.excerpt or "") == make_excerpt(obj.body_html or ""):
                form.excerpt.data = ""
        self.apply_rescued(form, obj)
        self.apply_autosave(form, obj)
        return form

    def _fields_for_role(self, form):
        """Remove the fields this person may not set, so crafted values are never read."""
        for name in self.fields_left_out:
            if name in form:
                del form[name]
        if not can_publish(current_user):
            for name in PUBLISHER_FIELDS:
                if name in form:
                    del form[name]
        if "tags" in form:
            form.tags.allow_new = tags.may_create(current_user)
        describe_times(form, timezones.zone_name_of(current_user))
        return form

    def on_model_change(self, form, model, is_created):
        """Apply the role rules and render the body, reading only; then, in the short write
        phase, claim the form, make the slug unique and stamp the publication time.

        On SQLite the write lock is taken at begin_writing() and held until the commit that
        follows: rendering 100 KB must not make everyone else's saves and logins wait.
        """
        user = current_user._get_current_object()
        if is_created:
            model.kind = self.kind
        old_status = None if is_created else g.get("cms_loaded_status")
        action = self.posted_action(None if is_created else g.get("cms_allowed_actions"))
        # Reading only: no autoflush may start the write phase before the slow work is done.
        with db.session.no_autoflush:
            if not can_publish(user):
                if not is_created and not can_edit_post(user, model):
                    raise ValidationError(_("You may only change your own drafts."))
                # Belt and braces: the fields are gone from the form, the values are forced.
                model.status = PostStatus.DRAFT
                if is_created:
                    model.author = user
            elif action is not None:
                self.apply_action(action, model, old_status)
            self.check_slug(model)
            # An excerpt equal to the one made from the old body was made by us, not typed.
            typed = (form.excerpt.data or "").strip()
            generated = make_excerpt(model.body_html or "")
            excerpt_given = bool(typed) and typed != generated
            # Images and video thumbnails from other hosts: fetched now, stored below.
            imports = external_media.fetch_for_save(model)
            render_for_save(model, excerpt_given=excerpt_given)
            if model.status == PostStatus.PUBLISHED:
                missing = media.images_missing_alt(model)
                if missing:
                    raise ValidationError(media.missing_alt_message(missing))
                # Images fetched just now are stored below, with the alt text the body gives.
                undescribed = imports.undescribed()
                if undescribed:
                    raise ValidationError(external_media.missing_alt_message(undescribed))
            event = workflow.form_event(old_status, model)
            if action in ("publish", "schedule", "unpublish"):
                event = "schedule" if model.state == "scheduled" else action
            g.cms_saved_action = action or event
            if action == "submit":
                # "Save and submit for review": the same checks as the workflow button.
                try:
                    workflow.apply(model, "submit", user)
                except workflow.TransitionRefused as refused:
                    raise ValidationError(str(refused)) from None
            elif event:
                revisions.mark(model, event)
                if event == "submit":
                    model.review_note = ""
        # The write phase: what is checked from here on sees every save committed before.
        begin_writing(db.session)
        # Tags typed into the form get their unique addresses before anything is flushed.
        tags.give_slugs(model.tags if "tags" in form else ())
        if is_created:
            try:
                submissions.claim(form.submission.data)
            except submissions.AlreadySubmitted as refused:
                raise ValidationError(str(refused)) from None
        finish_for_save(model)
        if imports and external_media.store_for_save(model, imports, user):
            render_for_save(model, excerpt_given=excerpt_given)
        for note in imports.notes:
            flash(note, "warning")
        # Saved: the autosave slot of this form has served its purpose (same commit).
        autosave.discard(user, self.kind, None if is_created else model.id)

    def check_slug(self, model) -> None:
        """Refuse an address the site needs for itself (used by pages)."""

    def on_model_delete(self, model):
        """Refuse to delete a post this person may not change."""
        if not self.may_change(model):
            raise ValidationError(_("You may only delete your own drafts."))

    # --- Saving without losing anyone's work ----------------------------------------------

    def update_model(self, form, model) -> bool:
        """Save the form unless the post changed since the form was loaded (no lost update).

        The form carries the version it was loaded from. A newer version in the database means
        someone else saved meanwhile: nothing is saved, the form keeps this person's text, and
        the page says who changed it, when, and what. The UPDATE itself also names the version
        (SQLAlchemy's version counter), so of saves racing on the same version exactly one
        commits, on SQLite and PostgreSQL alike.
        """
        loaded = self._loaded_version(form)
        g.cms_loaded_status = model.status
        # The buttons the post offered as it was loaded (its state before this form).
        g.cms_allowed_actions = [item.name for item in self.form_actions(model)]
        if loaded != model.version:
            return self._refuse_stale(form, model)
        try:
            with db.session.no_autoflush:
                form.populate_obj(model)
            # Renders before the write phase, which ends with this commit.
            self._on_model_change(form, model, False)
            db.session.commit()
        except StaleDataError:
            db.session.rollback()
            db.session.refresh(model)
            return self._refuse_stale(form, model)
        except Exception as ex:
            if not self.handle_view_exception(ex):
                raise
            db.session.rollback()
            return False
        self.after_model_change(form, model, False)
        return True

    @staticmethod
    def _loaded_version(form) -> int | None:
        """Return the version number the form was loaded from (None if missing or junk)."""
        return parse_version(form.version.data if "version" in form else None)

    def submitted_snapshot(self, form, model) -> dict:
        """Return what the form asks to save, as a revision snapshot (for comparisons)."""
        data = revisions.snapshot(model)
        for name in revisions.FIELDS:
            if name in form and name not in ("author_id", "social_image_id"):
                data[name] = form[name].data
        if "tags" in form:
            data["tags"] = [{"id": tag.id, "name": tag.name} for tag in form.tags.data or []]
        if not (data["excerpt"] or "").strip():
            data["excerpt"] = make_excerpt(render_markdown(data["body_md"] or ""))
        return data

    def _refuse_stale(self, form, model) -> bool:
        """Refuse a save over a newer version, or accept it silently if it is a repeat."""
        newest = revisions.latest(db.session, model.id)
        mine = self.submitted_snapshot(form, model)
        current = revisions.snapshot(model)
        by_me = newest is not None and newest.created_by_id == current_user.id
        ignored = {"status": None, "published_at": None, "excerpt": None, "slug": None}
        mine_text = {**mine, "title": (mine["title"] or "").strip(), **ignored}
        if by_me and revisions.same_content({**current, **ignored}, mine_text):
            # A double-clicked or resent Save: the first one already stored this text.
            return True
        who = newest.created_by_name if newest and newest.created_by_name else _("someone")
        when = format_when(newest.created_at) if newest else ""
        flash(
            _(
                "%(name)s changed this item at %(when)s, after you opened it. Nothing was saved: "
                "your text is still in the form below. Compare it with their version; saving "
                "again replaces their version with yours (theirs stays in the history).",
                name=who,
                when=when,
            ),
            "error",
        )
        g.cms_conflict = {"by": who, "at": when, "current": current, "mine": mine}
        # The next save is a deliberate choice made after seeing the difference.
        form.version.data = model.version
        return False

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        """Edit a post; a save refused as stale answers 409 Conflict with the form kept.

        "Move to trash" trashes the post as stored, saving nothing of the form. A refused save
        keeps the form in the autosave slot, so the text survives leaving the page.
        """
        if request.method == "POST" and request.form.get("workflow") == "trash":
            return self._trash_from_form()
        response = super().edit_view()
        if g.get("cms_conflict"):
            response = make_response(response)
            response.status_code = 409
        if request.method == "POST":
            self._after_post(response, self._posted_post())
        return response

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        """Create a post; a refused save keeps the form in the autosave slot."""
        response = super().create_view()
        if request.method == "POST":
            self._after_post(response, None)
        return response

    @expose("/delete/", methods=("POST",))
    def delete_view(self):
        """Move a post to the trash (nothing is deleted for good here), with an Undo."""
        return_url = return_url_target() or self.get_url(".index_view")
        form = self.delete_form()
        if not self.validate_form(form):
            abort(400)
        post = self.get_one(form.id.data)
        before = post.status
        try:
            workflow.apply(post, "trash", current_user)
        except workflow.TransitionRefused as refused:
            flash(str(refused), "error")
            return redirect(return_url)
        audit.record("trash", post, audit.shorten(post.title))
        commit_or_conflict()
        self.trashed([(post, before)], return_url)
        return redirect(return_url)

    def trashed(self, moved: list, return_url: str) -> None:
        """Say what went to the trash, with an Undo button: [(post, status before)]."""
        if len(moved) == 1:
            flash(_("“%(title)s” moved to trash.", title=moved[0][0].title), "success")
        else:
            flash(
                ngettext(
                    "%(num)d item moved to trash.", "%(num)d items moved to trash.", len(moved)
                ),
                "success",
            )
        if len(moved) <= MAX_UNDO:
            note = undo.note_for(moved, current_user)
            offer_undo(".undo_view", note, return_url)

    @expose("/undo/", methods=("POST",))
    def undo_view(self):
        """Put back what this person just moved to the trash, as it was."""
        return_url = return_url_target() or self.get_url(".index_view")
        try:
            posts = undo.undo(request.form.get("note", ""), current_user)
        except undo.UndoRefused as refused:
            flash(str(refused), "error")
            return redirect(return_url)
        for post in posts:
            audit.record("untrash", post, audit.shorten(post.title))
        commit_or_conflict()
        if len(posts) == 1:
            flash(_("“%(title)s” is back.", title=posts[0].title), "success")
        else:
            flash(
                ngettext("%(num)d item is back.", "%(num)d items are back.", len(posts)),
                "success",
            )
        return redirect(return_url)

    @expose("/workflow/<int:id>/", methods=("POST",))
    def workflow_view(self, id):
        """Make one workflow move on a post from its edit page (submit, send back, ...)."""
        post = self.get_query().filter(Post.id == id).one_or_none()
        if post is None or not can_view_post(current_user, post):
            abort(404)
        name = request.form.get("transition", "")
        if name not in workflow.TRANSITIONS:
            abort(400)
        if not workflow.allowed(current_user, post, name):
            abort(403)
        if parse_version(request.form.get("version")) != post.version:
            abort(409)
        note = request.form.get("note", "")[:2000]
        try:
            move = workflow.apply(post, name, current_user, note=note)
        except workflow.TransitionRefused as refused:
            flash(str(refused), "error")
            return redirect(self.get_url(".edit_view", id=post.id))
        audit.record(f"workflow:{name}", post, audit.shorten(note or post.title))
        commit_or_conflict()
        flash(_("Done: %(action)s.", action=move.label), "success")
        target = ".edit_view" if self.may_change(post) else ".details_view"
        return redirect(self.get_url(target, id=post.id))

    def offers_submit(self, post) -> bool:
        """Return whether the form gets "Save and submit for review" (authors' drafts)."""
        if can_publish(current_user):
            return False
        return post is None or workflow.allowed(current_user, post, "submit")

    def status_badge(self, post) -> Markup:
        """Return the post's state as a badge (for templates)."""
        return status_badge(post)

    def conflict(self) -> dict | None:
        """Return who saved over this form and the field differences, after a refused save."""
        found = g.get("cms_conflict")
        if not found:
            return None
        from cms.services import diff

        return {**found, "changes": diff.compare(found["current"], found["mine"])}

    def workflow_moves(self, post) -> list:
        """Return the workflow buttons this person gets on the edit page of this post."""
        shown = ("submit", "withdraw", "send_back")
        return [move for move in workflow.available(current_user, post) if move.name in shown]

    # --- Bulk actions -------------------------------------------------------------------

    def is_action_allowed(self, name: str) -> bool:
        """Offer Publish and Unpublish only to people who may publish."""
        if name in ("publish", "unpublish") and not can_publish(current_user):
            return False
        return super().is_action_allowed(name)

    def _move_selected(self, ids, name: str) -> int:
        """Make one workflow move on every selected post, all or none; return how many."""
        posts = self.selected_rows(ids)
        user = current_user._get_current_object()
        if not all(workflow.allowed(user, post, name) for post in posts):
            # Nothing changes when one of them may not make this move.
            abort(403)
        try:
            # Every post is rendered before the first write (the short write phase).
            with db.session.no_autoflush:
                for post in posts:
                    before = post.status
                    workflow.apply(post, name, user)
                    audit.record(f"bulk:{name}", post, f"status: {before} -> {post.status}")
        except workflow.TransitionRefused as refused:
            # All or none: e.g. one post shows an image without alt text.
            db.session.rollback()
            flash(str(refused), "error")
            abort(redirect(return_url_target() or self.get_url(".index_view")))
        commit_or_conflict()
        return len(posts)

    @action("delete", _l("Move to trash"), _l("Move the selected items to the trash?"))
    def action_delete(self, ids):
        """Move the selected posts to the trash, all or none, with one Undo for all."""
        posts = self.selected_rows(ids)
        before = [(post, post.status) for post in posts]
        self._move_selected(ids, "trash")
        self.trashed(before, return_url_target() or self.get_url(".index_view"))

    @action("submit", _l("Submit for review"), _l("Submit the selected drafts for review?"))
    def action_submit(self, ids):
        """Submit the selected drafts for review."""
        count = self._move_selected(ids, "submit")
        flash(
            ngettext("%(num)d item submitted for review.", "%(num)d items submitted.", count),
            "success",
        )

    @action("publish", _l("Publish"), _l("Publish the selected posts?"))
    def action_publish(self, ids):
        """Publish the selected posts (now, unless they have a publication time)."""
        if not can_publish(current_user):
            abort(403)
        count = self._move_selected(ids, "publish")
        flash(ngettext("%(num)d post published.", "%(num)d posts published.", count), "success")

    @action("unpublish", _l("Unpublish"), _l("Turn the selected posts back into drafts?"))
    def action_unpublish(self, ids):
        """Turn the selected posts back into drafts."""
        if not can_publish(current_user):
            abort(403)
        count = self._move_selected(ids, "unpublish")
        flash(ngettext("%(num)d post unpublished.", "%(num)d posts unpublished.", count), "success")

    # --- Preview and export -----------------------------------------------------------

    @expose("/preview/", methods=("POST",))
    def preview(self):
        """Return the sanitized HTML that the posted Markdown would be saved as."""
        source = request.form.get("body_md", "")
        limit = max_body_chars()
        if len(source) > limit:
            message = _(
                "The body is too long: %(length)s characters, at most %(limit)s allowed.",
                length=format_number(len(source)),
                limit=format_number(limit),
            )
            return jsonify(error=message), 413
        html = render_markdown(source, library=MediaLibrary())
        # Library images this person may see are shown through signed addresses; others stay
        # as readers would get them (a hash typed into a body opens nothing).
        return jsonify(html=media_access.sign_for_dashboard(html, current_user))

    # The CSV export and its formula defusing come from SecuredModelView.

    # --- Display -----------------------------------------------------------------------

    def _title_link(self, context, model, name):
        """Link the title to the edit form (or the details when the post is read-only), with
        a "View" link to the public page when readers can see it."""
        endpoint = ".edit_view" if self.may_change(model) else ".details_view"
        title = Markup('<a class="cms-row-title" href="{}">{}</a>').format(
            self.get_url(endpoint, id=model.id), model.title
        )
        if not model.is_public:
            return title
        public = "public.page" if model.kind == PostKind.PAGE else "public.post"
        return title + Markup(' <a class="cms-row-view small" href="{}">{}</a>').format(
            url_for(public, slug=model.slug),
            Markup('{}<span class="sr-only">: {}</span>').format(_("View"), model.title),
        )

    column_formatters = {
        "title": _title_link,
        "status": lambda view, context, model, name: status_badge(model),
        "author": lambda view, context, model, name: model.author.name if model.author else "",
        "tags": lambda view, context, model, name: ", ".join(tag.name for tag in model.tags),
        "published_at": when_column,
        "updated_at": when_column,
    }
    column_formatters_detail = {
        **column_formatters,
        "title": lambda view, context, model, name: model.title,
        "created_at": when_column,
        # Every write goes through services.rendering, which sanitizes with the allow-list as
        # its last step; the stored HTML is shown as is, as on the public post page.
        # Library images this person may see get signed addresses (drafts' images are not
        # public); the signing only appends keys to addresses of our stored names.
        "body_html": lambda view, context, model, name: Markup(
            '<div class="cms-rendered">{}</div>'
        ).format(
            Markup(media_access.sign_for_dashboard(model.body_html or "", current_user))  # noqa: S704
        ),
    }
    column_formatters_export = {
        "status": lambda view, context, model, name: model.status,
        "author": lambda view, context, model, name: model.author.name if model.author else "",
        "tags": lambda view, context, model, name: ", ".join(tag.name for tag in model.tags),
    }


def status_badge(post) -> Markup:
    """Return the post's state as a small label: draft, in review, scheduled, published, ..."""
    state = post.state
    return Markup('<span class="badge badge-{}">{}</span>').format(
        STATE_BADGES[state], STATE_LABELS[state]
    )


def post_link(post) -> str:
    """Return the dashboard address of a post for the current person (edit or details)."""
    view = "pages" if post.kind == PostKind.PAGE else "posts"
    action = "edit_view" if can_edit_post(current_user, post) else "details_view"
    return url_for(f"{view}.{action}", id=post.id)
