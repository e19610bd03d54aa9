"""The dashboard: one Flask-Admin per app, every view behind the secured base."""

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l

from cms.admin.undo import pending_undo
from cms.extensions import db
from cms.services.media_access import dashboard_url
from cms.web import csp_nonce


def init_admin(app: Flask) -> Admin:
    """Build the dashboard for this app and register its views."""
    from cms.admin.audit import AuditView
    from cms.admin.files import FileView
    from cms.admin.index import DashboardIndexView
    from cms.admin.navigation import NavItemView
    from cms.admin.pages import PageView
    from cms.admin.posts import PostView
    from cms.admin.tags import TagView
    from cms.admin.trash import TrashView
    from cms.admin.users import RoleView, UserView
    from cms.models import AuditEvent, File, NavItem, Post, Role, Tag, User

    admin = Admin(
        app,
        name=app.config["SITE_NAME"],
        # "default" loads no remote fonts: the dashboard works offline.
        theme=Bootstrap4Theme(swatch="default", base_template="admin/cms_base.html"),
        index_view=DashboardIndexView(name=_l("Dashboard"), url="/admin"),
        # Flask-Admin's own <script> tags carry this request's CSP nonce.
        csp_nonce_generator=csp_nonce,
    )
    admin.add_view(PostView(Post, db, name=_l("Posts"), endpoint="posts"))
    admin.add_view(PageView(Post, db, name=_l("Pages"), endpoint="pages"))
    admin.add_view(TagView(Tag, db, name=_l("Tags"), endpoint="tags"))
    admin.add_view(NavItemView(NavItem, db, name=_l("Navigation"), endpoint="navigation"))
    admin.add_view(FileView(File, db, name=_l("Files"), endpoint="files"))
    admin.add_view(TrashView(Post, db, name=_l("Trash"), endpoint="trash"))
    admin.add_view(UserView(User, db, name=_l("Users"), endpoint="users", category=_l("People")))
    admin.add_view(RoleView(Role, db, name=_l("Roles"), endpoint="roles", category=_l("People")))
    admin.add_view(
        AuditView(AuditEvent, db, name=_l("Audit log"), endpoint="audit", category=_l("People"))
    )
    # Library files readers may not see yet are shown through signed addresses; templates
    # call this only for files the page's own query limited to what the person may see.
    app.jinja_env.globals["signed_file_url"] = dashboard_url
    app.jinja_env.globals["pending_undo"] = pending_undo
    return admin
