"""The dashboard's lists, forms and details pass the Nu Html Checker (one JVM run for all)."""

import shutil
import subprocess

import pytest

from cms.models import PostStatus
from tests.admin.admin_helpers import bulk_action
from tests.factories import make_post, make_tag
from tests.test_html_validity import VALIDATOR

# Flask-Admin's base template writes this meta tag; it is not a part of the lists (its copy
# in our templates is changed apart), so it alone is left out of this check.
BASE_TEMPLATE_ERROR = 'whose value is "X-UA-Compatible"'


@pytest.mark.skipif(shutil.which("java") is None, reason="the Nu Html Checker needs Java")
def test_lists_forms_and_details_are_valid_html(browser, login_as, tmp_path):
    admin = login_as("admin")
    for number in range(3):
        make_post(admin, title=f"Post {number}")
    make_post(admin, title="A draft", status=PostStatus.DRAFT)
    tag = make_tag("Checked")
    gone = make_post(admin, title="Gone")
    bulk_action(browser, "/admin/posts/", "delete", [gone.id])
    urls = {
        # The list right after a move to trash: the message with its Undo form.
        "posts-undo": "/admin/posts/",
        "posts": "/admin/posts/",
        "posts-nothing-found": "/admin/posts/?search=nothing",
        "pages-empty": "/admin/pages/",
        "trash": "/admin/trash/",
        "audit": "/admin/audit/",
        "audit-details": "/admin/audit/details/?id=1",
        "users": "/admin/users/",
        "files-empty": "/admin/files/",
        "tag-new": "/admin/tags/new/",
        "tag-edit": f"/admin/tags/edit/?id={tag.id}",
        "tag-details": f"/admin/tags/details/?id={tag.id}",
    }
    for name, url in urls.items():
        response = browser.get(url)
        assert response.status_code == 200, url
        (tmp_path / f"{name}.html").write_bytes(response.data)
    result = subprocess.run(
        [str(VALIDATOR), "--root", str(tmp_path), "--format", "text", "--log", "WARNING"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = (result.stdout + result.stderr).splitlines()
    errors = [
        f"{line} {following}"
        for line, following in zip(lines, [*lines[1:], ""], strict=True)
        if line.startswith("Error:") and BASE_TEMPLATE_ERROR not in line
    ]
    assert errors == [], "\n".join(errors)
