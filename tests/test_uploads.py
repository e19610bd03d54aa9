"""Uploads: decided by content, stored under generated names, served safely, never half-written.

SECURITY 4, 5, 6, 25. The storage and media services are tested directly, and the upload form
of the Files view through HTTP.
"""

import hashlib
import io
import os
import re
import struct
import zlib

import pytest
from PIL import Image
from sqlalchemy import func, select

from cms.extensions import db
from cms.models import File, Tag
from cms.services import storage as storage_module
from cms.services.media import UploadRejected, delete_file, store_upload
from cms.services.storage import InvalidName, LocalStorage, get_storage
from tests.factories import PASSWORD, image_bytes, make_user
from tests.helpers import csrf_token_from, files_in
from tests.media import show_publicly

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
# A GIF header followed by HTML: a classic polyglot.
GIF_HTML = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;<script>alert(1)</script>"


def png_header(width: int, height: int) -> bytes:
    """Return a PNG that claims a size but carries almost no pixel data (a pixel bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def uploader(ctx):
    """An editor who uploads."""
    return make_user("uploader@example.com", roles=("editor",))


def file_rows() -> int:
    """Return how many File rows exist."""
    return db.session.scalar(select(func.count(File.id)))


# --- Storing ------------------------------------------------------------------------------


def test_store_image_generates_names_and_thumbnail(app, uploader, folder):
    """An image is stored under a generated name with a WebP thumbnail; the name is display only."""
    data = image_bytes("PNG", size=(640, 480))
    record = store_upload(db.session, data, "../../etc/Holiday photo.PNG", uploader)
    db.session.commit()
    # Named after the content: the same bytes are stored once (tests/test_media_rules.py).
    assert record.stored_name == f"{hashlib.sha256(data).hexdigest()}.png"
    assert record.original_name == "Holiday photo.PNG"
    assert (record.content_type, record.width, record.height) == ("image/png", 640, 480)
    assert (folder / record.stored_name).read_bytes() == data
    with Image.open(folder / record.thumbnail_name) as thumb:
        assert thumb.format == "WEBP" and max(thumb.size) == app.config["THUMBNAIL_SIZE"]
    assert files_in(folder) == {record.stored_name, record.thumbnail_name}


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (HTML, "photo.jpg"),
        (HTML, "page.html"),
        (SVG, "logo.svg"),
        (SVG, "logo.png"),
        (ELF, "tool.pdf"),
        (ELF, "tool"),
        (EXE, "setup.exe"),
        (EXE, "invoice.pdf"),
        (GIF_HTML, "anim.gif"),
        (image_bytes("PNG"), "image.pdf"),
        (image_bytes("PNG"), "image.html"),
        (PDF, "paper.png"),
        (PDF, "paper.html"),
        (b"", "empty.png"),
        (image_bytes("PNG")[:60], "cut.png"),
    ],
    ids=[
        "html-as-jpg",
        "html",
        "svg",
        "svg-as-png",
        "elf-as-pdf",
        "elf",
        "exe",
        "exe-as-pdf",
        "gif-html-polyglot",
        "png-as-pdf",
        "png-as-html",
        "pdf-as-png",
        "pdf-as-html",
        "empty",
        "truncated-png",
    ],
)
def test_refused_by_content(app, uploader, folder, data, name):
    """Files are judged by their bytes and must match their name; the rest is refused."""
    with pytest.raises(UploadRejected):
        store_upload(db.session, data, name, uploader)
    db.session.rollback()
    assert files_in(folder) == set()
    assert file_rows() == 0


@pytest.mark.parametrize(
    ("fmt", "name"), [("JPEG", "a.jpeg"), ("GIF", "a.gif"), ("WEBP", "a.webp"), ("PNG", "a.png")]
)
def test_accepted_images(app, uploader, fmt, name):
    """The allowed image types are stored with the type their content says."""
    record = store_upload(db.session, image_bytes(fmt), name, uploader)
    assert record.content_type == f"image/{fmt.lower()}"


def test_pixel_bomb_refused_before_decoding(app, uploader, folder, monkeypatch):
    """An image claiming too many pixels is refused from its header alone (SECURITY 6)."""
    decoded = []
    real_load = Image.Image.load
    monkeypatch.setattr(
        "PIL.ImageFile.ImageFile.load", lambda self: decoded.append(1) or real_load(self)
    )
    limit = app.config["MAX_IMAGE_PIXELS"]
    bomb = png_header(10_000, limit // 10_000 + 1)
    with pytest.raises(UploadRejected, match="too large"):
        store_upload(db.session, bomb, "bomb.png", uploader)
    # Far past Pillow's own bomb limit: refused as well, still without decoding.
    with pytest.raises(UploadRejected):
        store_upload(db.session, png_header(60_000, 60_000), "huge.png", uploader)
    assert decoded == []
    db.session.rollback()
    assert files_in(folder) == set() and file_rows() == 0


def test_pixel_limit_is_the_setting(app, uploader, monkeypatch):
    """MAX_IMAGE_PIXELS decides: a small image over a lowered limit is refused."""
    monkeypatch.setitem(app.config, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(UploadRejected, match="too large"):
        store_upload(db.session, image_bytes("PNG", size=(40, 30)), "small.png", uploader)


# --- Transactions: neither file nor row left behind (SECURITY 25) ------------------------


def test_rollback_removes_new_files(app, uploader, folder):
    """Files stored in a transaction that rolls back are removed."""
    store_upload(db.session, image_bytes(), "a.png", uploader)
    store_upload(db.session, PDF, "b.pdf", uploader)
    assert len(files_in(folder)) == 3
    db.session.rollback()
    assert files_in(folder) == set()
    assert file_rows() == 0


def test_failed_commit_removes_the_stored_file(app, uploader, folder):
    """A commit that fails after the bytes were written leaves neither file nor row."""
    db.session.add(Tag(name="Taken", slug="taken"))
    db.session.commit()
    store_upload(db.session, image_bytes(), "a.png", uploader)
    assert files_in(folder)
    db.session.add(Tag(name="Other", slug="taken"))  # the commit will hit the unique slug
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        db.session.commit()
    db.session.rollback()
    assert files_in(folder) == set()
    assert file_rows() == 0


def test_failure_while_storing_leaves_nothing(app, uploader, folder, monkeypatch):
    """If the thumbnail cannot be written, the original written just before goes too."""
    real_save = LocalStorage.save

    def failing_save(self, name, data):
        if name.endswith("-thumb.webp"):
            raise OSError("disk full")
        return real_save(self, name, data)

    monkeypatch.setattr(LocalStorage, "save", failing_save)
    with pytest.raises(OSError):
        store_upload(db.session, image_bytes(), "a.png", uploader)
    db.session.rollback()
    assert files_in(folder) == set()
    assert file_rows() == 0


def test_write_failure_leaves_no_partial_file(app, ctx, folder, monkeypatch):
    """A write that dies half-way leaves no .part file and no target file."""

    def broken_fsync(fd):
        raise OSError("I/O error")

    monkeypatch.setattr(storage_module.os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        get_storage().save("0123abcd.png", b"x" * 10_000)
    assert files_in(folder) == set()


def test_successful_writes_leave_no_temporary_files(app, uploader, folder):
    """Atomic writes rename their temporary file: nothing ending in .part remains."""
    for number in range(3):
        store_upload(db.session, image_bytes(color=(number, 0, 0)), f"{number}.png", uploader)
    db.session.commit()
    names = files_in(folder)
    assert len(names) == 6
    assert not [name for name in names if name.endswith(".part") or name.startswith(".")]


def test_session_closed_without_commit_removes_new_files(app, uploader, folder):
    """A request that ends without committing (the session is removed) leaves no file."""
    store_upload(db.session, image_bytes(), "a.png", uploader)
    assert files_in(folder)
    db.session.remove()
    assert files_in(folder) == set()
    assert file_rows() == 0


def test_committed_files_stay(app, uploader, folder):
    """After a commit, later rollbacks and closes leave the stored files alone."""
    record = store_upload(db.session, image_bytes(), "a.png", uploader)
    db.session.commit()
    names = {record.stored_name, record.thumbnail_name}
    db.session.rollback()
    db.session.remove()
    assert files_in(folder) == names


def test_deleted_file_goes_only_after_commit(app, uploader, folder):
    """Deleting a File keeps its bytes until the commit; a rollback keeps them for good."""
    record = store_upload(db.session, image_bytes(), "a.png", uploader)
    db.session.commit()
    names = {record.stored_name, record.thumbnail_name}

    delete_file(db.session, record)
    db.session.flush()
    assert files_in(folder) == names
    db.session.rollback()
    assert files_in(folder) == names and file_rows() == 1

    record = db.session.get(File, record.id)
    delete_file(db.session, record)
    db.session.commit()
    assert files_in(folder) == set() and file_rows() == 0


# --- Serving ------------------------------------------------------------------------------


def fetch(client, url):
    """GET a URL and read the whole body (closing the file it was streamed from)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def test_images_are_served_inline_with_nosniff(app, client, uploader):
    """Images of a published post (and their thumbnails) come inline, typed, with nosniff."""
    data = image_bytes("PNG")
    record = store_upload(db.session, data, "photo.png", uploader)
    db.session.commit()
    show_publicly(record)
    response = fetch(client, f"/uploads/{record.stored_name}")
    assert response.status_code == 200 and response.data == data
    assert response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("inline")
    thumb = fetch(client, f"/uploads/{record.thumbnail_name}")
    assert thumb.status_code == 200 and thumb.mimetype == "image/webp"


def test_documents_are_downloads_in_a_sandbox(app, client, uploader):
    """A PDF is an attachment with a sandboxing CSP and nosniff."""
    record = store_upload(db.session, PDF, "Report <2024>.pdf", uploader)
    db.session.commit()
    show_publicly(record)
    response = fetch(client, f"/uploads/{record.stored_name}")
    assert response.status_code == 200 and response.data == PDF
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_files_without_a_row_are_not_served(app, client, uploader, folder):
    """Bytes in the folder that no File row names (or deleted ones) are 404."""
    (folder / "0123456789abcdef.png").write_bytes(image_bytes())
    assert fetch(client, "/uploads/0123456789abcdef.png").status_code == 404
    record = store_upload(db.session, image_bytes(), "a.png", uploader)
    db.session.commit()
    name = record.stored_name
    delete_file(db.session, record)
    db.session.commit()
    assert fetch(client, f"/uploads/{name}").status_code == 404


ESCAPES = [
    "..", "%2e%2e", "%2E%2E%2F", "..%2f..%2fsettings.py", "%2e%2e%2f%2e%2e%2fsettings.py",
    "..%5c..%5csettings.py", "%5c..%5csettings.py", "..\\settings.py", "/etc/passwd",
    "%2fetc%2fpasswd", "%252e%252e%252fsettings.py", "C:%5cWindows%5cwin.ini",
    "secret.txt%00.png", "%00", ".%2e/uploads-evil/secret.txt", "..%2fuploads-evil%2fsecret.txt",
    "....//settings.py", "%c0%ae%c0%ae%2fsettings.py", "~/.bashrc", "settings.py",
]  # fmt: skip


@pytest.mark.parametrize("path", ESCAPES)
def test_no_path_leaves_the_uploads_folder(app, client, uploader, folder, path):
    """Traversal in every spelling gets a 404 (or 400), never a file from elsewhere."""
    # A sibling folder whose name starts like the uploads folder, with a secret in it.
    sibling = folder.parent / (folder.name + "-evil")
    sibling.mkdir(exist_ok=True)
    (sibling / "secret.txt").write_text("TOP SECRET")
    (folder.parent / "secret.txt").write_text("TOP SECRET")
    record = store_upload(db.session, image_bytes(), "a.png", uploader)
    db.session.commit()
    for url in (f"/uploads/{path}", f"/uploads/{record.stored_name}/{path}"):
        response = fetch(client, url)
        assert response.status_code in (400, 404), (url, response.status_code)
        assert b"TOP SECRET" not in response.data and b"SECRET_KEY" not in response.data


@pytest.mark.parametrize(
    "name",
    [
        "..",
        "../x.png",
        "a/b.png",
        "a\\b.png",
        "/etc/passwd",
        "x.png\x00",
        "",
        ".hidden",
        "A.PNG",
        "x" * 200 + ".png",
        "..png/..",
        "%2e%2e",
        ".tmp-abc.part",
    ],
)
def test_storage_refuses_names_it_did_not_generate(app, ctx, name):
    """The storage layer itself refuses any name outside its own pattern."""
    with pytest.raises(InvalidName):
        get_storage().path(name)


# --- Through HTTP -------------------------------------------------------------------------


def test_request_over_the_size_limit_is_413(app, client, monkeypatch):
    """A body over MAX_CONTENT_LENGTH gets 413 and the error page, whatever the endpoint."""
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 10_000)
    for url in ("/language", "/account/login", "/admin/files/new/"):
        response = client.post(
            url,
            data={"upload": (io.BytesIO(b"x" * 20_000), "big.png"), "csrf_token": "x"},
            content_type="multipart/form-data",
        )
        assert response.status_code == 413, url
        assert "File too large" in response.get_data(as_text=True)


def upload_form(client) -> tuple[str, dict]:
    """Return the file field's name and the other fields of the Files upload form."""
    page = client.get("/admin/files/new/").get_data(as_text=True)
    match = re.search(r'<input[^>]*type="file"[^>]*>', page)
    assert match, "the Files view has no upload form"
    name = re.search(r'name="([^"]+)"', match.group(0)).group(1)
    return name, {"csrf_token": csrf_token_from(page)}


def test_upload_form_stores_checked_files_only(app, browser, client, uploader, folder):
    """Through the real form: an image is stored; HTML named .jpg is refused and leaves nothing."""
    browser.login("uploader@example.com", PASSWORD)
    field, fields = upload_form(client)
    response = client.post(
        "/admin/files/new/",
        data={**fields, field: (io.BytesIO(HTML), "innocent.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code in (200, 400)
    assert "This type of file is not allowed" in response.get_data(as_text=True)
    assert files_in(folder) == set() and file_rows() == 0

    data = image_bytes("JPEG")
    client.post(
        "/admin/files/new/",
        data={**fields, field: (io.BytesIO(data), "holiday.jpg")},
        content_type="multipart/form-data",
    )
    record = db.session.scalars(select(File)).one()
    assert record.original_name == "holiday.jpg" and record.content_type == "image/jpeg"
    # Re-encoded from its pixels (tests/test_reencode.py): the same picture, not the same bytes.
    with Image.open(folder / record.stored_name) as stored:
        assert stored.format == "JPEG" and stored.size == (64, 48)
    assert not [name for name in files_in(folder) if name.endswith(".part")]


def test_upload_form_over_the_limit_is_413(app, browser, client, uploader, folder, monkeypatch):
    """An upload over MAX_CONTENT_LENGTH through the form is 413 and stores nothing."""
    browser.login("uploader@example.com", PASSWORD)
    field, fields = upload_form(client)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 50_000)
    big = image_bytes("PNG", size=(600, 600), color=(1, 2, 3)) + os.urandom(60_000)
    response = client.post(
        "/admin/files/new/",
        data={**fields, field: (io.BytesIO(big), "big.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert files_in(folder) == set() and file_rows() == 0
