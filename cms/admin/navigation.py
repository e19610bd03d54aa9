"""The site menu: editors and admins list pages and addresses in the order readers see them."""

from flask import abort, flash, redirect, request
from flask_admin import expose
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
from cms.services.navigation import (
    MAX_POSITION,
    MAX_URL_LENGTH,
    STEP,
    OrderRefused,
    apply_order,
    is_allowed_url,
    parse_order,
)
from cms.services.roles import ADMIN, EDITOR


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


def top_level_items() -> list[NavItem]:
    """Return the items another item may go under: the top-level ones, in menu order."""
    query = select(NavItem).where(NavItem.parent_id.is_(None))
    return list(db.session.scalars(query.order_by(NavItem.position, NavItem.id)))


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
    # A refused parent (a sub-item, or gone) is an error, not silently "top level".
    parent = ListedQuerySelectField(
        _l("Under"),
        [Optional()],
        query_factory=top_level_items,
        get_label=lambda item: item.label,
        allow_blank=True,
        blank_text=_l("— Top level —"),
        description=_l("Show this item in the submenu of another one (one level only)."),
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

    # The item being edited (None on the create form), set by the view.
    item: NavItem | None = None

    def validate_parent(self, field) -> None:
        """Refuse an item under itself, or an item with sub-items under another one."""
        if field.data is None or self.item is None:
            return
        if field.data.id == self.item.id:
            raise ValidationError(_("An item cannot be in its own submenu."))
        if self.item.children:
            raise ValidationError(
                _(
                    "This item has sub-items of its own, and the menu has one level of "
                    "nesting: move its sub-items to the top level first."
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


def shift(order: list, wanted: set[int], offset: int) -> int:
    """Move the wanted items of `order` one place up (-1) or down (+1) in place; count them."""
    indexes = range(len(order)) if offset < 0 else range(len(order) - 1, -1, -1)
    moved = 0
    for index in indexes:
        item = order[index]
        other = index + offset
        # A selected block moves together; the first item cannot go further up.
        if item.id in wanted and 0 <= other < len(order) and order[other].id not in wanted:
            order[index], order[other] = order[other], item
            moved += 1
    return moved


class NavItemView(SecuredModelView):
    """The items of the site's menu, in their order."""

    allowed_roles = (ADMIN, EDITOR)
    words = MENU
    title_column = "label"
    form = NavItemForm
    list_template = "admin/navigation/list.html"
    column_list = ("label", "parent", "page", "url", "position")
    column_details_list = ("label", "parent", "page", "url", "position")
    column_labels = {
        "label": _l("Label"),
        "parent": _l("Under"),
        "page": _l("Page"),
        "url": _l("Address"),
        "position": _l("Position"),
    }
    column_searchable_list = ("label", "url")
    column_sortable_list = ("label", "url", "position")
    column_default_sort = [("position", False), ("id", False)]
    column_formatters = {
        "page": lambda view, context, model, name: model.page.title if model.page else "",
        "parent": lambda view, context, model, name: model.parent.label if model.parent else "",
    }
    column_formatters_detail = column_formatters

    def create_form(self, obj=None):
        """Return the create form (no item to check a parent against yet)."""
        form = super().create_form(obj)
        form.item = None
        return form

    def edit_form(self, obj=None):
        """Return the edit form, which knows its item (to refuse a parent it cannot have)."""
        form = super().edit_form(obj)
        form.item = obj
        return form

    def on_model_change(self, form, model, is_created):
        """Keep either the page or the address, and place items without a position last."""
        if model.page is not None:
            model.url = ""
        model.url = model.url or ""
        if model.position is None:
            model.position = next_position()

    def menu_tree(self) -> list[tuple[NavItem, list[NavItem]]]:
        """Return the whole menu as (top-level item, its sub-items), in order (for templates)."""
        items = list(db.session.scalars(select(NavItem).order_by(NavItem.position, NavItem.id)))
        top = {item.id: (item, []) for item in items if item.parent_id is None}
        for item in items:
            if item.parent_id is not None and item.parent_id in top:
                top[item.parent_id][1].append(item)
            elif item.parent_id is not None:
                # A sub-item under a sub-item (never made here): shown at the top level.
                top[item.id] = (item, [])
        return list(top.values())

    @expose("/order/", methods=("POST",))
    def order_view(self):
        """Save the whole menu's order and nesting at once (the drag-and-drop panel).

        The form's `order` is a JSON list of {"id", "parent"} in menu order, naming every item
        once; anything else (an item added or deleted meanwhile, a sub-item with sub-items)
        is refused with a message and changes nothing.
        """
        try:
            changed = apply_order(db.session, parse_order(request.form.get("order")))
        except OrderRefused as refusal:
            db.session.rollback()
            flash(str(refusal), "error")
            return self.index_view(), 409
        for item in changed:
            audit.record("move", item, f"position: {item.position}, under: {item.parent_id}")
        db.session.commit()
        flash(_("The menu order was saved."), "success")
        return redirect(self.get_url(".index_view"))

    # --- Move up / Move down -------------------------------------------------------------

    def _move(self, ids, offset: int) -> int:
        """Move the selected items one place up (-1) or down (+1); return how many moved.

        Items move among their siblings: a top-level item takes its sub-items along, a
        sub-item stays in its submenu.
        """
        wanted = {parse_id(ident) for ident in ids}
        tree = self.menu_tree()
        known = {item.id for item, children in tree} | {
            child.id for item, children in tree for child in children
        }
        if not wanted or not wanted <= known:
            abort(404)
        top = [item for item, children in tree]
        moved = shift(top, wanted, offset)
        for _item, children in tree:
            moved += shift(children, wanted, offset)
        children_of = {item.id: children for item, children in tree}
        order = [entry for item in top for entry in (item, *children_of[item.id])]
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
