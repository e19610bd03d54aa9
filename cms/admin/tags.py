"""Tags: editors and admins name them; the address (slug) is made from the name when empty."""

from flask_admin.contrib.sqla.validators import Unique
from flask_admin.form import BaseForm
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from cms.admin.base import SecuredModelView
from cms.admin.words import TAGS
from cms.extensions import db
from cms.models import Tag
from cms.services.roles import ADMIN, EDITOR
from cms.services.slugs import unique_slug


def strip(value):
    """Return a submitted text without surrounding spaces."""
    return value.strip() if isinstance(value, str) else value


class TagForm(BaseForm):
    """A tag's name (unique), optional address and description."""

    name = StringField(
        _l("Name"),
        [InputRequired(), Length(max=64), Unique(db, Tag, Tag.name, _l("This name is taken."))],
        filters=[strip],
    )
    slug = StringField(
        _l("Address"),
        [Optional(), Length(max=80)],
        filters=[strip],
        description=_l("The last part of the tag page's address; made from the name when empty."),
    )
    description = TextAreaField(
        _l("Description"),
        [Optional(), Length(max=2000)],
        filters=[strip],
        description=_l("Shown on the tag's page and in its feed (plain text)."),
    )


class TagView(SecuredModelView):
    """Tag names and addresses."""

    allowed_roles = (ADMIN, EDITOR)
    words = TAGS
    form = TagForm
    column_list = ("name", "slug", "post_count")
    column_details_list = ("name", "slug", "description", "post_count")
    column_labels = {
        "name": _l("Name"),
        "slug": _l("Address"),
        "description": _l("Description"),
        "post_count": _l("Posts"),
    }
    column_searchable_list = ("name", "slug")
    column_sortable_list = ("name", "slug")
    column_default_sort = ("name", False)
    column_formatters = {
        "name": lambda view, context, model, name: Markup('<a href="{}">{}</a>').format(
            view.get_url(".edit_view", id=model.id), model.name
        ),
        "post_count": lambda view, context, model, name: model.posts.count(),
    }
    column_formatters_detail = {
        "post_count": lambda view, context, model, name: model.posts.count(),
    }

    def on_model_change(self, form, model, is_created):
        """Tidy the name and give the tag a unique address."""
        model.name = (model.name or "").strip()
        model.description = (model.description or "").strip()
        if not model.name:
            raise ValidationError(_("The name cannot be empty."))
        model.slug = unique_slug(Tag, model.slug or model.name, model.id, "tag")
