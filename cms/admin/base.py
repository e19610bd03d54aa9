"""The one secured base for every dashboard view: role checks on the server, per endpoint."""

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode

import flask
import flask_admin.actions
import flask_admin.contrib.sqla.view
import flask_admin.helpers
import flask_admin.model.base
from flask import (
    Response,
    abort,
    flash,
    g,
    has_request_context,
    redirect,
    request,
    stream_with_context,
    url_for,
)
from flask_admin import AdminIndexView
from flask_admin.actions import action
from flask_admin.babel import gettext as admin_gettext
from flask_admin.babel import lazy_gettext as admin_lazy_gettext
from flask_admin.babel import ngettext as admin_ngettext
from flask_admin.contrib.sqla import ModelView
from flask_babel import format_datetime, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_security import current_user, url_for_security
from flask_security.utils import get_request_attr
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.utils import secure_filename

from cms.admin.rescue import rescue_unsent_form
from cms.admin.times import time_tag
from cms.admin.words import ITEMS
from cms.extensions import db
from cms.services import audit, keyset
from cms.services.return_urls import safe_return_path
from cms.services.roles import has_any_role
from cms.services.twofactor import needs_two_factor_setup, remember_page_before_setup

# Hostile list arguments stop here, before they reach SQL (PostgreSQL refuses a negative
# OFFSET, and a 100 KB search becomes thousands of LIKE clauses).
MAX_PAGE = 100_000
MAX_SEARCH_LENGTH = 200
ROW_ID = re.compile(r"^[1-9][0-9]{0,8}$")
# The list arguments of keyset paging (cms.services.keyset); Flask-Admin's `page` is not read.
PAGING_ARGS = ("after", "before", "day", "page")
# Exported rows read from the database at a time (the CSV is sent while it is read).
EXPORT_BATCH = 500
# Spreadsheets run cells starting with these as formulas (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def defuse_formula(value):
    """Return a CSV cell that spreadsheets show as text: formulas get a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def format_when(value) -> str:
    """Return a stored UTC time in the reader's language and time zone; empty for None."""
    return format_datetime(value, "short") if value else ""


def when_column(view, context, model, name):
    """Column formatter: "3 hours ago" in the reader's language, the exact time on hover."""
    return time_tag(getattr(model, name))


# Stands for the value Flask-Admin puts into a sentence, to find the sentence's fixed parts.
MARK = "\x00"
NOT_SAVED = _l("Nothing was saved: please check the fields marked below.")
# Flask-Admin's sentences about "records": each with the Words attribute (or our sentence)
# that says it instead.
EXACT = (
    ("Record was successfully created.", "created"),
    ("Record was successfully saved.", "saved"),
    ("Failed to create record.", NOT_SAVED),
    ("Failed to save record.", NOT_SAVED),
    ("Record does not exist.", _l("This item no longer exists.")),
)
WITH_ERROR = (
    ("Failed to create record. %(error)s", _l("Nothing was saved: %(error)s")),
    ("Failed to update record. %(error)s", _l("Nothing was saved: %(error)s")),
    ("Failed to delete record. %(error)s", _l("Nothing was deleted: %(error)s")),
    ("Failed to delete records. %(error)s", _l("Nothing was deleted: %(error)s")),
)
DELETED = ("Record was successfully deleted.", "%(count)s records were successfully deleted.")


def plain_message(words, message):
    """Return Flask-Admin's flashed sentence about "records" in this view's words.

    Other messages come back unchanged. Flask-Admin's are compared in the language of the
    request, as its own catalog gives them.
    """
    text = str(message)
    for original, ours in EXACT:
        if text == admin_gettext(original):
            return str(getattr(words, ours) if isinstance(ours, str) else ours)
    if text == admin_ngettext(*DELETED, 1, count=1):
        return str(words.deleted)
    head, _mark, tail = admin_ngettext(*DELETED, 2, count=MARK).partition(MARK)
    if text.startswith(head) and text.endswith(tail):
        count = text[len(head) : len(text) - len(tail)]
        if count.isdigit():
            return ngettext("%(num)d item deleted.", "%(num)d items deleted.", int(count))
    for original, ours in WITH_ERROR:
        head = admin_gettext(original, error=MARK).partition(MARK)[0]
        if text.startswith(head):
            return str(ours) % {"error": text[len(head) :]}
    return message


def plain_flash(message, category: str = "message") -> None:
    """Flash a message, in the current view's words if it is one of Flask-Admin's (a view
    may also drop one: None)."""
    view = g.get("cms_view") if has_request_context() else None
    if view is not None:
        message = view.plain_message(message)
    if message is not None:
        flask.flash(message, category)


# Flask-Admin modules that flash sentences about "records" (from inside their views).
FLASK_ADMIN_FLASHERS = (flask_admin.model.base, flask_admin.contrib.sqla.view, flask_admin.helpers)


def use_plain_flashes() -> None:
    """Make Flask-Admin's views flash through plain_flash (they call `flash` by module name,
    with no method to override); tests/admin/test_plain_words.py checks every module."""
    for module in FLASK_ADMIN_FLASHERS:
        module.flash = plain_flash


use_plain_flashes()


def return_url_target(param_name: str = "url") -> str | None:
    """Return the page to go back to that this request names, if it is a dashboard path.

    Every return address of the dashboard is read here: `?url=` of the create, edit and
    details pages (their Cancel and List links, and where Save leads), the hidden `url` of
    delete and bulk-action forms, and our own views. Anything but a plain path under the
    dashboard (services.return_urls) counts as not given, so callers fall back to the list.
    """
    values = request.args if param_name in request.args else request.form
    return safe_return_path(values.get(param_name), root=url_for("admin.index"))


# Flask-Admin modules that read return addresses through flask_admin.helpers.
FLASK_ADMIN_REDIRECT_READERS = (flask_admin.helpers, flask_admin.model.base, flask_admin.actions)


def use_safe_return_urls() -> None:
    """Make Flask-Admin's views read return addresses through return_url_target.

    Flask-Admin's own get_redirect_target accepts "http:evil.example" (Werkzeug then answers
    "Location: http:///evil.example"). Its views call it as a module-level name, with no
    method to override, so each module that imported it gets ours instead;
    tests/admin/test_return_urls.py checks that no Flask-Admin module keeps the original.
    """
    for module in FLASK_ADMIN_REDIRECT_READERS:
        module.get_redirect_target = return_url_target


use_safe_return_urls()


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
        # Roles in TWO_FACTOR_REQUIRED_ROLES must set up two-factor first.
        if needs_two_factor_setup(current_user):
            return False
        return has_any_role(current_user, *self.allowed_roles)

    def inaccessible_callback(self, name, **kwargs):
        """Send visitors to the login page; refuse logged-in users without the right."""
        if not current_user.is_authenticated:
            # A post or page save whose session ended: keep the text for after the login.
            rescued = rescue_unsent_form()
            if rescued is not None:
                return rescued
            return redirect(url_for_security("login", next=request.full_path))
        if needs_two_factor_setup(current_user):
            # Only a GET is sent on to the setup page; a POST changes nothing.
            if request.method not in ("GET", "HEAD"):
                abort(403)
            # The setup page says why itself (a flash here showed the warning twice); its
            # last step leads back to this page.
            remember_page_before_setup(request.full_path)
            return redirect(url_for_security("two_factor_setup"))
        abort(403)


@dataclass
class Pager:
    """The paging links of a list page: newer/older (or previous/next) and the date jump."""

    newer_url: str | None
    older_url: str | None
    # Time-sorted lists: "Newer"/"Older" and a date to jump to; others: "Previous"/"Next".
    by_time: bool
    # Whether the shown order runs from new to old (or from Z to A).
    descending: bool
    day: str
    # The current list arguments but the paging ones, for the date form's hidden fields.
    kept_args: list


def list_url(**changes) -> str:
    """Return this list's address with the paging arguments replaced by `changes`."""
    args = {
        name: values
        for name, values in request.args.lists()
        if name not in PAGING_ARGS and name not in changes
    }
    args.update({name: [value] for name, value in changes.items() if value is not None})
    return url_with_args(request.endpoint, args)


def url_with_args(endpoint: str, args: dict[str, list], **values) -> str:
    """Return the endpoint's address with these query arguments (each a list of values).

    The query string is built apart: an argument named like one of url_for's own
    (endpoint, _method, _external...) stays an argument instead of becoming one of url_for's
    (a TypeError, or an absolute address built from the Host header).
    """
    pairs = [(name, value) for name, given in args.items() for value in given]
    base = url_for(endpoint, **values)
    return f"{base}?{urlencode(pairs)}" if pairs else base


def parse_day(raw: str | None) -> date | None:
    """Return the day a "jump to a date" field names (YYYY-MM-DD), None for anything else."""
    try:
        day = date.fromisoformat(raw) if raw and len(raw) == 10 else None
    except ValueError:
        return None
    # The first and last days there are have no day before or after them to start from.
    return day if day is not None and date.min < day < date.max else None


class SecuredModelView(ProtectedMixin, ModelView):
    """A ModelView with role checks, sensible paging and no inline list editing."""

    # Flask-Admin's list has unlabelled row checkboxes; ours labels them for screen readers.
    list_template = "admin/cms_list.html"
    # The list's own query arguments besides Flask-Admin's (keyset paging; views add theirs).
    list_args: tuple[str, ...] = PAGING_ARGS
    page_size = 20
    can_set_page_size = True
    can_view_details = True
    # No count of the whole table per request: lists page by keyset (see get_list).
    simple_list_pager = True
    # Inline list editing would bypass the field rules written in each form.
    column_editable_list = ()
    # Exports are off unless a view lists its own safe columns.
    can_export = False
    # What this list calls its things ("New post", "Post saved.", "No posts yet.").
    words = ITEMS
    # The list column that links to the row's edit page (or its details where it has none);
    # None where the view's own formatter makes the link.
    title_column: str | None = None

    # --- Plain words instead of Flask-Admin's "records" ---------------------------------

    def search_placeholder(self) -> str:
        """Return the search box's hint: "Search posts"."""
        return str(self.words.search)

    def get_empty_list_message(self) -> str:
        """Return what an empty list says: "No posts yet."."""
        return str(self.words.empty)

    def row_label(self, row) -> str:
        """Return how a row is named in questions and messages (its title or name)."""
        return str(row)

    def delete_question(self, row) -> str:
        """Return the question the row's delete button asks, naming the row."""
        return str(self.words.delete_question) % {"title": self.row_label(row)}

    def may_delete_row(self, row) -> bool:
        """Return whether the list shows a delete button on this row."""
        return self.can_delete

    def plain_message(self, message):
        """Return one of Flask-Admin's flashed sentences in this view's words."""
        return plain_message(self.words, message)

    def _handle_view(self, name, **kwargs):
        """Remember the view for plain_flash, then check access as Flask-Admin does."""
        g.cms_view = self
        return super()._handle_view(name, **kwargs)

    def _get_list_extra_args(self):
        """Read the list arguments, resetting out-of-range pages and cutting long searches."""
        args = super()._get_list_extra_args()
        if args.page is not None and not 0 <= args.page <= MAX_PAGE:
            args.page = 0
        if args.search and len(args.search) > MAX_SEARCH_LENGTH:
            args.search = args.search[:MAX_SEARCH_LENGTH]
        # Flask-Admin passes every other argument on to url_for when it builds the list's
        # links: one named like url_for's own (endpoint, _method...) was a TypeError, a 500.
        args.extra_args = {
            name: value for name, value in args.extra_args.items() if name in self.list_args
        }
        return args

    def export_url(self, export_type: str) -> str:
        """Return the export's address with this list's arguments (search, filters, sort)."""
        args = {name: request.args.getlist(name) for name in request.args}
        return url_with_args(f"{self.endpoint}.export", args, export_type=export_type)

    # --- Keyset paging -------------------------------------------------------------------------

    def list_sort(self, sort_column, sort_desc) -> tuple[str, object, bool]:
        """Return the sort to page by: (name, column, descending).

        An offered column of this view's own table; anything else (a column of a joined
        table, nothing) is the view's default sort.
        """
        chosen = self._sortable_columns.get(sort_column) if sort_column else None
        if chosen is not None and getattr(chosen, "class_", None) is self.model:
            return sort_column, chosen, bool(sort_desc)
        default = self.column_default_sort or "id"
        if isinstance(default, list):
            default = default[0]
        name, desc = default if isinstance(default, tuple) else (default, False)
        return name, getattr(self.model, name), bool(desc)

    def list_cursor(self, name: str, key, desc: bool):
        """Return where the requested page starts: a cursor, a day to jump to, or the top."""
        column = keyset.column_of(key)
        for arg in ("after", "before"):
            cursor = keyset.decode(request.args.get(arg), name, column)
            if cursor is not None and cursor.forward == (arg == "after"):
                return cursor
        day = parse_day(request.args.get("day"))
        if day is not None and keyset.python_type(column) is datetime:
            return keyset.from_date(day, desc)
        return None

    def list_options(self, query):
        """Load the related rows the list shows for the page's rows only (one query each)."""
        for relation in self._auto_joins:
            query = query.options(selectinload(relation))
        return query

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        """Return one page of rows from the cursor in the request, never counting the table.

        With execute=False (the CSV export) the whole ordered query is returned instead.
        """
        query = self.get_query()
        joins: dict = {}
        if self._search_supported and search:
            query, _count, joins, _joins = self._apply_search(query, None, joins, {}, search)
        if filters and self._filters:
            query, _count, joins, _joins = self._apply_filters(query, None, joins, {}, filters)
        query = self.list_options(query)
        name, key, desc = self.list_sort(sort_column, sort_desc)
        if not execute:
            order = (key.desc(), self.model.id.desc()) if desc else (key, self.model.id)
            return None, query.order_by(*order).limit(page_size)
        size = page_size or self.page_size
        cursor = self.list_cursor(name, key, desc)
        found = keyset.read_page(query, key, self.model.id, name, desc, cursor, size)
        by_time = keyset.python_type(keyset.column_of(key)) is datetime
        self._template_args["cms_pager"] = Pager(
            newer_url=list_url(before=found.newer) if found.newer else None,
            older_url=list_url(after=found.older) if found.older else None,
            by_time=by_time,
            descending=desc,
            day=(parse_day(request.args.get("day")) or "") and request.args["day"],
            kept_args=[
                (arg, value)
                for arg, values in request.args.lists()
                if arg not in PAGING_ARGS
                for value in values
            ],
        )
        return None, found.rows

    def handle_action(self, return_view=None):
        """Refuse unknown (400) or forbidden (403) bulk actions instead of ignoring them."""
        name = request.form.get("action", "")
        if name not in self._actions_data:
            abort(400)
        if not self.is_action_allowed(name):
            abort(403)
        return super().handle_action(return_view)

    def selected_rows(self, ids) -> list:
        """Return the rows a bulk action names; 404 if one is outside this person's list."""
        wanted = {parse_id(ident) for ident in ids}
        model = self.model
        rows = self.get_query().filter(model.id.in_(wanted)).all() if wanted else []
        if len(rows) != len(wanted):
            abort(404)
        return rows

    def get_one(self, id):
        """Return the row with this id; 404 for ids that are not plain numbers or name no row."""
        # PostgreSQL fails on a non-numeric id for an integer key (a 500 without this check).
        row = super().get_one(str(parse_id(id)))
        if row is None:
            abort(404)
        return row

    @action("delete", admin_lazy_gettext("Delete"), _l("Delete the selected items for good?"))
    def action_delete(self, ids):
        """Delete the selected rows; ids that are not plain numbers are refused before SQL."""
        return super().action_delete([parse_id(ident) for ident in ids])

    # --- Audit log ---------------------------------------------------------------------------

    def _on_model_change(self, form, model, is_created):
        """Run the view's own checks, then log what the form changed, in the same transaction."""
        super()._on_model_change(form, model, is_created)
        changes = audit.form_changes(form, is_created)
        if not is_created and not changes:
            return
        # The id of a new row is known only once it is written.
        db.session.flush()
        audit.record("create" if is_created else "update", model, audit.format_changes(changes))
        roles = [change for change in changes if change[0] == "roles"]
        if roles and not is_created:
            audit.record("roles", model, audit.format_changes(roles))

    def delete_model(self, model):
        """Delete a row; the audit event is committed with the deletion, or not at all."""
        audit.record("delete", model, audit.shorten(str(model)))
        return super().delete_model(model)

    # --- Export ------------------------------------------------------------------------------

    def _export_data(self):
        """Return (None, the ordered query of the rows to export): read while it is sent."""
        view_args = self._get_list_extra_args()
        found = self._get_column_by_idx(view_args.sort)
        _count, query = self.get_list(
            0,
            found[0] if found is not None else None,
            view_args.sort_desc,
            view_args.search,
            view_args.filters,
            execute=False,
            page_size=self.export_max_rows,
        )
        return None, query

    def _export_csv(self, return_url):
        """Return the CSV as a stream: rows are read in batches while they are sent."""
        _count, query = self._export_data()
        columns = self._export_columns

        def lines():
            """Yield the CSV a batch of rows at a time."""
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow([defuse_formula(str(label)) for _name, label in columns])
            for number, row in enumerate(query.yield_per(EXPORT_BATCH), start=1):
                writer.writerow([self.get_export_value(row, name) for name, _ in columns])
                if number % EXPORT_BATCH == 0:
                    yield out.getvalue()
                    out.seek(0)
                    out.truncate()
            yield out.getvalue()

        filename = secure_filename(self.get_export_name("csv"))
        disposition = f"attachment; filename={filename}"
        return Response(
            stream_with_context(lines()),
            mimetype="text/csv",
            headers={"Content-Disposition": disposition},
        )

    def get_export_value(self, model, name):
        """Return a cell for the CSV export, with spreadsheet formulas defused."""
        return defuse_formula(super().get_export_value(model, name))

    def handle_view_exception(self, exc: Exception) -> bool:
        """Report clashes with other records plainly; let database outages reach the 503 page."""
        if isinstance(exc, IntegrityError):
            # Flask-Admin would show the SQL statement and the driver's message.
            flash(
                _("This clashes with an existing entry: a name or address is already taken."),
                "error",
            )
            return True
        if isinstance(exc, DBAPIError):
            raise exc
        return super().handle_view_exception(exc)


class SecuredIndexView(ProtectedMixin, AdminIndexView):
    """The dashboard home; any staff role may open it."""
