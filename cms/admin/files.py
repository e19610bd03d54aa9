"""Files."""

from cms.admin.base import SecuredModelView
from cms.services.roles import STAFF


class FileView(SecuredModelView):
    """Uploaded files."""

    allowed_roles = STAFF
    can_create = False
    can_edit = False
