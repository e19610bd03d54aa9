"""Pages (About, Contact): their own list, with the posts' workflow, revisions and preview."""

from flask_babel import gettext as _
from wtforms.validators import ValidationError

from cms.admin.post_filters import post_filters
from cms.admin.posts import PostView
from cms.admin.words import PAGES
from cms.models import PostKind
from cms.services.slugs import is_reserved_page_slug, make_slug


class PageView(PostView):
    """Standalone pages served at /<slug>: no tags, and addresses the site needs are refused."""

    kind = PostKind.PAGE
    words = PAGES
    fields_left_out = ("tags",)
    column_list = ("title", "status", "author", "published_at", "updated_at")
    column_details_list = (
        "title", "slug", "status", "author", "published_at", "unpublish_at", "created_at",
        "updated_at", "meta_title", "meta_description", "excerpt", "body_html",
    )  # fmt: skip
    column_export_list = ("id", "title", "slug", "status", "author", "published_at", "updated_at")
    column_filters = post_filters(with_tags=False)

    def check_slug(self, model) -> None:
        """Refuse an address that a part of the site already answers (admin, posts, ...)."""
        if is_reserved_page_slug(make_slug(model.slug or model.title, "page")):
            raise ValidationError(
                _("This address is used by the site itself. Please choose another one.")
            )
