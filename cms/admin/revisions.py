"""A post's history in the dashboard: its revisions, comparisons, and restores.

`RevisionsMixin` adds three endpoints to a post view (PostView, and PageView built on it):

- GET  /history/<id>/             (.history)           the revisions, newest first
- GET  /compare/<id>/?a=3&b=5     (.compare)           two revisions (b may be "current")
- POST /restore/<id>/             (.restore_revision)  a revision, or one field of it, back

It relies on the view's `get_query()` (what this person may see), `get_one(id)` (what they may
change: 404 otherwise), `may_change(post)` and `get_url()`.
"""

import math
import re

from flask import abort, flash, make_response, redirect, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_security import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import defer
from sqlalchemy.orm.exc import StaleDataError

from cms.admin.base import format_when, parse_id
from cms.admin.times import time_tag
from cms.extensions import db
from cms.models import PostStatus, Revision
from cms.services import diff, revisions
from cms.services.roles import can_view_post

# What each kind of save is called in the history ("restore" is told apart by its note).
EVENT_LABELS = {
    "create": _l("Created"),
    "save": _l("Saved"),
    "submit": _l("Submitted for review"),
    "withdraw": _l("Back to draft"),
    "publish": _l("Published"),
    "schedule": _l("Scheduled"),
    "unpublish": _l("Unpublished"),
    "send_back": _l("Sent back"),
    "restore": _l("Restored"),
    "trash": _l("Moved to trash"),
    "untrash": _l("Restored from trash"),
    "import": _l("Imported"),
}
RESTORED_FROM_TRASH = _l("Restored from trash")
NUMBER = re.compile(r"^[1-9][0-9]{0,8}$")
# The columns a history row needs; the texts stay in the database.
HEAVY_COLUMNS = (Revision.body_md, Revision.excerpt, Revision.meta_description)


def parse_number(raw) -> int | None:
    """Return a plain positive number sent by a form or link; None for anything else."""
    text = str(raw if raw is not None else "").strip()
    return int(text) if NUMBER.match(text) else None


def event_label(revision: Revision) -> str:
    """Return what made this revision, in the reader's language."""
    if revision.event == "restore" and revisions.parse_restore_note(revision.note) is None:
        # The workflow's "restore" brings a post back from the trash.
        return str(RESTORED_FROM_TRASH)
    label = EVENT_LABELS.get(revision.event)
    return str(label) if label is not None else revision.event


def note_text(revision: Revision) -> str:
    """Return a revision's note for the reader; restores are described in their language."""
    restored = revisions.parse_restore_note(revision.note)
    if restored is None:
        return revision.note or ""
    number, field = restored
    if field is None:
        return _("Restored revision %(number)d", number=number)
    label = diff.LABELS.get(field, field)
    return _("Restored “%(field)s” from revision %(number)d", field=label, number=number)


def status_label(revision: Revision) -> str:
    """Return the status a revision recorded (published with a time ahead: scheduled)."""
    if (
        revision.status == PostStatus.PUBLISHED
        and revision.published_at is not None
        and revision.published_at > revision.created_at
    ):
        return _("Scheduled")
    return str(diff.STATUS_LABELS.get(revision.status, revision.status))


def saved_by(revision: Revision) -> str:
    """Return who saved a revision (their current name while the account exists)."""
    if revision.created_by is not None:
        return revision.created_by.name
    return revision.created_by_name or _("System")


class RevisionsMixin:
    """History, comparison and restore endpoints for a post view; see the module docstring."""

    history_template = "admin/revisions/history.html"
    compare_template = "admin/revisions/compare.html"
    # Revisions per page of the history.
    history_page_size = 50

    # --- Access ------------------------------------------------------------------------------

    def get_post_for_history(self, id):
        """Return a post this person may change; 404 otherwise.

        History and comparisons need the same right as editing (SECURITY 11): an author
        reads the history of their own drafts, editors and admins of everything.
        """
        post = self.get_query().filter(self.model.id == parse_id(id)).one_or_none()
        if post is None or not can_view_post(current_user, post) or not self.may_change(post):
            abort(404)
        return post

    def get_post_to_restore(self, id):
        """Return a post this person may change; 404 otherwise, like every other edit."""
        post = self.get_one(id)
        if not self.may_change(post):
            abort(404)
        return post

    def revision_count(self, post) -> int:
        """Return how many revisions a post has (for the History link)."""
        return revisions.count(post)

    def history_url(self, post) -> str:
        """Return the address of a post's history."""
        return self.get_url(".history", id=post.id)

    def _revisions_find(self, post, number) -> Revision:
        """Return one revision of a post by its number; 404 if there is none."""
        if number is None:
            abort(404)
        query = select(Revision).where(Revision.post_id == post.id, Revision.number == number)
        found = db.session.scalars(query).first()
        if found is None:
            abort(404)
        return found

    def _revisions_back_url(self, post) -> str:
        """Return the post's edit page, or its details for people who may only read it."""
        endpoint = ".edit_view" if self.may_change(post) else ".details_view"
        return self.get_url(endpoint, id=post.id)

    # --- History -----------------------------------------------------------------------------

    @expose("/history/<int:id>/")
    def history(self, id):
        """List a post's revisions, newest first, to compare and restore."""
        post = self.get_post_for_history(id)
        return self._revisions_render_history(post)

    def _revisions_render_history(self, post, conflict: str = "", status: int = 200):
        """Return the history page (one page of 50), with a refusal message when given."""
        total = revisions.count(post)
        newest = db.session.scalar(
            select(func.max(Revision.number)).where(Revision.post_id == post.id)
        )
        # Revisions are numbered 1, 2, 3... per post and never deleted one by one: page n
        # starts at a number, found in the (post_id, number) index without OFFSET.
        pages = max(1, math.ceil((newest or 0) / self.history_page_size))
        page = parse_number(request.args.get("page")) or 1
        if page > pages:
            abort(404)
        top = (newest or 0) - (page - 1) * self.history_page_size
        rows = list(
            db.session.scalars(
                select(Revision)
                .where(Revision.post_id == post.id, Revision.number <= top)
                .options(*(defer(column) for column in HEAVY_COLUMNS))
                .order_by(Revision.number.desc())
                .limit(self.history_page_size)
            )
        )
        html = self.render(
            self.history_template,
            post=post,
            rows=rows,
            total=total,
            page=page,
            pages=pages,
            newest=newest,
            may_change=self.may_change(post),
            conflict=conflict,
            back_url=self._revisions_back_url(post),
            when=time_tag,
            event_label=event_label,
            note_text=note_text,
            status_label=status_label,
            saved_by=saved_by,
        )
        return make_response(html, status)

    # --- Compare -----------------------------------------------------------------------------

    @expose("/compare/<int:id>/")
    def compare(self, id):
        """Show what differs between two revisions, or a revision and the post as it is now."""
        post = self.get_post_for_history(id)
        raw_a, raw_b = request.args.get("a"), request.args.get("b", "current")
        if raw_a is None:
            newest = revisions.latest(db.session, post.id)
            if newest is None:
                abort(404)
            raw_a = str(newest.number)
        older = self._revisions_find(post, parse_number(raw_a))
        if raw_b == "current":
            newer, new_snapshot = None, revisions.snapshot(post)
            new_label = _("Current version")
        else:
            newer = self._revisions_find(post, parse_number(raw_b))
            new_snapshot = revisions.snapshot(newer)
            new_label = _("Revision %(number)d", number=newer.number)
        old_label = _("Revision %(number)d", number=older.number)
        changes = diff.compare(revisions.snapshot(older), new_snapshot)
        current = revisions.snapshot(post)
        # A field can be restored from each compared revision whose value is not the current one.
        sources = {}
        for change in changes:
            if change.restorable:
                sources[change.name] = [
                    revision
                    for revision in (older, newer)
                    if revision is not None and _differs(change.name, revision, current)
                ]
        return self.render(
            self.compare_template,
            post=post,
            older=older,
            newer=newer,
            changes=changes,
            sources=sources,
            old_label=old_label,
            new_label=new_label,
            may_change=self.may_change(post),
            back_url=self._revisions_back_url(post),
            when=time_tag,
            event_label=event_label,
            saved_by=saved_by,
        )

    # --- Restore -----------------------------------------------------------------------------

    @expose("/restore/<int:id>/", methods=("POST",))
    def restore_revision(self, id):
        """Give the post back a revision's content, or one field of it, as a new revision."""
        post = self.get_post_to_restore(id)
        revision = self._revisions_find(post, parse_number(request.form.get("revision")))
        field = request.form.get("field") or None
        if field is not None and field not in revisions.RESTORABLE:
            abort(400)
        loaded = parse_number(request.form.get("version"))
        if loaded is None:
            abort(400)
        if loaded != post.version:
            return self._revisions_refuse_stale(post)
        result = revisions.restore(
            post,
            revision,
            fields=[field] if field else None,
            user=current_user._get_current_object(),
        )
        if "social_image_id" in result.skipped:
            flash(
                _(
                    "The image of revision %(number)d was deleted; the current one stays.",
                    number=revision.number,
                ),
                "warning",
            )
        if "social_image_id" in result.refused:
            flash(
                _(
                    "The image of revision %(number)d is a file you may not use; "
                    "the current one stays.",
                    number=revision.number,
                ),
                "warning",
            )
        if not result.changed:
            db.session.rollback()
            flash(_("Nothing to restore: the content is already the same."), "info")
            return redirect(self.get_url(".history", id=post.id))
        try:
            db.session.commit()
        except StaleDataError:
            db.session.rollback()
            return self._revisions_refuse_stale(self.get_post_to_restore(id))
        if field:
            message = _(
                "Restored “%(field)s” from revision %(number)d.",
                field=diff.LABELS[field],
                number=revision.number,
            )
        else:
            message = _("Restored revision %(number)d.", number=revision.number)
        flash(message, "success")
        return redirect(self.get_url(".edit_view", id=post.id))

    def _revisions_refuse_stale(self, post):
        """Answer 409: the post changed since the page was loaded; nothing was restored."""
        newest = revisions.latest(db.session, post.id)
        if newest is not None:
            message = _(
                "%(name)s changed this item at %(when)s, after you opened this page. Nothing "
                "was restored. Please look at the history again and choose once more.",
                name=saved_by(newest),
                when=format_when(newest.created_at),
            )
        else:
            message = _(
                "This item changed after you opened this page. Nothing was restored. Please "
                "look at the history again and choose once more."
            )
        return self._revisions_render_history(post, conflict=message, status=409)


def _differs(name: str, revision: Revision, current: dict) -> bool:
    """Return whether a revision's value of a field differs from the post's current value."""
    if name == "tags":
        return diff.tag_names(revision.tags) != diff.tag_names(current["tags"])
    return getattr(revision, name) != current[name]
