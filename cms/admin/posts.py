"""Posts: editors and admins see all; authors their own drafts."""

from cms.admin.base import SecuredModelView
from cms.services.roles import STAFF


class PostView(SecuredModelView):
    """Posts."""

    allowed_roles = STAFF
    form_columns = ("title", "slug", "body_md", "excerpt", "tags", "status", "published_at")
