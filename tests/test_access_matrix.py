"""Every dashboard endpoint against every role, generated from app.url_map (SECURITY 7, 9, 19).

The routes are read from a freshly built app when the tests are collected, so a new dashboard
view or a new exposed endpoint is tested the moment it exists; a view missing from ACCESS fails.
"""

import re
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from cms import create_app
from cms.extensions import db
from cms.models import NavItem, PostStatus, Role
from cms.services.media import store_upload
from tests.factories import PASSWORD, image_bytes, make_post, make_tag, make_user
from tests.helpers import csrf_token_from, files_in, snapshot
from tests.world import World

ROLES = ("anonymous", "reader", "author", "editor", "admin")
STAFF = {"author", "editor", "admin"}
# Who may use each dashboard view, keyed by the view's endpoint ("admin" is the dashboard home).
ACCESS = {
    "admin": STAFF,
    "posts": STAFF,
    "pages": STAFF,
    "trash": {"editor", "admin"},
    "files": STAFF,
    "tags": {"editor", "admin"},
    "navigation": {"editor", "admin"},
    "users": {"admin"},
    "roles": {"admin"},
    "audit": {"admin"},
}
# Endpoints narrower than their view: exporting every post is for those who see every post.
ENDPOINT_ACCESS = {
    "posts.export": {"editor", "admin"},
    "pages.export": {"editor", "admin"},
    # Emptying the trash deletes for good: admins only.
    "trash.empty_view": {"admin"},
    # The post editor's image picker (JSON): every staff member, each seeing only their files.
    "files.library": STAFF,
}
# The dashboard's own scripts and styles: everybody may fetch them.
PUBLIC = {"admin.static"}
# Values for the variable parts of routes; anything else gets the id of the view's sample row.
SAMPLE_ARGS = {"export_type": "csv", "filename": "admin/js/helpers.js"}
# Everything a hostile form could try to set; refused requests must change none of it.
HOSTILE_FORM = {
    "title": "Changed by the access matrix",
    "name": "changed-by-matrix",
    "slug": "changed-by-matrix",
    "email": "changed@example.com",
    "description": "changed",
    "body_md": "changed",
    "status": "published",
    "active": "y",
    "roles": "1",
    "new_password": "a brand new password",
    "action": "delete",
    "list_form_pk": "",
    "value": "changed",
}


def dashboard_routes(app) -> list[tuple[str, str, str]]:
    """Return (method, rule, endpoint) for every route under /admin."""
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule != "/admin" and not rule.rule.startswith("/admin/"):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found.add((method, rule.rule, rule.endpoint))
    return sorted(found, key=lambda route: (route[1], route[0]))


def _collect_routes() -> list[tuple[str, str, str]]:
    """Build a throw-away app (no database needed) and return its dashboard routes."""
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "collect",
                "SECURITY_PASSWORD_SALT": "collect",
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
                "INSTANCE_PATH": str(Path(folder) / "instance"),
                "UPLOAD_FOLDER": str(Path(folder) / "uploads"),
            }
        )
        return dashboard_routes(app)


ROUTES = _collect_routes()


def view_of(endpoint: str) -> str:
    """Return the dashboard view an endpoint belongs to (its blueprint name)."""
    return endpoint.split(".", 1)[0]


def allowed_roles(endpoint: str) -> set[str]:
    """Return the roles that may use an endpoint."""
    return ENDPOINT_ACCESS.get(endpoint, ACCESS[view_of(endpoint)])


def make_world(role: str) -> dict[str, int]:
    """Create one row per view (owned by the logged-in user) and return their ids by view."""
    if role == "anonymous":
        owner = make_user("owner@example.com", roles=("author",))
    else:
        owner = make_user(f"{role}@example.com", roles=(role,))
    post = make_post(owner, title="Sample post", status=PostStatus.DRAFT)
    tag = make_tag("Sample")
    nav = NavItem(label="Sample link", url="/sample", position=1)
    db.session.add(nav)
    victim = make_user("victim@example.com", roles=("editor",))
    custom = Role(name="custom", description="A role made by the test")
    db.session.add(custom)
    upload = store_upload(db.session, image_bytes(), "sample.png", owner)
    db.session.commit()
    return {
        "posts": post.id,
        "tags": tag.id,
        "navigation": nav.id,
        "files": upload.id,
        "users": victim.id,
        "roles": custom.id,
    }


def build_url(rule: str, ident: int | None) -> str:
    """Fill the rule's variables with sample values and add ?id= of a real row."""
    path = re.sub(
        r"<(?:[^:<>]+:)?([^<>]+)>",
        lambda match: str(SAMPLE_ARGS.get(match.group(1), ident or 1)),
        rule,
    )
    return f"{path}?id={ident}" if ident is not None else path


def is_login_redirect(response) -> bool:
    """Return whether a response sends the visitor to the login page."""
    location = response.headers.get("Location", "")
    return response.status_code in (301, 302, 303) and urlsplit(location).path == "/account/login"


def test_routes_were_collected(app):
    """The collected routes are the session app's routes, and every view has some."""
    assert dashboard_routes(app) == ROUTES
    endpoints = {endpoint for _, _, endpoint in ROUTES}
    for view in ACCESS:
        assert any(view_of(e) == view for e in endpoints), f"no routes for view {view!r}"
    # Exceptions may only narrow a view's rule, and must name real endpoints.
    for endpoint, roles in ENDPOINT_ACCESS.items():
        assert endpoint in endpoints and roles <= ACCESS[view_of(endpoint)], endpoint
    # Every ModelView exposes at least these; a broken collector would show fewer.
    assert {"posts.index_view", "posts.delete_view", "posts.ajax_lookup", "posts.export"} <= (
        endpoints
    )
    # History, comparison and restore (cms/admin/revisions.py): the post view's rules apply.
    assert {"posts.history", "posts.compare", "posts.restore_revision"} <= endpoints


def test_every_dashboard_endpoint_is_in_the_table(app):
    """A view added to the dashboard must be given an access rule here before it ships."""
    unknown = sorted(
        endpoint
        for _, _, endpoint in dashboard_routes(app)
        if endpoint not in PUBLIC and view_of(endpoint) not in ACCESS
    )
    assert not unknown, f"dashboard endpoints without an access rule: {unknown}"


def writes(role: str, method: str, endpoint: str) -> bool:
    """Return whether a cell may change data: a POST by someone allowed to make it."""
    return method == "POST" and endpoint not in PUBLIC and role in allowed_roles(endpoint)


def expectation(role: str, method: str, endpoint: str) -> str:
    """Return what a cell must answer, in the words of the failure message."""
    if endpoint in PUBLIC:
        expected = "200"
    elif role == "anonymous":
        expected = "login redirect with next=, nothing changed"
    elif role not in allowed_roles(endpoint):
        expected = "403, nothing changed"
    else:
        expected = "served (not 403, no login redirect, < 500)"
    if method == "GET" and not expected.endswith("nothing changed"):
        expected += ", nothing changed"
    return expected


def check_cell(role, method, endpoint, response, unchanged: bool) -> str | None:
    """Return what is wrong with one cell's answer, or None if it is what its rule says."""
    status = response.status_code
    if endpoint in PUBLIC:
        wrong = status != 200
    elif role == "anonymous":
        location = response.headers.get("Location", "")
        wrong = not (is_login_redirect(response) and "next=" in location) or not unchanged
    elif role not in allowed_roles(endpoint):
        wrong = status != 403 or not unchanged
    else:
        wrong = status == 403 or is_login_redirect(response) or status >= 500
    if method == "GET" and not unchanged:
        # Nothing changes on GET, whoever asks (SECURITY 19).
        wrong = True
    if not wrong:
        return None
    got = f"{status}"
    if response.location:
        got += f" -> {response.location}"
    if not unchanged:
        got += ", changed data"
    return got


def cell_plan(role: str) -> list[tuple[str, str, str]]:
    """Return the routes in the order one role tries them: those that cannot write first."""
    reads = [route for route in ROUTES if not writes(role, route[0], route[2])]
    return reads + [route for route in ROUTES if writes(role, route[0], route[2])]


def csrf_token_of(client) -> str:
    """Return a valid CSRF token of the client's session, read from the first page with a form.

    The login page has one for visitors (it sends the logged-in on); the header's log-out form
    has one for the logged-in; the change-password page as a last resort.
    """
    for page in ("/account/login", "/", "/account/change"):
        html = client.get(page).get_data(as_text=True)
        if 'name="csrf_token"' in html:
            return csrf_token_from(html)
    raise AssertionError("no page with a CSRF token")


@pytest.mark.parametrize("role", ROLES)
def test_dashboard_access(app, client, browser, ctx, role):
    """Anonymous -> login; no right -> 403 and nothing changed; the right -> served.

    Every (method, route) cell of one role is tried in one test, with one world and one login:
    a cell that changed data (an allowed POST, or a bug) puts the world back as it was before
    the next cell. Every failing cell is listed at the end.
    """
    ids = make_world(role)
    if role != "anonymous":
        assert browser.login(f"{role}@example.com", PASSWORD).status_code == 302
    token = csrf_token_of(client)
    uploads = app.config["UPLOAD_FOLDER"]
    world = World.take(uploads)
    failures = []
    for method, rule, endpoint in cell_plan(role):
        view = view_of(endpoint)
        url = build_url(rule, ids.get(view))
        if endpoint not in PUBLIC and view not in ACCESS:
            failures.append(f"{role} {method} {url} [{endpoint}]: has no access rule")
            continue
        if method == "GET":
            response = client.get(url)
        else:
            # A valid token, so that a refusal comes from the access check and not from CSRF.
            ident = str(ids.get(view, ""))
            form = dict(HOSTILE_FORM, csrf_token=token, id=ident, rowid=ident, list_form_pk=ident)
            response = client.post(url, data=form)
        response.close()
        rows, files = snapshot(), files_in(uploads)
        unchanged = rows == world.rows and files == world.top_files
        got = check_cell(role, method, endpoint, response, unchanged)
        if got is not None:
            expected = expectation(role, method, endpoint)
            failures.append(f"{role} {method} {url} [{endpoint}]: expected {expected}; got {got}")
        world.restore_if_changed(rows)
    if failures:
        pytest.fail(f"{len(failures)} access matrix cell(s) failed:\n" + "\n".join(failures))


def test_api_token_does_not_open_the_dashboard(app, client, ctx):
    """An Authentication-Token header logs nobody into the dashboard or the account pages."""
    admin = make_user("admin@example.com", roles=("admin",))
    token = admin.get_auth_token()
    headers = {"Authentication-Token": token}
    for url in ("/admin/", "/admin/users/", "/admin/posts/"):
        response = client.get(url, headers=headers)
        assert response.status_code in (302, 403), url
        assert response.status_code != 302 or is_login_redirect(response), url
    response = client.get("/account/", headers=headers)
    assert is_login_redirect(response)


def test_deactivated_staff_lose_the_dashboard(app, browser, ctx):
    """Deactivating an editor ends the session they already have (SECURITY 15)."""
    editor = make_user("editor@example.com", roles=("editor",))
    browser.login("editor@example.com", PASSWORD)
    assert browser.get("/admin/tags/").status_code == 200
    editor.active = False
    db.session.commit()
    assert is_login_redirect(browser.get("/admin/tags/"))
