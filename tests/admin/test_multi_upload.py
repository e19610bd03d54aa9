"""Several files in one upload: each checked and stored on its own, one report for them all.

Also the JSON variant of the upload endpoint (the drop zone, the post editor) and the post
editor's library listing (files.library).
"""

import io
import re

import pytest
from sqlalchemy import select

from cms.extensions import db
from cms.limits import RULES
from cms.models import AuditEvent, File
from cms.services.media import store_upload
from tests.admin.admin_helpers import stored_files, text
from tests.factories import image_bytes, make_post, make_user
from tests.helpers import csrf_token_from, snapshot

NEW = "/admin/files/new/"
LIBRARY = "/admin/files/library/"
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"


def png(color=(200, 30, 30), size=(64, 48)) -> bytes:
    return image_bytes("PNG", size=size, color=color)


def form_token(browser) -> str:
    return csrf_token_from(text(browser.get(NEW)))


def post_files(browser, files, token=None, headers=None, **fields):
    """Post several (bytes, name) files in one request to the upload endpoint."""
    data = dict(fields)
    if token is not False:
        data["csrf_token"] = token or form_token(browser)
    data["upload"] = [(io.BytesIO(content), name) for content, name in files]
    return browser.client.post(
        NEW, data=data, content_type="multipart/form-data", headers=headers or {}
    )


def all_files() -> list[File]:
    db.session.expire_all()
    return list(db.session.scalars(select(File).order_by(File.id)))


def flashed(browser, url="/admin/files/") -> str:
    """Return the dashboard messages shown on the next page."""
    page = text(browser.get(url))
    match = re.search(r'<div class="cms-messages".*?</div>\s*</div>', page, re.S)
    return re.sub(r"\s+", " ", match.group(0)) if match else ""


def test_the_form_offers_several_files_and_the_drop_zone(browser, login_as):
    login_as("author")
    page = text(browser.get(NEW))
    field = re.search(r'<input[^>]*type="file"[^>]*>', page).group(0)
    assert 'name="upload"' in field and "multiple" in field
    assert 'id="cms-dropzone"' in page and "hidden" in page
    assert "admin/upload.js" in page


def test_several_files_in_one_post_are_all_stored(app, browser, login_as):
    author = login_as("author")
    files = [(png((10, 20, 30)), "one.png"), (image_bytes("JPEG"), "two.jpg"),
             (image_bytes("GIF"), "three.gif")]  # fmt: skip
    response = post_files(browser, files)

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/files/")
    records = all_files()
    assert [r.original_name for r in records] == ["one.png", "two.jpg", "three.gif"]
    assert {r.uploader_id for r in records} == {author.id}
    assert "3 files uploaded." in flashed(browser)
    # One audit entry per stored file.
    uploads = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "upload")).all()
    assert len(uploads) == 3


def test_mixed_good_and_bad_files_store_the_good_ones(app, browser, login_as):
    login_as("editor")
    files = [(png((1, 1, 1)), "good-1.png"), (HTML, "innocent.jpg"),
             (png((2, 2, 2)), "good-2.png"), (b"", "empty.png")]  # fmt: skip
    response = post_files(browser, files)

    assert response.status_code == 302
    assert [r.original_name for r in all_files()] == ["good-1.png", "good-2.png"]
    message = flashed(browser)
    assert "2 uploaded, 2 refused: innocent.jpg — This type of file is not allowed" in message
    assert "empty.png — The file is empty." in message
    # Nothing of the refused files is stored.
    names = {r.stored_name for r in all_files()} | {r.thumbnail_name for r in all_files()}
    assert stored_files(app) == names


def test_only_bad_files_answer_400_with_a_reason_for_each(app, browser, login_as):
    login_as("author")
    response = post_files(browser, [(HTML, "page.jpg"), (b"MZ" + b"\0" * 200, "tool.pdf")])

    assert response.status_code == 400
    page = text(response)
    assert "page.jpg — This type of file is not allowed" in page
    assert "tool.pdf — This type of file is not allowed" in page
    assert "0 uploaded, 2 refused" in page
    assert all_files() == [] and stored_files(app) == set()


def test_display_name_is_for_a_single_file_only(browser, login_as):
    login_as("author")
    post_files(browser, [(png(), "IMG_0001.png")], original_name="Team photo")
    assert [r.original_name for r in all_files()] == ["Team photo"]
    post_files(browser, [(png((5, 5, 5)), "a.png"), (png((6, 6, 6)), "b.png")], original_name="X")
    assert [r.original_name for r in all_files()] == ["Team photo", "a.png", "b.png"]


@pytest.mark.parametrize("token", [False, "not-a-token"], ids=["no-token", "wrong-token"])
def test_csrf_is_required(app, browser, login_as, token):
    login_as("editor")
    before = snapshot()
    response = post_files(browser, [(png(), "a.png"), (png((9, 9, 9)), "b.png")], token=token)
    assert response.status_code == 400
    assert snapshot() == before and stored_files(app) == set()
    # The JSON variant too: without the header (or a token field) nothing is stored.
    response = post_files(
        browser, [(png(), "a.png")], token=False, headers={"Accept": "application/json"}
    )
    assert response.status_code == 400
    assert snapshot() == before and stored_files(app) == set()


def test_the_endpoint_is_still_the_throttled_one(app):
    adapter = app.url_map.bind("localhost")
    assert adapter.match(NEW, method="POST")[0] == "files.create_view"
    assert "files.create_view" in RULES


# --- JSON ------------------------------------------------------------------------------------


def post_json(browser, files):
    token = form_token(browser)
    return post_files(
        browser, files, token=False, headers={"X-CSRFToken": token, "Accept": "application/json"}
    )


def test_json_variant_reports_each_file(app, browser, login_as):
    login_as("author")
    response = post_json(browser, [(png(size=(640, 480)), "harbour.png"), (HTML, "bad.jpg")])

    assert response.status_code == 200 and response.is_json
    report = response.get_json()
    (stored,) = all_files()
    assert (
        report["refused"] == [{"name": "bad.jpg", "reason": report["refused"][0]["reason"]}]
        and "not allowed" in report["refused"][0]["reason"]
    )
    assert report["message"].startswith("1 uploaded, 1 refused: bad.jpg — ")
    (item,) = report["uploaded"]
    assert item["id"] == stored.id and item["name"] == "harbour.png"
    assert item["url"] == f"/uploads/{stored.stored_name}"
    assert item["thumbnail"].startswith(f"/uploads/{stored.thumbnail_name}?k=")
    assert (item["width"], item["height"], item["is_image"]) == (640, 480, True)
    assert item["markdown"] == f"![](/uploads/{stored.stored_name})"


def test_json_variant_answers_400_when_nothing_was_stored(app, browser, login_as):
    login_as("author")
    response = post_json(browser, [(HTML, "bad.jpg")])
    assert response.status_code == 400
    assert response.get_json()["uploaded"] == []
    response = post_json(browser, [])
    assert response.status_code == 400
    assert response.get_json()["refused"]


# --- The post editor's library ---------------------------------------------------------------


def test_library_lists_what_this_person_may_see(app, browser, login_as):
    author = login_as("author")
    other = make_user("other@example.com", roles=("author",))
    mine = store_upload(db.session, png((1, 2, 3)), "mine [draft].png", author)
    mine.alt_text = "A boat\nat dawn"
    theirs = store_upload(db.session, png((4, 5, 6)), "theirs.png", other)
    public = store_upload(db.session, png((7, 8, 9)), "public.png", other)
    store_upload(db.session, b"%PDF-1.4\n%%EOF\n" + b" " * 64, "paper.pdf", author)
    db.session.commit()
    make_post(other, body=f"![x](/uploads/{public.stored_name})")
    before = snapshot()

    listing = browser.get(LIBRARY + "?type=image").get_json()
    names = [item["name"] for item in listing["files"]]
    assert sorted(names) == ["mine [draft].png", "public.png"]
    assert theirs.original_name not in names
    item = next(i for i in listing["files"] if i["id"] == mine.id)
    assert item["markdown"] == rf"![A boat at dawn](/uploads/{mine.stored_name})"
    assert item["thumbnail"].startswith("/uploads/") and listing["more"] is False
    # Without the type, documents are listed too (as links).
    every = browser.get(LIBRARY).get_json()["files"]
    assert "paper.pdf" in [i["name"] for i in every]
    # GET changes nothing.
    assert snapshot() == before


def test_library_search_is_by_name_and_literal(app, browser, login_as):
    editor = login_as("editor")
    for name in ("Harbour.png", "harbour at night.png", "100% pure.png", "field.png"):
        store_upload(db.session, png(tuple(ord(c) % 250 for c in name[:3])), name, editor)
    db.session.commit()

    def search(term):
        response = browser.get(LIBRARY, query_string={"q": term})
        assert response.status_code == 200
        return sorted(item["name"] for item in response.get_json()["files"])

    assert search("harbour") == ["Harbour.png", "harbour at night.png"]
    assert search("100%") == ["100% pure.png"]
    assert search("%") == ["100% pure.png"]
    assert search("_") == []
    assert search("x" * 5000) == []


def test_library_is_capped(app, browser, login_as, monkeypatch):
    from cms.admin import files as files_admin

    monkeypatch.setattr(files_admin, "LIBRARY_LIMIT", 2)
    editor = login_as("editor")
    for number in range(3):
        store_upload(db.session, png((number, 0, 0)), f"{number}.png", editor)
    db.session.commit()
    listing = browser.get(LIBRARY).get_json()
    assert [item["name"] for item in listing["files"]] == ["2.png", "1.png"]
    assert listing["more"] is True
