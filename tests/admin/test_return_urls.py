"""Return addresses (`url=`) of the dashboard never lead off the site (issue 10, item 1).

The endpoints that take a return address are generated from app.url_map; each gets hostile
variants in the query string (GET pages, Save) or in the posted form (delete, bulk actions).
The Location header and every link and hidden field of the page stay on the dashboard.
"""

import html
import io
import itertools
import re
import sys
from urllib.parse import unquote, urlencode, urlsplit

import pytest

from cms.admin.base import return_url_target
from cms.extensions import db
from cms.models import AuditEvent, NavItem, PostKind, PostStatus, Role, utcnow
from cms.services.media import store_upload
from cms.services.return_urls import safe_return_path
from tests.admin.admin_helpers import text
from tests.factories import image_bytes, make_post, make_tag, make_user
from tests.helpers import csrf_token_from, parse_forms
from tests.test_access_matrix import ROUTES

HOST = "evil.example"
SCHEMES = ("", "http:", "https:", "HTTP:", "hTtPs:", "javascript:", "ftp:", "//", "data:")
# Ways browsers, Werkzeug or a second decoding turn into "//" (or a scheme) before the host.
SEPARATORS = (
    "", "//", "///", "////", "/\\", "\\/", "\\\\", "/\\/", "%2F%2F", "%2f%2f", "/%2F", "/%2f",
    "%5C%5C", "/%5C", "/%5c", "/%252F", "/%255C", "/\t/", "\t//", "/\n/", "\r\n//", " //",
    "/ /", "\x00//", "/\x0b/", "\uff0f\uff0f", "/\uff0f", "\u2215\u2215", "\\\t\\", "/%09/",
    "/%0a/", "/%0d%0a/", "%09//", "/%00/",
)  # fmt: skip
HOSTILE = sorted(
    {f"{scheme}{sep}{HOST}" for scheme, sep in itertools.product(SCHEMES, SEPARATORS)}
    | {
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "http://localhost@evil.example/admin/",
        "https://evil.example/admin/",
        "/admin@evil.example",
        "/admin/../../evil.example",
        "/admin/%2e%2e/%2e%2e/evil.example",
        "/admin/%252e%252e/evil.example",
        "/admin/./../evil.example",
        "/admin%2F..%2F..%2Fevil.example",
        "/%61dmin/..%2F..%2Fevil.example",
        "/evil.example",
        "/account/logout?evil.example",
        "evil.example",
        "@evil.example",
        "?evil.example",
        "#evil.example",
        "/admin/\u202e/evil.example",
        "/admin/" + "a" * 3000 + "evil.example",
    }
)
# Sent through the dashboard itself: each separator, bare and after "http:", and the extras.
HTTP_VARIANTS = sorted(
    {f"{scheme}{sep}{HOST}" for scheme, sep in itertools.product(("", "http:"), SEPARATORS)}
    | {target for target in HOSTILE if HOST not in target[:30]}
)
# The strongest of them, sent to every endpoint (all of them go to one edit page below).
SAMPLE = (
    "http:evil.example", "//evil.example", "/\\evil.example", "\\\\evil.example",
    "https://evil.example", "javascript:alert(1)", "%2F%2Fevil.example", "/%2F/evil.example",
    "/%09/evil.example", " //evil.example", "http:/\\evil.example", "\t//evil.example",
    "\uff0f\uff0fevil.example", "/admin/../evil.example",
)  # fmt: skip
GOOD = ("/admin/", "/admin/posts/?search=hello&page=0", "/admin/tags/#top", "/admin")
# The Flask-Admin endpoints that read a return address.
RETURN_URL_ENDPOINTS = ("create_view", "edit_view", "details_view", "delete_view",
                        "action_view", "export")  # fmt: skip


def leaves_dashboard(value: str) -> bool:
    """Return whether an address (from a header or a page) could lead anywhere but /admin."""
    decoded = value
    for _round in range(3):
        decoded = unquote(html.unescape(decoded))
    return (
        "evil" in decoded.lower()
        or "alert(" in decoded
        or not re.match(r"^/admin(?:[/?#]|$)", value)
    )


def return_url_routes(app) -> list[tuple[str, str]]:
    """Return (endpoint, rule) of every dashboard endpoint that reads a return address."""
    found = set()
    for rule in app.url_map.iter_rules():
        view, _dot, name = rule.endpoint.partition(".")
        if rule.rule.startswith("/admin") and name in RETURN_URL_ENDPOINTS:
            found.add((rule.endpoint, rule.rule))
    return sorted(found)


def make_row(view: str, owner) -> int:
    """Create one row that `view` lists and return its id."""
    if view in ("posts", "pages", "trash"):
        kind = PostKind.PAGE if view == "pages" else PostKind.POST
        status = PostStatus.TRASHED if view == "trash" else PostStatus.DRAFT
        trashed_at = utcnow() if view == "trash" else None
        post = make_post(owner, status=status, kind=kind, trashed_at=trashed_at)
        return post.id
    if view == "tags":
        return make_tag(f"Tag {next(COUNTER)}").id
    if view == "navigation":
        row = NavItem(label=f"Link {next(COUNTER)}", url="/about", position=next(COUNTER))
    elif view == "files":
        row = store_upload(
            db.session, image_bytes(color=(next(COUNTER) % 255, 0, 0)), "a.png", owner
        )
    elif view == "users":
        return make_user(f"victim{next(COUNTER)}@example.com", roles=("editor",)).id
    elif view == "roles":
        row = Role(name=f"role{next(COUNTER)}", description="made by the test")
    elif view == "audit":
        row = AuditEvent(action="test", summary="made by the test")
    else:
        raise AssertionError(f"no sample row for {view}")
    db.session.add(row)
    db.session.commit()
    return row.id


COUNTER = itertools.count(1)


def with_url(path: str, **args) -> str:
    """Return `path` with these query arguments."""
    return f"{path}?{urlencode(args)}"


def assert_stays(response, where: str) -> None:
    """The answer neither redirects off the dashboard nor names a hostile address."""
    assert response.status_code < 500, (where, response.status_code)
    if response.status_code in (301, 302, 303, 307, 308):
        location = response.headers["Location"]
        assert not leaves_dashboard(location), (where, location)
    body = text(response) if response.mimetype == "text/html" else ""
    # Links, form targets and hidden fields; the language form's `next` is this page itself.
    values = re.findall(r'(?:href|action|src)="([^"]*)"', body)
    for form in parse_forms(body):
        values += [value for key, value in form["fields"].items() if key != "next"]
        # Delete and bulk-action forms carry the return address (the menu form's `url` is data).
        if form["action"].endswith(("/delete/", "/action/")) and "url" in form["fields"]:
            assert not leaves_dashboard(form["fields"]["url"]), (where, form["fields"]["url"])
    for value in values:
        decoded = value
        for _round in range(3):
            decoded = unquote(html.unescape(decoded))
        assert "evil" not in decoded.lower() and "alert(" not in decoded, (where, value)


@pytest.fixture
def admin_user(login_as):
    """An admin, logged in."""
    return login_as("admin")


# --- The rule itself ----------------------------------------------------------------------


@pytest.mark.parametrize("target", HOSTILE)
def test_hostile_return_addresses_are_refused(target):
    """Every generated variant is refused, whichever root it is checked against."""
    assert safe_return_path(target, root="/admin") is None
    kept = safe_return_path(target, root="/")
    # Under the site's root only plain same-site paths such as "/evil.example" pass.
    assert kept is None or re.match(r"^/[A-Za-z0-9@]", kept), kept


@pytest.mark.parametrize("target", GOOD)
def test_plain_dashboard_paths_are_kept(target):
    """A path under the dashboard comes back unchanged."""
    assert safe_return_path(target, root="/admin") == target


def test_paths_outside_the_root_are_refused():
    """Same site but outside the dashboard: refused with root="/admin", kept with root="/"."""
    assert safe_return_path("/about", root="/admin") is None
    assert safe_return_path("/administrator", root="/admin") is None
    assert safe_return_path("/about", root="/") == "/about"
    for value in (None, "", 5, b"/admin/"):
        assert safe_return_path(value, root="/admin") is None


def test_flask_admin_reads_return_addresses_through_ours(app):
    """No loaded Flask-Admin module keeps its own get_redirect_target (it takes http:evil)."""
    readers = {
        name: module.get_redirect_target
        for name, module in sys.modules.items()
        if name.startswith("flask_admin") and hasattr(module, "get_redirect_target")
    }
    assert {"flask_admin.model.base", "flask_admin.actions"} <= set(readers)
    assert all(reader is return_url_target for reader in readers.values()), readers


# --- Every endpoint that takes url= -------------------------------------------------------


def test_return_url_endpoints_were_found(app):
    """The generated list covers the views of the dashboard (a broken collector finds none)."""
    endpoints = {endpoint for endpoint, _rule in return_url_routes(app)}
    for view in ("posts", "pages", "tags", "navigation", "files", "users", "roles", "trash"):
        assert {f"{view}.edit_view", f"{view}.delete_view", f"{view}.action_view"} <= endpoints
    assert "files.create_view" in endpoints and "audit.details_view" in endpoints
    assert return_url_routes(app) == ROUTES_WITH_URL


ROUTES_WITH_URL = sorted(
    {(endpoint, rule) for _method, rule, endpoint in ROUTES
     if endpoint.partition(".")[2] in RETURN_URL_ENDPOINTS}
)  # fmt: skip


@pytest.mark.parametrize("route", ROUTES_WITH_URL, ids=[e for e, _ in ROUTES_WITH_URL])
def test_pages_and_redirects_stay_on_the_dashboard(app, browser, ctx, admin_user, route):
    """GET pages (Cancel, List, hidden fields) and POSTs (Save, delete, actions) stay here."""
    endpoint, rule = route
    view, _dot, name = endpoint.partition(".")
    client = browser.client
    for hostile in SAMPLE:
        where = f"{endpoint} url={hostile!r}"
        ident = make_row(view, admin_user)
        if name in ("create_view", "edit_view", "details_view", "export"):
            args = {"url": hostile}
            if name in ("edit_view", "details_view"):
                args["id"] = ident
            path = rule.replace("<export_type>", "csv")
            response = client.get(with_url(path, **args))
            assert_stays(response, where)
            if name == "edit_view" and response.status_code == 200:
                # Save, with the page's own form fields, to the address carrying the hostile
                # value (the form itself posts to this page with the checked return address).
                forms = parse_forms(text(response))
                form = next(
                    f
                    for f in forms
                    if f["method"] == "post" and urlsplit(f["action"] or path).path == path
                )
                assert "evil" not in form["action"] and "//" not in form["action"], where
                saved = client.post(with_url(path, **args), data=form["fields"])
                assert saved.status_code == 302, (where, text(saved)[-2000:])
                assert_stays(saved, f"save {where}")
            continue
        token = csrf_token_from(text(client.get(f"/admin/{view}/")))
        if name == "delete_view":
            data = {"csrf_token": token, "id": str(ident), "url": hostile}
        else:
            action = {"navigation": "move_up", "trash": "restore"}.get(view, "delete")
            data = {"csrf_token": token, "action": action, "rowid": str(ident), "url": hostile}
        response = client.post(rule, data=data)
        assert_stays(response, where)
        # The audit log has no bulk action at all (400); everything else redirects.
        if endpoint != "audit.action_view":
            assert response.status_code == 302, (where, response.status_code)


@pytest.mark.parametrize("hostile", HTTP_VARIANTS)
def test_every_variant_on_an_edit_page_and_its_save(app, browser, ctx, admin_user, hostile):
    """All generated variants: the edit page's links and where its Save leads stay here."""
    tag = make_tag("Kept")
    url = with_url("/admin/tags/edit/", id=tag.id, url=hostile)
    page = browser.client.get(url)
    assert page.status_code == 200
    assert_stays(page, hostile)
    form = next(f for f in parse_forms(text(page)) if "name" in f["fields"])
    for button in ({}, {"_continue_editing": "1"}):
        saved = browser.client.post(url, data={**form["fields"], **button})
        assert saved.status_code == 302, (hostile, button)
        assert_stays(saved, f"{hostile} {button}")


@pytest.mark.parametrize("good", GOOD)
def test_a_dashboard_return_address_still_works(app, browser, ctx, admin_user, good):
    """A plain dashboard path is offered as Cancel and List, and Save goes back to it."""
    tag = make_tag("Kept")
    url = with_url("/admin/tags/edit/", id=tag.id, url=good)
    page = browser.client.get(url)
    assert html.escape(good) in text(page)
    form = next(f for f in parse_forms(text(page)) if "name" in f["fields"])
    saved = browser.client.post(url, data=form["fields"])
    assert saved.headers["Location"] == good
    post = make_post(admin_user, status=PostStatus.DRAFT)
    token = csrf_token_from(text(browser.client.get("/admin/posts/")))
    moved = browser.client.post(
        "/admin/posts/delete/", data={"csrf_token": token, "id": str(post.id), "url": good}
    )
    assert moved.headers["Location"] == good


@pytest.mark.parametrize("hostile", SAMPLE)
def test_uploads_and_post_buttons_stay_on_the_dashboard(app, browser, ctx, admin_user, hostile):
    """The files upload form and the posts' bulk moves read the same rule."""
    page = browser.client.get(with_url("/admin/files/new/", url=hostile))
    assert_stays(page, hostile)
    token = csrf_token_from(text(page))
    for button in ({}, {"_add_another": "1"}, {"_continue_editing": "1"}):
        data = {"csrf_token": token, "upload": (io.BytesIO(image_bytes()), "a.png"), **button}
        stored = browser.client.post(
            with_url("/admin/files/new/", url=hostile),
            data=data,
            content_type="multipart/form-data",
        )
        assert stored.status_code == 302, (hostile, button)
        assert_stays(stored, f"upload {hostile} {button}")
    # A bulk publish refused (an image without alt text) goes back to the list, not off-site.
    upload = store_upload(db.session, image_bytes(color=(1, 2, 3)), "b.png", admin_user)
    db.session.commit()
    post = make_post(
        admin_user, status=PostStatus.DRAFT, body=f"![](/uploads/{upload.stored_name})"
    )
    token = csrf_token_from(text(browser.client.get("/admin/posts/")))
    refused = browser.client.post(
        "/admin/posts/action/",
        data={"csrf_token": token, "action": "publish", "rowid": str(post.id), "url": hostile},
    )
    assert_stays(refused, f"publish {hostile}")


def test_rescued_form_keeps_only_a_safe_return_address(app, client, ctx):
    """A save kept after the session ended sends the writer back with a safe url= only."""
    for hostile, kept in (("http:evil.example", False), ("/admin/posts/?page=1", True)):
        token = csrf_token_from(text(client.get("/account/login")))
        response = client.post(
            with_url("/admin/posts/new/", url=hostile),
            data={"csrf_token": token, "title": "Typed", "body_md": "text"},
            headers={"Origin": "http://localhost"},
        )
        location = unquote(unquote(response.headers.get("Location", "")))
        assert urlsplit(response.headers.get("Location", "")).path == "/account/login"
        assert "evil" not in location
        assert (hostile in location) == kept
