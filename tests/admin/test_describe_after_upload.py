"""Alt text right after an upload: the form and the drop zone lead to one page that asks for
each new image's description; it saves all of them or none, and only the person's own images."""

import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from cms.extensions import db
from cms.models import AuditEvent, File
from cms.services.media import store_upload
from tests.admin.admin_helpers import text
from tests.factories import image_bytes, make_user
from tests.helpers import csrf_token_from

NEW = "/admin/files/new/"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def post_files(browser, files, headers=None, **fields):
    """Post (bytes, name) files in one request through the upload form, with its token."""
    data = dict(fields, csrf_token=csrf_token_from(text(browser.get(NEW))))
    data["upload"] = [(io.BytesIO(content), name) for content, name in files]
    return browser.client.post(
        NEW, data=data, content_type="multipart/form-data", headers=headers or {}
    )


def by_name() -> dict[str, File]:
    """Return every file row, read fresh, by display name."""
    db.session.expire_all()
    return {record.original_name: record for record in db.session.scalars(select(File))}


def png(shade: int) -> bytes:
    """Return a small PNG of its own colour."""
    return image_bytes(color=(shade, 40, 90))


@pytest.fixture
def uploaded(browser, login_as):
    """Two images and a PDF uploaded through the form; returns the address it led to."""
    login_as("editor")
    response = post_files(browser, [(png(1), "quay.png"), (PDF, "paper.pdf"), (png(2), "pier.png")])
    assert response.status_code == 302
    return response.headers["Location"]


def test_the_upload_form_leads_to_the_alt_text_of_the_new_images(browser, uploaded):
    files = by_name()
    parts = urlsplit(uploaded)
    assert parts.path == "/admin/files/describe/"
    query = parse_qs(parts.query)
    assert query["ids"] == [f"{files['quay.png'].id},{files['pier.png'].id}"]
    assert query["url"] == ["/admin/files/"]
    page = text(browser.get(uploaded))
    assert "Describe the new images" in page
    for name in ("quay.png", "pier.png"):
        ident = files[name].id
        assert f'<label class="font-weight-bold d-block" for="alt-{ident}">' in page
        assert f"Alt text for “{name}”" in page
        assert f'id="decorative-{ident}"' in page
    assert "paper.pdf" not in page
    assert "Skip for now" in page


def test_describing_saves_every_image_and_goes_on(browser, uploaded):
    files = by_name()
    quay, pier = files["quay.png"].id, files["pier.png"].id
    token = csrf_token_from(text(browser.get(uploaded)))
    response = browser.client.post(
        uploaded,
        data={
            "csrf_token": token,
            f"alt-{quay}": "  A quay\nin the rain ",
            f"decorative-{pier}": "y",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/files/"
    files = by_name()
    assert (files["quay.png"].alt_text, files["quay.png"].decorative) == (
        "A quay in the rain",
        False,
    )
    assert (files["pier.png"].alt_text, files["pier.png"].decorative) == ("", True)
    assert "2 images described." in text(browser.get("/admin/files/"))
    updates = db.session.scalars(
        select(AuditEvent.object_id).where(AuditEvent.action == "update")
    ).all()
    assert sorted(int(ident) for ident in updates) == sorted((quay, pier))


@pytest.mark.parametrize(
    ("alt", "message"),
    [("", "Describe the image, or mark it as decorative."), ("x" * 1001, "Keep the alt text")],
)
def test_a_missing_or_too_long_answer_saves_nothing_and_keeps_what_was_typed(
    browser, uploaded, alt, message
):
    files = by_name()
    quay, pier = files["quay.png"].id, files["pier.png"].id
    token = csrf_token_from(text(browser.get(uploaded)))
    response = browser.client.post(
        uploaded, data={"csrf_token": token, f"alt-{quay}": "A quay", f"alt-{pier}": alt}
    )
    assert response.status_code == 400
    page = text(response)
    assert message in page
    assert "Nothing was saved: please correct the images marked below." in page
    assert re.search(rf'<textarea[^>]*name="alt-{quay}"[^>]*>A quay</textarea>', page)
    assert f'aria-describedby="alt-{pier}-error"' in page
    files = by_name()
    assert files["quay.png"].alt_text == "" and files["pier.png"].alt_text == ""


def test_without_a_csrf_token_nothing_is_saved(browser, uploaded):
    quay = by_name()["quay.png"].id
    response = browser.client.post(uploaded, data={f"alt-{quay}": "A quay"})
    assert response.status_code == 400
    assert by_name()["quay.png"].alt_text == ""


def test_only_the_persons_own_images_are_asked_about(app, browser, login_as):
    other = make_user("other-uploader@example.com", roles=("editor",))
    theirs = store_upload(db.session, png(3), "theirs.png", other)
    db.session.commit()
    theirs_id = theirs.id
    author = login_as("author")
    mine = store_upload(db.session, png(4), "mine.png", author)
    db.session.commit()
    page = text(browser.get(f"/admin/files/describe/?ids={theirs_id},{mine.id}"))
    assert "mine.png" in page and "theirs.png" not in page
    # Only others' images: nothing to ask, back to the list; their rows stay as they were.
    response = browser.get(f"/admin/files/describe/?ids={theirs_id}")
    assert response.status_code == 302
    token = csrf_token_from(text(browser.get("/admin/files/")))
    browser.client.post(
        f"/admin/files/describe/?ids={theirs_id}",
        data={"csrf_token": token, f"alt-{theirs_id}": "Hijacked"},
    )
    assert by_name()["theirs.png"].alt_text == ""


@pytest.mark.parametrize(
    "ids", ["", "abc", "-1", "1,,x", "0", ",".join(str(n) for n in range(1, 52))]
)
def test_hostile_ids_are_refused(browser, login_as, ids):
    login_as("editor")
    assert browser.get(f"/admin/files/describe/?ids={ids}").status_code == 404


def test_the_drop_zone_is_told_where_to_describe_the_new_images(browser, login_as):
    login_as("editor")
    response = post_files(
        browser,
        [(png(5), "dune.png"), (PDF, "notes.pdf")],
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    report = response.get_json()
    dune = by_name()["dune.png"].id
    assert report["describe"] == f"/admin/files/describe/?ids={dune}&url=/admin/files/"
    page = text(browser.get(NEW))
    assert 'id="cms-upload-describe"' in page and 'href="/admin/files/describe/"' in page


def test_upload_another_describes_first_then_offers_the_form_again(browser, login_as):
    login_as("editor")
    response = post_files(browser, [(png(6), "cliff.png")], _add_another="1")
    location = urlsplit(response.headers["Location"])
    assert location.path == "/admin/files/describe/"
    assert parse_qs(location.query)["url"][0].startswith("/admin/files/new/")
