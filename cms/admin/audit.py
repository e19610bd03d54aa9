"""The audit log in the dashboard: admins read, filter and export it; nobody changes it."""

from flask_admin.contrib.sqla.filters import DateTimeBetweenFilter
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_security import current_user
from markupsafe import Markup

from cms.admin.audit_words import ACTION_GROUPS, page_context, sentence
from cms.admin.base import SecuredModelView, when_column
from cms.admin.post_filters import AfterFilter, BeforeFilter, ChoiceFilter, RelatedFilter
from cms.admin.words import AUDIT
from cms.models import AuditEvent
from cms.services import audit_log
from cms.services.roles import ADMIN


def summary_lines(view, context, model, name) -> Markup:
    """Return the change summary with its lines kept (the text itself is escaped)."""
    return Markup("<br>").join(model.summary.splitlines()) if model.summary else Markup("")


def event_sentence(view, context, model, name) -> Markup:
    """Column formatter: the event in words, with a link to its object while it exists."""
    words = sentence(model, page_context(context, model), current_user)
    return Markup('<span class="cms-sentence">{}</span>').format(words)


class ActionFilter(ChoiceFilter):
    """Filter by what happened: published, moved to trash, logins... (groups of actions)."""

    def apply(self, query, value, alias=None):
        """Keep the events of that group."""
        return query.filter(AuditEvent.action.in_(ACTION_GROUPS[value][1]))


def audit_filters() -> list:
    """Return the log's filters: person, action, and time (after, before, between)."""
    return [
        RelatedFilter(
            AuditEvent.actor_id,
            _l("Person"),
            lambda ident: AuditEvent.actor_id == ident,
            audit_log.people_choices,
        ),
        ActionFilter(
            AuditEvent.action,
            _l("Action"),
            options=[(key, label) for key, (label, _actions) in ACTION_GROUPS.items()],
        ),
        AfterFilter(AuditEvent.created_at, _l("Time")),
        BeforeFilter(AuditEvent.created_at, _l("Time")),
        DateTimeBetweenFilter(AuditEvent.created_at, _l("Time")),
    ]


class AuditView(SecuredModelView):
    """Who did what, when and from where; read-only, newest first."""

    allowed_roles = (ADMIN,)
    words = AUDIT
    can_create = False
    can_edit = False
    can_delete = False
    # Append-only: no bulk delete action either.
    action_delete = None
    can_view_details = True
    can_export = True
    export_types = ["csv"]
    export_max_rows = 100_000

    column_list = ("created_at", "event", "ip")
    column_details_list = (
        "created_at", "event", "actor_email", "action", "object_type", "object_id", "summary",
        "ip", "user_agent",
    )  # fmt: skip
    column_export_list = (
        "id", "created_at", "actor_email", "action", "object_type", "object_id", "summary", "ip",
        "user_agent",
    )  # fmt: skip
    column_labels = {
        "id": _l("ID"),
        "created_at": _l("Time"),
        "event": _l("What happened"),
        "actor_email": _l("Person"),
        "action": _l("Action"),
        "object_type": _l("Object type"),
        "object_id": _l("Object ID"),
        "summary": _l("Changes"),
        "ip": _l("IP address"),
        "user_agent": _l("Browser"),
    }
    # No free-text search: a LIKE over every summary reads the whole log, whatever its size.
    # The filters (person, action, time) are each served by an index (migration 0014).
    column_sortable_list = ("created_at",)
    column_default_sort = [("created_at", True), ("id", True)]
    named_filter_urls = True
    column_filters = audit_filters()
    column_formatters = {"created_at": when_column, "event": event_sentence}
    column_formatters_detail = {
        "created_at": when_column,
        "event": event_sentence,
        "summary": summary_lines,
        # Older two-factor events named Flask-Security's proxy instead of the user.
        "object_type": lambda view, context, model, name: (
            "User" if model.object_type == "LocalProxy" else model.object_type
        ),
    }

    def row_label(self, row) -> str:
        """Name an event by its time (its sentence is in the row beside the button)."""
        return _("the event at %(when)s", when=format_datetime(row.created_at, "medium"))
