"""The Files list as a grid of cards or as a table: what a card shows, the layout kept in the
address, bulk actions from the grid, who gets an edit link, and the empty state."""

import html
import re

from cms.extensions import db
from cms.models import File
from cms.services.media import store_upload
from tests.admin.admin_helpers import bulk_action, row_exists, text
from tests.factories import image_bytes, make_user

LIST = "/admin/files/"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def stored(data: bytes, name: str, who, **fields) -> File:
    """Store a file directly and commit it."""
    record = store_upload(db.session, data, name, who)
    for key, value in fields.items():
        setattr(record, key, value)
    db.session.commit()
    return record


def cards(page: str) -> list[str]:
    """Return the HTML of each card of the grid, in order."""
    return re.findall(r'<li class="cms-file-card">(.*?)</li>', page, re.S)


def test_the_grid_shows_thumbnails_with_alt_text_names_types_and_sizes(browser, login_as):
    editor = login_as("editor")
    boats = stored(image_bytes(size=(64, 48)), "boats.png", editor, alt_text="Boats at dawn")
    stored(image_bytes(color=(9, 9, 9)), "bare.png", editor)
    paper = stored(PDF, "paper.pdf", editor)
    page = text(browser.get(LIST))
    found = cards(page)
    assert len(found) == 3
    by_name = {re.search(r'cms-file-card-name">([^<]+)<', card)[1]: card for card in found}
    boats_card = by_name["boats.png"]
    assert re.search(
        r'<img src="/uploads/[^"]+-thumb\.webp\?k=[^"]+" alt="Boats at dawn"', boats_card
    )
    assert f"/admin/files/edit/?id={boats.id}" in html.unescape(boats_card)
    assert "PNG ·" in boats_card and "No alt text" not in boats_card
    assert "No alt text" in by_name["bare.png"]
    assert "PDF · " in by_name["paper.pdf"] and "<img" not in by_name["paper.pdf"]
    assert f'value="{paper.id}" aria-label="Select “paper.pdf”"' in by_name["paper.pdf"]
    # The table is not drawn; its switch is offered, the grid is marked current.
    assert "model-list" not in page
    assert re.search(r'href="/admin/files/\?layout=table"', page)
    assert re.search(r'href="/admin/files/" aria-current="page"', page)


def test_the_table_layout_is_kept_while_sorting_and_searching(browser, login_as):
    editor = login_as("editor")
    for number in range(3):
        stored(image_bytes(color=(number, 2, 3)), f"photo {number}.png", editor)
    page = text(browser.get(f"{LIST}?layout=table&search=photo"))
    assert "model-list" in page and 'class="cms-file-card"' not in page
    sort_links = re.findall(r'href="(/admin/files/\?[^"]*sort=[^"]*)"', page)
    assert sort_links and all("layout=table" in link for link in sort_links)
    assert '<input type="hidden" name="layout" value="table">' in page
    # Switching back keeps the search.
    grid = re.search(r'href="([^"]*)"[^>]*>\s*<span class="fa fa-th-large"', page)[1]
    assert "search=photo" in html.unescape(grid) and "layout" not in grid


def test_an_unknown_layout_is_the_grid(browser, login_as):
    login_as("editor")
    for value in ("x" * 500, "'", "TABLE"):
        response = browser.get(f"{LIST}?layout={value}")
        assert response.status_code == 200
        assert "cms-empty-state" in text(response)


def test_bulk_delete_from_the_grid(browser, login_as):
    editor = login_as("editor")
    first = stored(image_bytes(color=(1, 1, 1)), "one.png", editor)
    second = stored(image_bytes(color=(2, 2, 2)), "two.png", editor)
    first_id, second_id = first.id, second.id
    page = text(browser.get(LIST))
    assert 'class="action-rowtoggle"' in page
    assert bulk_action(browser, LIST, "delete", [first_id]).status_code == 302
    assert not row_exists(File, first_id) and row_exists(File, second_id)


def test_authors_get_the_details_of_files_they_cannot_change(browser, login_as, app):
    editor = make_user("other-editor@example.com", roles=("editor",))
    author = login_as("author")
    own = stored(image_bytes(color=(5, 5, 5)), "mine.png", author)
    stored(image_bytes(color=(6, 6, 6)), "theirs.png", editor)
    page = html.unescape(text(browser.get(LIST)))
    assert f"/admin/files/edit/?id={own.id}" in page
    # Another person's unpublished upload is not in an author's list at all.
    assert "theirs.png" not in page


def test_an_empty_library_says_what_to_do_next(browser, login_as):
    login_as("editor")
    page = text(browser.get(LIST))
    assert "No files yet." in page and "Upload the first one" in page
    assert 'href="/admin/files/new/' in page
    searched = text(browser.get(f"{LIST}?search=nothing"))
    assert "No files match this search or filter." in searched
