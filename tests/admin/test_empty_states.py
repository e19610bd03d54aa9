"""Empty lists say what to do next; a search that found nothing says how to undo it."""

import re

from tests.admin.admin_helpers import text


def test_an_empty_posts_list_offers_the_first_post(browser, login_as):
    login_as("author")
    page = text(browser.get("/admin/posts/"))
    assert "No posts yet." in page
    assert re.search(
        r'<a href="/admin/posts/new/[^"]*" class="btn btn-primary">Write the first one', page
    )
    assert "There are no items in the table." not in page


def test_an_empty_search_says_what_found_nothing_and_clears(browser, login_as):
    login_as("editor")
    page = text(browser.get("/admin/posts/?search=%3Cb%3Efoo"))
    # What was searched for, escaped.
    assert "No posts match “&lt;b&gt;foo”." in page
    assert "Clear the search" in page and "Write the first one" not in page


def test_empty_files_trash_and_log(browser, login_as):
    login_as("admin")
    files = text(browser.get("/admin/files/"))
    assert "No files yet." in files and "Upload the first one" in files
    trash = text(browser.get("/admin/trash/"))
    # Nothing is made in the trash: no button to make the first one.
    assert "Trash is empty." in trash and "btn btn-primary" not in trash.split("cms-empty")[1]
    assert "Nobody matches “zz”." in text(browser.get("/admin/users/?search=zz"))


def test_lists_have_plain_toolbars(browser, login_as):
    login_as("admin")
    posts = text(browser.get("/admin/posts/"))
    for words in (
        "New post",
        "Bulk actions",
        "Add a filter",
        "Export CSV",
        'placeholder="Search posts"',
    ):
        assert words in posts
    for old in ("With selected", "Add Filter", ">Create<", "Create New"):
        assert old not in posts
    assert 'placeholder="Search files"' in text(browser.get("/admin/files/"))
    assert "New tag" in text(browser.get("/admin/tags/"))


def test_the_first_column_links_to_the_row(browser, login_as):
    admin = login_as("admin")
    page = text(browser.get("/admin/users/"))
    assert re.search(
        rf'<a class="cms-row-title" href="/admin/users/edit/\?id={admin.id}[^"]*">', page
    )
    assert re.search(
        r'<a class="cms-row-title" href="/admin/roles/edit/', text(browser.get("/admin/roles/"))
    )
