"""The one secured base for every dashboard view: role checks on the server, per endpoint."""

from flask import abort, redirect, request
from flask_admin import AdminIndexView
from flask_admin.contrib.sqla import ModelView
from flask_security import current_user, url_for_security
from flask_security.utils import get_request_attr

from cms.services.roles import has_any_role


class ProtectedMixin:
    """Open a view only to active users, logged in by session, who hold an allowed role.

    Flask-Admin calls is_accessible before every endpoint of a view (list, create, edit,
    details, delete, actions, ajax lookups, export), so this one check covers them all.
    """

    allowed_roles: tuple[str, ...] = ()

    def is_accessible(self) -> bool:
        """Return whether the current user may use this view."""
        if not current_user.is_authenticated:
            return False
        # An API token also logs a user in; the dashboard takes session logins only.
        if get_request_attr("fs_authn_via") != "session":
            return False
        return has_any_role(current_user, *self.allowed_roles)

    def inaccessible_callback(self, name, **kwargs):
        """Send visitors to the login page; refuse logged-in users without the right."""
        if not current_user.is_authenticated:
            return redirect(url_for_security("login", next=request.full_path))
        abort(403)


class SecuredModelView(ProtectedMixin, ModelView):
    """A ModelView with role checks, sensible paging and no inline list editing."""

    page_size = 20
    can_set_page_size = True
    can_view_details = True
    # Inline list editing would bypass the field rules written in each form.
    column_editable_list = ()
    # Exports are off unless a view lists its own safe columns.
    can_export = False


class SecuredIndexView(ProtectedMixin, AdminIndexView):
    """The dashboard home; any staff role may open it."""
