"""The post form's action buttons (Save draft, Publish now, ...) and the words after each.

`actions_for()` decides which buttons a person gets for a post in its state; the view checks
the posted `workflow` value against the same list, so a crafted value is refused on the server.
"""

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, format_time, get_datetime_format
from flask import abort, flash, g, redirect, request, session, url_for
from flask_admin.babel import gettext as admin_gettext
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_security import current_user
from markupsafe import Markup
from sqlalchemy.orm.exc import StaleDataError
from wtforms.validators import ValidationError

from cms.admin.base import ROW_ID, return_url_target
from cms.extensions import db
from cms.models import Post, PostKind, PostState, PostStatus, utcnow
from cms.services import audit, timezones, workflow
from cms.services.roles import can_publish

# Flask-Admin's own messages after a save, replaced by plain words (see replace_flashes).
GENERIC_SUCCESS = ("Record was successfully created.", "Record was successfully saved.")
GENERIC_FAILURE = ("Failed to create record.", "Failed to save record.")
# Every action name the form knows, in display order.
NAMES = ("save", "submit", "publish", "schedule", "update", "unpublish", "trash")


@dataclass(frozen=True)
class FormAction:
    """One submit button of the post form: <button name="workflow" value="{name}">."""

    name: str
    label: object
    # "primary", "secondary" or "danger".
    style: str


def _action(name: str, post, kind: str) -> FormAction:
    """Return the button of one action, labelled for this post's state."""
    draft_like = post is None or post.status in (PostStatus.DRAFT, PostStatus.REVIEW)
    labels = {
        "save": _l("Save draft") if post is None or post.status == PostStatus.DRAFT else _l("Save"),
        "submit": _l("Submit for review"),
        "publish": _l("Publish now"),
        "schedule": _l("Schedule"),
        "update": _l("Update"),
        "unpublish": _l("Unpublish"),
        "trash": _l("Move to trash"),
    }
    primary = "publish" if draft_like else "update"
    style = "danger" if name == "trash" else "primary" if name == primary else "secondary"
    return FormAction(name, labels[name], style)


def actions_for(user, post, kind: str = PostKind.POST) -> list[FormAction]:
    """Return the buttons this person gets on the form of `post` (None: a new one).

    Editors and admins: Save draft / Publish now / Schedule on drafts and posts in review,
    Update / Publish now (when scheduled) / Unpublish on published ones, and Move to trash.
    Authors: Save draft and Submit for review on their own drafts, and Move to trash.
    """
    if post is not None and post.status == PostStatus.TRASHED:
        return []
    if can_publish(user):
        if post is None or post.status in (PostStatus.DRAFT, PostStatus.REVIEW):
            names = ["save", "publish", "schedule"]
        else:
            names = ["update"]
            if post.state == PostState.SCHEDULED:
                names.append("publish")
            names.append("unpublish")
    else:
        names = ["save"]
        if post is None or workflow.allowed(user, post, "submit"):
            names.append("submit")
    if post is not None and workflow.allowed(user, post, "trash"):
        names.append("trash")
    actions = [_action(name, post, kind) for name in names]
    if can_publish(user) or len(actions) < 2:
        return actions
    # Authors: submitting is the step forward, saving the quiet one.
    return [
        FormAction(item.name, item.label, "primary" if item.name == "submit" else "secondary")
        for item in actions
    ]


def when_label(stored) -> str:
    """Return a stored UTC time as "3 Dec, 09:00" in this person's language and time zone."""
    zone = ZoneInfo(timezones.zone_name_of(current_user))
    locale = get_locale()
    aware = stored.replace(tzinfo=ZoneInfo("UTC"))
    date = format_skeleton("MMMd", aware, tzinfo=zone, locale=locale)
    time = format_time(aware, "short", tzinfo=zone, locale=locale)
    # The locale's own way of joining a date and a time ("{1}, {0}"), quotes removed.
    return get_datetime_format("short", locale=locale).replace("'", "").format(time, date)


def _with_link(text: str, post, link_text: str) -> Markup:
    """Return "text <a href=public address>link text</a>" with everything escaped."""
    endpoint = "public.page" if post.kind == PostKind.PAGE else "public.post"
    return Markup('{} <a href="{}">{}</a>').format(
        text, url_for(endpoint, slug=post.slug), link_text
    )


def success_message(action: str | None, post) -> Markup | str:
    """Return the plain words shown after a successful save, with a link to a public page.

    `action` is the button used, or for a save without one the workflow move it made.
    """
    page = post.kind == PostKind.PAGE
    view = _("View page") if page else _("View post")
    state = post.state
    if action == "submit":
        return _("Submitted for review.")
    if action == "unpublish":
        if page:
            return _("Page unpublished: it is a draft again.")
        return _("Post unpublished: it is a draft again.")
    if state == PostState.SCHEDULED:
        return _("Scheduled for %(when)s.", when=when_label(post.published_at))
    if state == PostState.PUBLISHED:
        if action in ("publish", "schedule"):
            text = _("Page published.") if page else _("Post published.")
        else:
            text = _("Page updated.") if page else _("Post updated.")
        return _with_link(text, post, view)
    if state == PostState.EXPIRED:
        if page:
            return _("Page updated. Readers no longer see it: its unpublish time has passed.")
        return _("Post updated. Readers no longer see it: its unpublish time has passed.")
    if post.status == PostStatus.REVIEW:
        return _("Saved. It is still in review.")
    return _("Draft saved.")


class FormActionsMixin:
    """The post view's side of the buttons: checking the one pressed, applying it, and the
    plain words after the save (instead of Flask-Admin's "Record was successfully saved")."""

    kind: str

    def form_actions(self, post) -> list:
        """Return the submit buttons this person gets on the form of `post` (None: new)."""
        return actions_for(current_user, post, self.kind)

    def posted_action(self, allowed: list[str] | None) -> str | None:
        """Return the posted `workflow` button if this person may use it here, else refuse.

        `allowed`: the buttons the post offered before the form was applied (None: a new post).
        No button (an older form or a script): None, and the status field decides as before.
        """
        action = request.form.get("workflow") or None
        if action is None:
            return None
        if allowed is None:
            allowed = [item.name for item in self.form_actions(None)]
        if action not in allowed:
            raise ValidationError(_("This action is not available to you for this item."))
        return action

    def apply_action(self, action: str, model, old_status) -> None:
        """Set the status (and publication time) a publisher's button asks for."""
        now = utcnow()
        if action == "save":
            model.status = old_status or PostStatus.DRAFT
        elif action == "update":
            model.status = PostStatus.PUBLISHED
        elif action == "unpublish":
            model.status = PostStatus.DRAFT
        elif action == "publish":
            model.status = PostStatus.PUBLISHED
            # "Publish now": an empty or future time becomes now; a past one is kept
            # (back-dating an imported post is deliberate).
            if model.published_at is None or model.published_at > now:
                model.published_at = now
            if model.unpublish_at is not None and model.unpublish_at <= now:
                raise ValidationError(
                    _("The unpublish time has passed: clear it or choose a later one.")
                )
        elif action == "schedule":
            if model.published_at is None or model.published_at <= now:
                raise ValidationError(
                    _(
                        "To schedule, choose a publication time in the future (times in "
                        "%(zone)s). To publish at once, use Publish now.",
                        zone=timezones.zone_name_of(current_user),
                    )
                )
            model.status = PostStatus.PUBLISHED

    def _posted_post(self):
        """Return the post an edit form was posted for (None if there is none to keep for)."""
        raw = request.args.get("id", "")
        if not ROW_ID.match(raw):
            return None
        return self.get_query().filter(Post.id == int(raw)).one_or_none()

    def _after_post(self, response, post) -> None:
        """After a posted form: plain words instead of Flask-Admin's; keep a refused form."""
        saved = getattr(response, "status_code", 200) in (301, 302, 303)
        message = g.pop("cms_saved_message", None)
        replace_flashes(message if saved else None)
        creating = request.endpoint.endswith("create_view")
        if not saved and (post is not None or creating):
            self.keep_refused_form(post)

    def _trash_from_form(self):
        """Move the post to the trash from its form's button; the form's edits are not saved."""
        post = self.get_one(request.args.get("id", ""))
        if parse_version(request.form.get("version")) != post.version:
            # What was typed since the last autosave waits in the slot for the writer.
            self.keep_refused_form(post)
            flash(
                _("This item changed after you opened it. Nothing was moved to the trash."),
                "error",
            )
            return redirect(self.get_url(".edit_view", id=post.id))
        before = post.status
        try:
            workflow.apply(post, "trash", current_user)
        except workflow.TransitionRefused as refused:
            self.keep_refused_form(post)
            flash(str(refused), "error")
            return redirect(self.get_url(".edit_view", id=post.id))
        audit.record("trash", post, audit.shorten(post.title))
        # The writer's unsaved edits stay in their autosave slot: restoring the post from the
        # trash offers them again.
        commit_or_conflict()
        return_url = return_url_target() or self.get_url(".index_view")
        self.trashed([(post, before)], return_url)
        return redirect(return_url)

    def plain_message(self, message):
        """Leave the save messages to _after_post, which swaps them for the button's words;
        a refused form shows no "Failed to save" (it lists its own errors)."""
        if request.endpoint.endswith(("create_view", "edit_view")):
            if str(message) in {admin_gettext(text) for text in GENERIC_FAILURE}:
                return None
            return message
        return super().plain_message(message)

    def after_model_change(self, form, model, is_created):
        """Remember the plain words to show for this save (replace_flashes shows them)."""
        super().after_model_change(form, model, is_created)
        g.cms_saved_message = success_message(g.get("cms_saved_action"), model)

    def get_save_return_url(self, model, is_created=False):
        """After a button of the form: back to the form while this person may still edit it."""
        action = request.form.get("workflow")
        if action in ("save", "publish", "schedule", "update", "unpublish") and self.may_change(
            model
        ):
            return self.get_url(".edit_view", id=model.id, url=return_url_target())
        return super().get_save_return_url(model, is_created)


def replace_flashes(message) -> None:
    """Swap Flask-Admin's "Record was successfully saved" and "Failed to save record" for
    our words: `message` after a save ("Saved." when the save stored nothing new, as a
    repeated double-click), nothing after a refusal, whose form lists its errors itself."""
    succeeded = {admin_gettext(text) for text in GENERIC_SUCCESS}
    failed = {admin_gettext(text) for text in GENERIC_FAILURE}
    kept, replaced = [], False
    for category, text in session.get("_flashes", []):
        if category == "success" and text in succeeded:
            replaced = True
        elif not (category == "danger" and text in failed):
            kept.append((category, text))
    if message is None and replaced:
        message = _("Saved.")
    if message is not None:
        kept.append(("success", message))
    session["_flashes"] = kept


def commit_or_conflict() -> None:
    """Commit a workflow move; 409 and nothing saved if a post changed since it was read.

    Reading happens before the write phase (also on SQLite), so someone's save may commit in
    between; the UPDATE names the version it read, and the move is refused as stale.
    """
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        abort(409)


def parse_version(raw) -> int | None:
    """Return a version number sent by a form; None for anything but a plain number."""
    text = str(raw if raw is not None else "").strip()
    return int(text) if ROW_ID.match(text) else None
