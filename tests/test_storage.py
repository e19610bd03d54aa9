"""The storage service on both backends: a local folder, and S3 (moto's server over real HTTP).

The same interface, the same guarantees: no half files, names we did not generate refused,
writes and deletes tied to the database transaction, and the same headers when served.
"""

import os
import re
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.exceptions import EndpointConnectionError
from sqlalchemy import func, select

from cms.extensions import db
from cms.models import File
from cms.services import storage as storage_module
from cms.services.media import delete_file, store_upload
from cms.services.storage import (
    InvalidName,
    LocalStorage,
    S3Storage,
    delete_in_transaction,
    get_storage,
    make_storage,
    save_in_transaction,
)
from tests.factories import image_bytes, make_user
from tests.helpers import files_in
from tests.media import show_publicly

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
HOSTILE = [
    "..",
    "%2e%2e",
    "../x.png",
    "..%2fx.png",
    "a/b.png",
    "/etc/passwd",
    "/abs.png",
    "a\\b.png",
    "..\\x.png",
    "x.png\x00",
    "\x00",
    "<script>alert(1)</script>",
    "x<script>.png",
    "",
    ".hidden",
    ".tmp-abc.part",
    "A.PNG",
    "x" * 200 + ".png",
    "C:\\Windows\\win.ini",
    "~/.bashrc",
]


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    """A bare storage backend (no app): a fresh folder, or a fresh bucket under a prefix."""
    if request.param == "local":
        return LocalStorage(tmp_path / "store")
    server = request.getfixturevalue("s3_server")
    bucket = request.getfixturevalue("s3_bucket")
    return S3Storage(bucket, prefix="media", endpoint_url=server.url, region=server.region)


def test_save_read_exists_size_delete_names(storage):
    """The whole interface, the same on both backends."""
    assert list(storage.names()) == []
    assert not storage.exists("0a1b.png")
    storage.save("0a1b.png", b"png bytes")
    storage.save("0a1b-thumb.webp", b"thumb")
    assert storage.exists("0a1b.png") and storage.exists("0a1b-thumb.webp")
    assert storage.read("0a1b.png") == b"png bytes"
    assert storage.size("0a1b.png") == len(b"png bytes")
    modified = storage.modified("0a1b.png")
    assert abs(datetime.now(UTC) - modified) < timedelta(minutes=5)
    assert sorted(storage.names()) == ["0a1b-thumb.webp", "0a1b.png"]

    storage.save("0a1b.png", b"replaced")
    assert storage.read("0a1b.png") == b"replaced"

    storage.delete("0a1b.png")
    storage.delete("0a1b.png")  # deleting what is not there is no error
    assert not storage.exists("0a1b.png")
    assert list(storage.names()) == ["0a1b-thumb.webp"]
    with pytest.raises(FileNotFoundError):
        storage.read("0a1b.png")
    with pytest.raises(FileNotFoundError):
        storage.size("0a1b.png")
    assert storage.stale_temp_files(0) == []


def test_names_skip_what_the_cms_did_not_store(storage, tmp_path, request):
    """Temporary files, foreign files and keys outside the prefix are not ours to list."""
    storage.save("feed.png", b"x")
    if isinstance(storage, LocalStorage):
        (storage.root / ".tmp-abc123.part").write_bytes(b"half")
        (storage.root / "README.TXT").write_text("not ours")
        (storage.root / "sub").mkdir()
        (storage.root / "sub" / "nested.png").write_bytes(b"x")
    else:
        client = request.getfixturevalue("s3_server").client()
        for key in ("other.png", "media/sub/nested.png", "media/UPPER.PNG", "mediaX.png"):
            client.put_object(Bucket=storage.bucket, Key=key, Body=b"x")
    assert list(storage.names()) == ["feed.png"]


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_names_are_refused(storage, name, tmp_path, request):
    """Traversal, separators, NUL, markup: refused before any file or object is touched."""
    for call in (
        lambda: storage.save(name, b"evil"),
        lambda: storage.read(name),
        lambda: storage.size(name),
        lambda: storage.delete(name),
        lambda: storage.modified(name),
        lambda: storage.open_response(name, mimetype="text/html", as_attachment=True,
                                      download_name="x"),
    ):  # fmt: skip
        with pytest.raises(InvalidName):
            call()
    assert storage.exists(name) is False
    assert list(storage.names()) == []
    if isinstance(storage, LocalStorage):
        assert files_in(storage.root) == set()
        assert {path.name for path in tmp_path.iterdir()} == {"store"}
    else:
        assert request.getfixturevalue("s3_server").keys(storage.bucket) == set()


# --- Atomic writes ----------------------------------------------------------------------


def test_local_write_is_invisible_until_renamed(tmp_path, monkeypatch):
    """While the bytes are being written and synced, readers see neither the name nor a part."""
    storage = LocalStorage(tmp_path / "store")
    storage.save("c0de.png", b"old")
    seen = []
    real_fsync = os.fsync

    def watching_fsync(fd):
        if stat.S_ISREG(os.fstat(fd).st_mode):  # the file's sync, not the folder's
            seen.append(
                (storage.read("c0de.png"), sorted(storage.names()), storage.exists("beef.png"))
            )
        return real_fsync(fd)

    monkeypatch.setattr(storage_module.os, "fsync", watching_fsync)
    storage.save("c0de.png", b"new" * 1000)
    storage.save("beef.png", b"other")
    # While writing: the old bytes, and no temporary file among the names.
    assert seen == [(b"old", ["c0de.png"], False), (b"new" * 1000, ["c0de.png"], False)]
    assert storage.read("c0de.png") == b"new" * 1000
    assert files_in(storage.root) == {"c0de.png", "beef.png"}


def test_local_write_failing_half_way_leaves_nothing(tmp_path, monkeypatch):
    """A write that dies after half the bytes leaves no part file and the old file intact."""
    storage = LocalStorage(tmp_path / "store")
    storage.save("c0de.png", b"old bytes")
    real_fdopen = os.fdopen

    class HalfWriter:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            self.handle.write(data[: len(data) // 2])
            self.handle.flush()
            raise OSError("No space left on device")

    monkeypatch.setattr(
        storage_module.os, "fdopen", lambda fd, mode: HalfWriter(real_fdopen(fd, mode))
    )
    for name in ("c0de.png", "fresh.png"):
        with pytest.raises(OSError, match="No space"):
            storage.save(name, b"n" * 100_000)
    assert files_in(storage.root) == {"c0de.png"}
    assert storage.read("c0de.png") == b"old bytes"
    assert not storage.exists("fresh.png")


def test_s3_put_failing_leaves_nothing(s3_server, s3_bucket):
    """A put that never reaches the server stores nothing and keeps the old object."""
    storage = S3Storage(s3_bucket, endpoint_url=s3_server.url, region=s3_server.region)
    storage.save("c0de.png", b"old bytes")

    def cut(**kwargs):
        raise EndpointConnectionError(endpoint_url="cut")

    storage.client.meta.events.register_first("before-send.s3.PutObject", cut)
    for name in ("c0de.png", "fresh.png"):
        with pytest.raises(EndpointConnectionError):
            storage.save(name, b"n" * 100_000)
    storage.client.meta.events.unregister("before-send.s3.PutObject", cut)
    assert list(storage.names()) == ["c0de.png"]
    assert storage.read("c0de.png") == b"old bytes"


def test_local_stale_temp_files(tmp_path):
    """Parts left by a killed writer are found once old enough; fresh ones may be in use."""
    storage = LocalStorage(tmp_path / "store")
    old = storage.root / ".tmp-old123.part"
    fresh = storage.root / ".tmp-new456.part"
    old.write_bytes(b"half")
    fresh.write_bytes(b"half")
    hours_ago = (datetime.now() - timedelta(hours=2)).timestamp()
    os.utime(old, (hours_ago, hours_ago))
    assert storage.stale_temp_files(timedelta(hours=1)) == [old]
    assert set(storage.stale_temp_files(0)) == {old, fresh}
    assert list(storage.names()) == []
    with pytest.raises(InvalidName):
        storage.read(old.name)


# --- Tied to the transaction ------------------------------------------------------------


def stored(app) -> set[str]:
    """Return the names stored by an app's backend."""
    with app.app_context():
        return set(get_storage().names())


def test_rollback_removes_what_was_saved(backend_app):
    with backend_app.app_context():
        save_in_transaction(db.session, "0a0a.png", b"x")
        save_in_transaction(db.session, "0a0a-thumb.webp", b"y")
        assert get_storage().exists("0a0a.png")
        db.session.rollback()
        assert list(get_storage().names()) == []

        save_in_transaction(db.session, "0b0b.png", b"x")
        db.session.remove()  # a request that ends without committing
    assert stored(backend_app) == set()


def test_commit_keeps_what_was_saved(backend_app):
    with backend_app.app_context():
        save_in_transaction(db.session, "0a0a.png", b"x")
        db.session.commit()
        db.session.rollback()
        db.session.remove()
    assert stored(backend_app) == {"0a0a.png"}


def test_rollback_keeps_an_object_stored_before(backend_app):
    """Content-addressed names: storing the same name again and rolling back keeps the first."""
    with backend_app.app_context():
        save_in_transaction(db.session, "5ame.png", b"same bytes")
        db.session.commit()
        save_in_transaction(db.session, "5ame.png", b"same bytes")
        db.session.rollback()
        assert get_storage().read("5ame.png") == b"same bytes"


def test_delete_happens_only_after_commit(backend_app):
    with backend_app.app_context():
        save_in_transaction(db.session, "0a0a.png", b"x")
        db.session.commit()
        delete_in_transaction(db.session, "0a0a.png")
        db.session.flush()
        assert get_storage().exists("0a0a.png")
        db.session.rollback()
        assert get_storage().exists("0a0a.png")
        delete_in_transaction(db.session, "0a0a.png")
        db.session.commit()
        assert not get_storage().exists("0a0a.png")


def test_upload_and_delete_through_the_media_service(backend_app):
    """store_upload and delete_file: rows and bytes come and go together, on either backend."""
    data = image_bytes("PNG", size=(320, 200))
    with backend_app.app_context():
        uploader = make_user("uploader@example.com", roles=("editor",))
        record = store_upload(db.session, data, "photo.png", uploader)
        db.session.rollback()
        assert list(get_storage().names()) == []
        assert db.session.scalar(select(func.count(File.id))) == 0

        uploader = make_user("uploader2@example.com", roles=("editor",))
        record = store_upload(db.session, data, "photo.png", uploader)
        db.session.commit()
        names = {record.stored_name, record.thumbnail_name}
        assert set(get_storage().names()) == names
        assert get_storage().read(record.stored_name) == data
        assert get_storage().size(record.stored_name) == record.size

        delete_file(db.session, record)
        db.session.flush()
        assert set(get_storage().names()) == names
        db.session.commit()
        assert list(get_storage().names()) == []


# --- Settings ---------------------------------------------------------------------------


def test_backend_follows_the_settings(app, s3_server, s3_bucket, variant):
    """STORAGE_BACKEND picks the backend; S3 keys live under S3_PREFIX."""
    assert isinstance(app.extensions["cms_storage"], LocalStorage)
    s3_app = variant(**s3_server.config(s3_bucket, prefix="site/uploads"))
    storage = s3_app.extensions["cms_storage"]
    assert isinstance(storage, S3Storage)
    assert (storage.bucket, storage.prefix) == (s3_bucket, "site/uploads/")
    storage.save("abc.png", b"x")
    assert s3_server.keys(s3_bucket) == {"site/uploads/abc.png"}

    base = {"UPLOAD_FOLDER": str(Path(app.config["UPLOAD_FOLDER"]))}
    with pytest.raises(RuntimeError, match="S3_BUCKET"):
        make_storage({**base, "STORAGE_BACKEND": "s3"})
    with pytest.raises(RuntimeError, match="STORAGE_BACKEND"):
        make_storage({**base, "STORAGE_BACKEND": "ftp"})
    assert isinstance(make_storage({**base, "STORAGE_BACKEND": "LOCAL"}), LocalStorage)


# --- Serving through /uploads/<name> ------------------------------------------------------

# Files of published posts: cached an hour, then revalidated (ETag), never immutable.
PUBLIC = "public, max-age=3600"
SANDBOX = "default-src 'none'; sandbox"


def fetch(client, url, **headers):
    """GET a URL and read the whole body (closing the file it was streamed from)."""
    response = client.get(url, headers=headers)
    response.get_data()
    response.close()
    return response


def upload_files(app):
    """Store an image and a PDF through the media service; return their rows' names."""
    with app.app_context():
        uploader = make_user(roles=("editor",))
        image = store_upload(db.session, image_bytes("PNG"), "photo.png", uploader)
        document = store_upload(db.session, PDF, "Bericht über 2024.pdf", uploader)
        db.session.commit()
        show_publicly(image, document)
        return image.stored_name, image.thumbnail_name, document.stored_name


def test_uploads_are_served_from_s3_like_from_disk(app, variant, s3_server, s3_bucket):
    """The public view on the S3 backend: bytes, inline images, sandboxed downloads, caching."""
    s3_app = variant(**s3_server.config(s3_bucket))
    client = s3_app.test_client()
    image, thumb, document = upload_files(s3_app)
    assert len(s3_server.keys(s3_bucket)) == 3

    response = fetch(client, f"/uploads/{image}")
    assert response.status_code == 200 and response.data == image_bytes("PNG")
    assert response.mimetype == "image/png"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == PUBLIC
    assert response.headers["ETag"] and response.headers["Last-Modified"]
    # Images too: whatever a browser makes of the bytes, nothing in them may run.
    assert response.headers["Content-Security-Policy"] == SANDBOX

    again = fetch(client, f"/uploads/{image}", **{"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == response.headers["ETag"]
    assert again.headers["Content-Security-Policy"] == SANDBOX
    assert again.headers["Cache-Control"] == PUBLIC
    since = fetch(
        client, f"/uploads/{image}", **{"If-Modified-Since": response.headers["Last-Modified"]}
    )
    assert since.status_code == 304
    part = fetch(client, f"/uploads/{image}", Range="bytes=0-9")
    assert part.status_code == 206 and part.data == image_bytes("PNG")[:10]
    assert part.headers["Content-Security-Policy"] == SANDBOX

    thumbnail = fetch(client, f"/uploads/{thumb}")
    assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/webp"
    assert thumbnail.headers["Content-Disposition"].startswith("inline")

    pdf = fetch(client, f"/uploads/{document}")
    assert pdf.status_code == 200 and pdf.data == PDF
    assert pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("attachment")
    assert "filename*=UTF-8''Bericht%20%C3%BCber%202024.pdf" in pdf.headers["Content-Disposition"]
    assert pdf.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert pdf.headers["X-Content-Type-Options"] == "nosniff"
    assert pdf.headers["Cache-Control"] == PUBLIC


SAME_HEADERS = (
    "Content-Type",
    "Content-Length",
    "Content-Disposition",
    "X-Content-Type-Options",
    "Cache-Control",
    "Accept-Ranges",
)


def test_local_and_s3_send_the_same_headers(app, variant, s3_server, s3_bucket):
    """Apart from the validators (ETag, dates) and the page CSP's nonce, both answer alike."""
    answers = []
    for application in (app, variant(**s3_server.config(s3_bucket))):
        client = application.test_client()
        answer = []
        for name in upload_files(application):
            headers = fetch(client, f"/uploads/{name}").headers
            csp = re.sub(r"'nonce-[^']+'", "'nonce'", headers.get("Content-Security-Policy", ""))
            answer.append({"csp": csp, **{key: headers.get(key) for key in SAME_HEADERS}})
        answers.append(answer)
    assert answers[0] == answers[1]
    assert answers[0][0]["Cache-Control"] == PUBLIC
    assert [item["csp"] for item in answers[0]] == [SANDBOX] * 3


def test_s3_object_missing_or_unnamed_is_404(app, variant, s3_server, s3_bucket):
    """A row whose object is gone, and an object no row names, are both 404."""
    s3_app = variant(**s3_server.config(s3_bucket))
    client = s3_app.test_client()
    image, _thumb, _document = upload_files(s3_app)
    with s3_app.app_context():
        get_storage().delete(image)
        get_storage().save("0123456789abcdef.png", image_bytes())
    assert fetch(client, f"/uploads/{image}").status_code == 404
    assert fetch(client, "/uploads/0123456789abcdef.png").status_code == 404
    for name in ("..", "%2e%2e", "..%2fsettings.py", "%3Cscript%3E", "a%5cb.png", "%00"):
        assert fetch(client, f"/uploads/{name}").status_code in (400, 404), name
