"""The site menu: editors and admins list pages and addresses in the order readers see them."""

from flask import abort, flash
from flask_admin.actions import action
from flask_admin.form import BaseForm, Select2Widget
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func, select
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from cms.admin.base import SecuredModelView, parse_id
from cms.admin.fields import ListedQuerySelectField
from cms.admin.words import MENU
from cms.extensions import db
from cms.models import NavItem, Post, PostKind, PostStatus
from cms.services import audit
from cms.services.navigation import MAX_URL_LENGTH, is_allowed_url
from cms.services.roles import ADMIN, EDITOR

MAX_POSITION = 1_000_000
# Positions given by Move up/Move down: room in between for items placed by hand.
STEP = 10


def strip(value):
    """Return a submitted text without surrounding spaces."""
    return value.strip() if isinstance(value, str) else value


def menu_pages() -> list[Post]:
    """Return the pages a menu item may point at (not trashed), by title."""
    query = (
        select(Post)
        .where(Post.kind == PostKind.PAGE, Post.status != PostStatus.TRASHED)
        .order_by(Post.title, Post.id)
    )
    return list(db.session.scalars(query))


class NavItemForm(BaseForm):
    """A menu entry: its label, and either one of the site's pages or an address."""

    label = StringField(_l("Label"), [DataRequired(), Length(max=80)], filters=[strip])
    # A trashed, deleted or made-up page id is an error, not silently "no page".
    page = ListedQuerySelectField(
        _l("Page"),
        [Optional()],
        query_factory=menu_pages,
        get_label=lambda page: page.title,
        allow_blank=True,
        blank_text="—",
        widget=Select2Widget(),
        description=_l("Shown in the menu only while readers can see the page."),
    )
    url = StringField(
        _l("Address"),
        [Optional(), Length(max=MAX_URL_LENGTH)],
        filters=[strip],
        description=_l(
            "Instead of a page: a path on this site (/about) or a full https:// address."
        ),
    )
    position = IntegerField(
        _l("Position"),
        [Optional(), NumberRange(min=0, max=MAX_POSITION)],
        description=_l("Lower numbers come first; empty puts the item last."),
    )

    def validate_url(self, field) -> None:
        """Accept a site path ("/about", not "//host") or an http(s) address, nothing else."""
        if field.data and not is_allowed_url(field.data):
            raise ValidationError(
                _(
                    "Please enter a path on this site starting with “/” (such as /about) "
                    "or a full address starting with https://."
                )
            )

    def validate(self, extra_validators=None) -> bool:
        """Check the fields, then that exactly one of page and address is given."""
        valid = super().validate(extra_validators)
        if valid and bool(self.page.data) == bool(self.url.data):
            message = (
                _("Choose a page or enter an address, not both.")
                if self.page.data
                else _("Choose a page or enter an address.")
            )
            self.url.errors = [*self.url.errors, message]
            return False
        return valid


def next_position() -> int:
    """Return a position after every item of the menu."""
    last = db.session.scalar(select(func.max(NavItem.position)))
    return min((last or 0) + STEP, MAX_POSITION)


class NavItemView(SecuredModelView):
    """The items of the site's menu, in their order."""

    allowed_roles = (ADMIN, EDITOR)
    words = MENU
    title_column = "label"
    form = NavItemForm
    column_list = ("label", "page", "url", "position")
    column_details_list = ("label", "page", "url", "position")
    column_labels = {
        "label": _l("Label"),
        "page": _l("Page"),
        "url": _l("Address"),
        "position": _l("Position"),
    }
    column_searchable_list = ("label", "url")
    column_sortable_list = ("label", "url", "position")
    column_default_sort = [("position", False), ("id", False)]
    column_formatters = {
        "page": lambda view, context, model, name: model.page.title if model.page else "",
    }
    column_formatters_detail = column_formatters

    def on_model_change(self, form, model, is_created):
        """Keep either the page or the address, and place items without a position last."""
        if model.page is not None:
            model.url = ""
        model.url = model.url or ""
        if model.position is None:
            model.position = next_position()

    # --- Move up / Move down -------------------------------------------------------------

    def _move(self, ids, offset: int) -> int:
        """Move the selected items one place up (-1) or down (+1); return how many moved."""
        wanted = {parse_id(ident) for ident in ids}
        items = list(db.session.scalars(select(NavItem).order_by(NavItem.position, NavItem.id)))
        if not wanted or not wanted <= {item.id for item in items}:
            abort(404)
        order = list(items)
        indexes = range(len(order)) if offset < 0 else range(len(order) - 1, -1, -1)
        moved = 0
        for index in indexes:
            item = order[index]
            other = index + offset
            # A selected block moves together; the first item cannot go further up.
            if item.id in wanted and 0 <= other < len(order) and order[other].id not in wanted:
                order[index], order[other] = order[other], item
                moved += 1
        for number, item in enumerate(order, start=1):
            position = min(number * STEP, MAX_POSITION)
            if item.position != position:
                audit.record("bulk:move", item, f"position: {item.position} -> {position}")
                item.position = position
        db.session.commit()
        return moved

    @action("move_up", _l("Move up"))
    def action_move_up(self, ids):
        """Move the selected items one place up in the menu."""
        count = self._move(ids, -1)
        flash(ngettext("%(num)d item moved.", "%(num)d items moved.", count), "success")

    @action("move_down", _l("Move down"))
    def action_move_down(self, ids):
        """Move the selected items one place down in the menu."""
        count = self._move(ids, +1)
        flash(ngettext("%(num)d item moved.", "%(num)d items moved.", count), "success")
