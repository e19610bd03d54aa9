"""The trash: deleted posts and pages wait here; editors restore them, admins empty it."""

from flask import abort, flash, redirect, request
from flask_admin import expose
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_security import current_user
from sqlalchemy import select

from cms.admin.base import SecuredModelView, parse_id, return_url_target, when_column
from cms.admin.words import TRASH
from cms.extensions import db
from cms.models import Post, PostStatus
from cms.services import audit, workflow
from cms.services.roles import ADMIN, EDITOR

KIND_LABELS = {"post": _l("Post"), "page": _l("Page")}


class TrashView(SecuredModelView):
    """Trashed posts and pages, with their slugs, tags and revisions kept until emptied."""

    allowed_roles = (ADMIN, EDITOR)
    list_template = "admin/trash/list.html"
    words = TRASH
    title_column = "title"
    can_create = False
    can_edit = False
    # Deleting for good is the admins' explicit action below, not a row button.
    can_delete = False
    can_view_details = True
    column_list = ("title", "kind", "author", "slug", "trashed_at")
    column_details_list = ("title", "kind", "author", "slug", "trashed_at", "excerpt")
    column_labels = {
        "title": _l("Title"), "kind": _l("Type"), "author": _l("Author"),
        "slug": _l("Address"), "trashed_at": _l("Moved to trash"), "excerpt": _l("Excerpt"),
    }  # fmt: skip
    column_searchable_list = ("title",)
    column_sortable_list = ("title", "trashed_at")
    column_default_sort = ("trashed_at", True)
    column_formatters = {
        "kind": lambda view, context, model, name: KIND_LABELS.get(model.kind, model.kind),
        "author": lambda view, context, model, name: model.author.name if model.author else "",
        "trashed_at": when_column,
    }
    column_formatters_detail = column_formatters

    # No generic "delete" bulk action: "Delete for good" below is the admins' one.
    action_delete = None

    def get_query(self):
        """Return what is in the trash."""
        return super().get_query().filter(Post.status == PostStatus.TRASHED)

    def get_count_query(self):
        """Count what is in the trash."""
        return super().get_count_query().filter(Post.status == PostStatus.TRASHED)

    def get_one(self, id):
        """Return a trashed item; 404 for anything else."""
        post = self.get_query().filter(Post.id == parse_id(id)).one_or_none()
        if post is None:
            abort(404)
        return post

    def may_empty(self) -> bool:
        """Return whether this person may delete trashed items for good."""
        return workflow.can_empty_trash(current_user)

    def is_action_allowed(self, name: str) -> bool:
        """Offer "Delete for good" to admins only."""
        if name == "purge" and not self.may_empty():
            return False
        return super().is_action_allowed(name)

    @action("restore", _l("Restore"), _l("Restore the selected items as drafts?"))
    def action_restore(self, ids):
        """Put the selected items back as drafts, with their address, tags and history."""
        posts = self.selected_rows(ids)
        for post in posts:
            workflow.apply(post, "restore", current_user)
            audit.record("restore", post, audit.shorten(post.title))
        db.session.commit()
        flash(
            ngettext("%(num)d item restored as a draft.", "%(num)d items restored as drafts.",
                     len(posts)),
            "success",
        )  # fmt: skip

    @expose("/restore/", methods=("POST",))
    def restore_view(self):
        """Put one item back as a draft: the Restore button of its row."""
        post = self.get_one(request.form.get("id", ""))
        workflow.apply(post, "restore", current_user)
        audit.record("restore", post, audit.shorten(post.title))
        db.session.commit()
        flash(_("“%(title)s” restored as a draft.", title=post.title), "success")
        return redirect(return_url_target() or self.get_url(".index_view"))

    @action("purge", _l("Delete for good"), _l("Delete the selected items and their history?"))
    def action_purge(self, ids):
        """Delete the selected items for good, with their revisions (admins only)."""
        if not self.may_empty():
            abort(403)
        count = self._purge(self.selected_rows(ids))
        flash(ngettext("%(num)d item deleted.", "%(num)d items deleted.", count), "success")

    @expose("/empty/", methods=("POST",))
    def empty_view(self):
        """Empty the whole trash (admins only)."""
        if not self.may_empty():
            abort(403)
        posts = list(db.session.scalars(select(Post).where(Post.status == PostStatus.TRASHED)))
        count = self._purge(posts)
        flash(ngettext("%(num)d item deleted.", "%(num)d items deleted.", count), "success")
        return redirect(self.get_url(".index_view"))

    @staticmethod
    def _purge(posts: list[Post]) -> int:
        """Delete these trashed items and everything hanging on them, in one transaction."""
        for post in posts:
            audit.record("purge", post, audit.shorten(post.title))
            db.session.delete(post)
        db.session.commit()
        return len(posts)

    def empty_message(self) -> str:
        """Return the confirmation question of the Empty button."""
        return _("Delete everything in the trash for good, with its history?")
