"""The audit log in the dashboard: admins read, filter and export it; nobody changes it."""

from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from cms.admin.base import SecuredModelView, when_column
from cms.services.roles import ADMIN


def summary_lines(view, context, model, name) -> Markup:
    """Return the change summary with its lines kept (the text itself is escaped)."""
    return Markup("<br>").join(model.summary.splitlines()) if model.summary else Markup("")


class AuditView(SecuredModelView):
    """Who did what, when and from where; read-only, newest first."""

    allowed_roles = (ADMIN,)
    can_create = False
    can_edit = False
    can_delete = False
    # Append-only: no bulk delete action either.
    action_delete = None
    can_view_details = True
    can_export = True
    export_types = ["csv"]
    export_max_rows = 100_000

    column_list = ("created_at", "actor_email", "action", "object_type", "object_id", "ip")
    column_details_list = (
        "created_at", "actor_email", "action", "object_type", "object_id", "summary", "ip",
        "user_agent",
    )  # fmt: skip
    column_export_list = (
        "id", "created_at", "actor_email", "action", "object_type", "object_id", "summary", "ip",
        "user_agent",
    )  # fmt: skip
    column_labels = {
        "id": _l("ID"),
        "created_at": _l("Time"),
        "actor_email": _l("Person"),
        "action": _l("Action"),
        "object_type": _l("Object type"),
        "object_id": _l("Object ID"),
        "summary": _l("Changes"),
        "ip": _l("IP address"),
        "user_agent": _l("Browser"),
    }
    column_searchable_list = ("actor_email", "summary")
    column_sortable_list = ("created_at", "actor_email", "action", "object_type")
    column_default_sort = [("created_at", True), ("id", True)]
    named_filter_urls = True
    column_filters = ("action", "actor_email", "object_type", "created_at")
    column_formatters = {"created_at": when_column}
    column_formatters_detail = {"created_at": when_column, "summary": summary_lines}
