"""Tags: editors and admins."""

from cms.admin.base import SecuredModelView
from cms.services.roles import ADMIN, EDITOR


class TagView(SecuredModelView):
    """Tag names and slugs."""

    allowed_roles = (ADMIN, EDITOR)
    form_columns = ("name", "slug")
