"""'Who else is editing': the heartbeat endpoint and the notice of the post and page editors.

A soft notice, not a lock: the edit page's script (cms/static/admin/presence.js) posts a
heartbeat every PRESENCE_INTERVAL seconds and shows who else sent one for the same post within
EDIT_PRESENCE_SECONDS. Saving over someone else's newer save is refused by the post's version
check, not here.
"""

from datetime import UTC, timedelta

from flask import current_app, jsonify, request
from flask_admin import expose
from flask_babel import format_timedelta, ngettext
from flask_babel import gettext as _
from flask_security import current_user
from sqlalchemy.exc import DBAPIError

from cms.extensions import db
from cms.models import utcnow
from cms.services import presence

# Seconds between two heartbeats of an open edit page (well under EDIT_PRESENCE_SECONDS).
PRESENCE_INTERVAL = 30


def since_iso(seen_at) -> str:
    """Return a stored UTC time as ISO 8601 with its offset, for scripts."""
    return seen_at.replace(tzinfo=UTC).isoformat()


class PresenceMixin:
    """The `.presence` endpoint and template helpers of a view whose rows are posts or pages.

    Mix into a SecuredModelView whose get_one(id) refuses (404) rows the current person may
    not edit; the endpoint relies on it for its access check.
    """

    presence_interval = PRESENCE_INTERVAL

    @expose("/presence/<int:id>/", methods=("POST",))
    def presence(self, id):
        """Record a heartbeat and return who else is editing; with leave=1, forget this person.

        The CSRF token comes in the X-CSRFToken header (fetch) or as the csrf_token form
        field (navigator.sendBeacon cannot set headers); CSRFProtect checks both.
        """
        post = self.get_one(id)
        if request.form.get("leave") == "1":
            presence.leave(post.id, current_user.id)
            db.session.commit()
            return "", 204
        presence.touch(post.id, current_user.id)
        db.session.commit()
        people = self.other_editors(post)
        return jsonify(
            others=[{"name": user.name, "since": since_iso(seen)} for user, seen in people],
            message=self.presence_notice(post, people),
        )

    def touch_presence(self, post) -> None:
        """Record that the current person has this post open, and commit (a heartbeat).

        Best effort: a busy database costs the notice, never the page.
        """
        try:
            presence.touch(post.id, current_user.id)
            db.session.commit()
        except DBAPIError:
            db.session.rollback()
            current_app.logger.warning("presence heartbeat not recorded", exc_info=True)

    def other_editors(self, post) -> list:
        """Return [(User, seen_at)] of the others who had this post open lately (no writes)."""
        if post is None or post.id is None:
            return []
        return presence.others(post.id, current_user.id)

    def presence_notice(self, post, people=None) -> str:
        """Return the translated notice about the others editing this post; "" for nobody.

        Reads only: the edit page's script sends the heartbeats (GET requests change nothing).
        """
        if people is None:
            people = self.other_editors(post)
        if not people:
            return ""
        now = utcnow()
        names = ", ".join(
            _("%(name)s (active %(ago)s)", name=user.name, ago=time_ago(seen, now))
            for user, seen in people
        )
        if getattr(post, "is_page", False):
            lead = ngettext(
                "%(names)s is also editing this page.",
                "%(names)s are also editing this page.",
                len(people),
                names=names,
            )
        else:
            lead = ngettext(
                "%(names)s is also editing this post.",
                "%(names)s are also editing this post.",
                len(people),
                names=names,
            )
        advice = _(
            "Coordinate before saving: the second save will be refused if it would "
            "overwrite the first."
        )
        return f"{lead} {advice}"


def time_ago(seen_at, now) -> str:
    """Return "1 minute ago" (in the reader's language) for a time in the past."""
    delta = min(seen_at - now, timedelta(seconds=-1))
    return format_timedelta(delta, granularity="second", add_direction=True)
