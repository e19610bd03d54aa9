"""The one secured base for every dashboard view: role checks on the server, per endpoint."""

import re

from flask import abort, flash, redirect, request
from flask_admin import AdminIndexView
from flask_admin.actions import action
from flask_admin.babel import lazy_gettext as admin_lazy_gettext
from flask_admin.contrib.sqla import ModelView
from flask_babel import gettext as _
from flask_security import current_user, url_for_security
from flask_security.utils import get_request_attr
from sqlalchemy.exc import DBAPIError, IntegrityError

from cms.services.roles import has_any_role

# Hostile list arguments stop here, before they reach SQL (PostgreSQL refuses a negative
# OFFSET, and a 100 KB search becomes thousands of LIKE clauses).
MAX_PAGE = 100_000
MAX_SEARCH_LENGTH = 200
ROW_ID = re.compile(r"^[1-9][0-9]{0,8}$")


def parse_id(raw) -> int:
    """Return a row id taken from a request; 404 for anything but a plain positive number."""
    text = str(raw if raw is not None else "")
    if not ROW_ID.match(text):
        abort(404)
    return int(text)


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

    # Flask-Admin's list has unlabelled row checkboxes; ours labels them for screen readers.
    list_template = "admin/cms_list.html"
    page_size = 20
    can_set_page_size = True
    can_view_details = True
    # Inline list editing would bypass the field rules written in each form.
    column_editable_list = ()
    # Exports are off unless a view lists its own safe columns.
    can_export = False

    def _get_list_extra_args(self):
        """Read the list arguments, resetting out-of-range pages and cutting long searches."""
        args = super()._get_list_extra_args()
        if args.page is not None and not 0 <= args.page <= MAX_PAGE:
            args.page = 0
        if args.search and len(args.search) > MAX_SEARCH_LENGTH:
            args.search = args.search[:MAX_SEARCH_LENGTH]
        return args

    def get_one(self, id):
        """Return the row with this id; 404 for ids that are not plain numbers or name no row."""
        # PostgreSQL fails on a non-numeric id for an integer key (a 500 without this check).
        row = super().get_one(str(parse_id(id)))
        if row is None:
            abort(404)
        return row

    @action(
        "delete",
        admin_lazy_gettext("Delete"),
        admin_lazy_gettext("Are you sure you want to delete selected records?"),
    )
    def action_delete(self, ids):
        """Delete the selected rows; ids that are not plain numbers are refused before SQL."""
        return super().action_delete([parse_id(ident) for ident in ids])

    def handle_view_exception(self, exc: Exception) -> bool:
        """Report clashes with other records plainly; let database outages reach the 503 page."""
        if isinstance(exc, IntegrityError):
            # Flask-Admin would show the SQL statement and the driver's message.
            flash(_("This conflicts with an existing record. Please check unique fields."), "error")
            return True
        if isinstance(exc, DBAPIError):
            raise exc
        return super().handle_view_exception(exc)


class SecuredIndexView(ProtectedMixin, AdminIndexView):
    """The dashboard home; any staff role may open it."""
