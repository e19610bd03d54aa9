"""The focal point on a file's edit page: the picker's markup, half-filled pairs refused in
plain words with nothing lost, and crops that follow the new point."""

import re

import pytest

from cms.extensions import db
from cms.models import File
from cms.services.media import store_upload
from cms.services.renditions import crop_name
from tests.admin.admin_helpers import submit_admin, text
from tests.factories import image_bytes

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def edit_url(record) -> str:
    """Return the edit address of a file."""
    return f"/admin/files/edit/?id={record.id}"


def stored(data: bytes, name: str, who) -> File:
    """Store a file directly and commit it."""
    record = store_upload(db.session, data, name, who)
    db.session.commit()
    return record


def fresh(record) -> File:
    """Return a file as stored now."""
    db.session.expire_all()
    return db.session.get(File, record.id)


def alerts(page: str) -> list[str]:
    """Return the texts of the flashed messages on a page."""
    return [
        " ".join(re.sub(r"<button.*?</button>|<[^>]+>", " ", body, flags=re.S).split())
        for body in re.findall(r'<div class="alert [^"]*"[^>]*>(.*?)</div>', page, re.S)
    ]


def test_an_image_edit_page_has_the_focal_point_picker(browser, login_as):
    editor = login_as("editor")
    record = stored(image_bytes(), "photo.png", editor)
    page = text(browser.get(edit_url(record)))
    assert 'id="cms-focal-area"' in page and "focal-point.js" in page
    assert 'id="cms-focal-status" role="status"' in page
    assert "Clear focal point" in page
    # The picker describes itself and the point it holds to screen readers.
    assert 'aria-describedby="cms-focal-help cms-focal-status"' in page
    assert "Focal point: {x} % from left, {y} % from top." in page
    # The typed fields stay, for keyboards without the picker and for pages without scripts.
    assert 'name="focal_x"' in page and 'name="focal_y"' in page


def test_a_document_has_no_picker(browser, login_as):
    editor = login_as("editor")
    record = stored(PDF, "paper.pdf", editor)
    assert "cms-focal-area" not in text(browser.get(edit_url(record)))


@pytest.mark.parametrize(("focal_x", "focal_y"), [("30%", ""), ("", "0.6")])
def test_a_half_filled_pair_is_refused_in_plain_words_and_nothing_is_lost(
    browser, login_as, focal_x, focal_y
):
    editor = login_as("editor")
    record = stored(image_bytes(), "photo.png", editor)
    response = submit_admin(
        browser,
        edit_url(record),
        {"alt_text": "Boats at dawn", "focal_x": focal_x, "focal_y": focal_y},
    )
    assert response.status_code == 400
    page = text(response)
    assert "Set both focal point values, or clear both" in page
    assert "Nothing was saved: please check the fields marked below." in alerts(page)
    assert not any("Failed to save" in alert for alert in alerts(page))
    # What was typed is still in the form; nothing reached the database.
    assert "Boats at dawn" in page
    assert f'value="{focal_x or focal_y}"' in page
    saved = fresh(record)
    assert (saved.alt_text, saved.focal_x, saved.focal_y) == ("", None, None)


def test_setting_and_clearing_the_point_moves_the_crops(browser, login_as):
    editor = login_as("editor")
    record = stored(image_bytes(), "photo.png", editor)
    centred = crop_name(fresh(record), 320, 320)
    response = submit_admin(browser, edit_url(record), {"focal_x": "30%", "focal_y": "60.5%"})
    assert response.status_code == 302
    assert "File saved." in alerts(text(browser.get(response.headers["Location"])))
    saved = fresh(record)
    assert (saved.focal_x, saved.focal_y) == (0.3, 0.605)
    moved = crop_name(saved, 320, 320)
    assert moved != centred and "-f3060." in moved
    assert (
        submit_admin(browser, edit_url(record), {"focal_x": "", "focal_y": ""}).status_code == 302
    )
    saved = fresh(record)
    assert (saved.focal_x, saved.focal_y) == (None, None)
    assert crop_name(saved, 320, 320) == centred
