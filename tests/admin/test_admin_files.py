"""The files dashboard: uploads checked by content, thumbnails, scoping, rename and delete."""

import html
import re

from sqlalchemy import select

from cms.extensions import db
from cms.models import File
from cms.services.media import store_upload
from tests.admin.admin_helpers import (
    bulk_action,
    delete_row,
    row_exists,
    stored_files,
    submit_admin,
    text,
    upload,
)
from tests.factories import image_bytes, make_user

LIST = "/admin/files/"


def only_file() -> File:
    """Return the one file row."""
    db.session.expire_all()
    return db.session.scalars(select(File)).one()


def test_png_upload_stores_file_row_and_thumbnail(app, browser, login_as):
    author = login_as("author")
    response = upload(browser, image_bytes("PNG", size=(640, 480)), "Holiday photo.png")

    assert response.status_code == 302
    record = only_file()
    assert record.original_name == "Holiday photo.png"
    assert record.content_type == "image/png"
    assert (record.width, record.height, record.uploader_id) == (640, 480, author.id)
    assert record.stored_name != "Holiday photo.png"
    assert stored_files(app) == {record.stored_name, record.thumbnail_name}

    listing = text(browser.get(LIST))
    # No published post shows it: the thumbnail comes through a signed address.
    match = re.search(rf'src="(/uploads/{record.thumbnail_name}\?k=[^"]+)"', listing)
    assert match, "the list shows no signed thumbnail"
    assert "Holiday photo.png" in listing
    thumb = browser.get(html.unescape(match[1]))
    thumb.close()
    assert thumb.status_code == 200 and thumb.mimetype == "image/webp"
    plain = browser.get(f"/uploads/{record.thumbnail_name}")
    plain.close()
    assert plain.status_code == 404

    details = text(browser.get(f"/admin/files/details/?id={record.id}"))
    assert f"![Holiday photo.png](/uploads/{record.stored_name})" in details


def test_display_name_can_be_given_at_upload(browser, login_as):
    login_as("editor")
    upload(browser, image_bytes("JPEG"), "IMG_0001.jpg", original_name="Team [2024]")
    record = only_file()
    assert record.original_name == "Team [2024]"
    details = text(browser.get(f"/admin/files/details/?id={record.id}"))
    assert rf"![Team \[2024\]](/uploads/{record.stored_name})" in details


def test_html_renamed_to_jpg_is_refused_and_leaves_nothing(app, browser, login_as):
    login_as("editor")
    page = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
    response = upload(browser, page, "innocent.jpg")

    assert response.status_code == 400
    assert "This type of file is not allowed" in text(response)
    assert db.session.scalars(select(File)).first() is None
    assert stored_files(app) == set()


def test_upload_without_a_file_is_refused(browser, login_as):
    login_as("author")
    form = browser.form("/admin/files/new/", match="/admin/files/new/")
    response = browser.client.post(
        "/admin/files/new/", data=form["fields"], content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert db.session.scalars(select(File)).first() is None


def test_authors_see_only_their_own_files(app, browser, login_as):
    login_as("author")
    other = make_user("other@example.com", roles=("author",))
    theirs = store_upload(db.session, image_bytes(), "theirs.png", other)
    db.session.commit()
    upload(browser, image_bytes(), "mine.png")

    listing = text(browser.get(LIST))
    assert "mine.png" in listing and "theirs.png" not in listing
    for url in (f"/admin/files/details/?id={theirs.id}", f"/admin/files/edit/?id={theirs.id}"):
        assert browser.get(url).status_code == 404, url
    assert delete_row(browser, LIST, theirs.id).status_code == 404
    assert bulk_action(browser, LIST, "delete", [theirs.id]).status_code == 404
    assert row_exists(File, theirs.id)
    assert theirs.stored_name in stored_files(app)


def test_editors_see_everyone_s_files(browser, login_as):
    login_as("editor")
    other = make_user("other@example.com", roles=("author",))
    store_upload(db.session, image_bytes(), "theirs.png", other)
    db.session.commit()
    assert "theirs.png" in text(browser.get(LIST))


def test_edit_changes_only_the_display_name(browser, login_as):
    login_as("author")
    upload(browser, image_bytes(), "before.png")
    record = only_file()
    stored = record.stored_name

    response = submit_admin(
        browser,
        f"/admin/files/edit/?id={record.id}",
        {"original_name": "../after.png", "stored_name": "evil.html", "content_type": "text/html"},
    )

    assert response.status_code == 302
    record = only_file()
    assert record.original_name == "after.png"
    assert (record.stored_name, record.content_type) == (stored, "image/png")


def test_delete_removes_the_file_from_disk(app, browser, login_as):
    login_as("author")
    upload(browser, image_bytes(), "gone.png")
    record = only_file()
    ident = record.id
    assert stored_files(app)

    assert delete_row(browser, LIST, ident).status_code == 302

    assert not row_exists(File, ident)
    assert stored_files(app) == set()


def test_bulk_delete_removes_files_from_disk(app, browser, login_as):
    login_as("editor")
    upload(browser, image_bytes(), "one.png")
    upload(browser, image_bytes("GIF"), "two.gif")
    ids = [record.id for record in db.session.scalars(select(File))]

    assert bulk_action(browser, LIST, "delete", ids).status_code == 302

    assert db.session.scalars(select(File)).first() is None
    assert stored_files(app) == set()


def test_upload_over_the_limit_gets_413_and_leaves_nothing(app, browser, login_as, monkeypatch):
    login_as("author")
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 50_000)
    response = upload(browser, image_bytes("BMP", size=(400, 400)), "big.png")
    assert response.status_code == 413
    assert db.session.scalars(select(File)).first() is None
    assert stored_files(app) == set()
