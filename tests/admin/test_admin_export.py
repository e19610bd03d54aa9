"""The CSV export of posts: editors and admins only, safe columns, formulas defused."""

from tests.admin.admin_helpers import csv_rows, text
from tests.factories import make_post, make_tag, make_user

EXPORT = "/admin/posts/export/csv/"


def test_export_defuses_spreadsheet_formulas(browser, login_as):
    editor = login_as("editor")
    tag = make_tag("@tag")
    make_post(editor, title='=HYPERLINK("http://evil.example","x")', tags=[tag])
    make_post(editor, title="+1+1")
    make_post(editor, title="-2")
    make_post(editor, title="Plain title")

    response = browser.get(EXPORT)

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0] == [
        "ID", "Title", "Address", "Status", "Author", "Tags", "Publication time", "Last change",
    ]  # fmt: skip
    titles = {row[1] for row in rows[1:]}
    assert titles == {'\'=HYPERLINK("http://evil.example","x")', "'+1+1", "'-2", "Plain title"}
    assert any(row[5] == "'@tag" for row in rows[1:])
    # No Markdown, HTML or account data leaves through the export.
    assert "Some *text*" not in text(response) and "@example.com" not in text(response)


def test_export_is_refused_to_authors(browser, login_as):
    author = login_as("author")
    make_post(author, title="Mine")
    response = browser.get(EXPORT)
    assert response.status_code == 403
    assert "Mine" not in text(response)
    assert "/export/csv/" not in text(browser.get("/admin/posts/"))


def test_admin_can_export(browser, login_as):
    login_as("admin")
    make_post(make_user("writer@example.com", roles=("author",)), title="Theirs")
    rows = csv_rows(browser.get(EXPORT))
    assert [row[1] for row in rows[1:]] == ["Theirs"]
