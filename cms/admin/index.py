"""The dashboard home page."""

from flask_admin import expose

from cms.admin.base import SecuredIndexView
from cms.services.roles import STAFF


class DashboardIndexView(SecuredIndexView):
    """Counts, recent edits and recent files for staff."""

    allowed_roles = STAFF

    @expose("/")
    def index(self):
        """Show the dashboard."""
        return self.render("admin/dashboard.html")
