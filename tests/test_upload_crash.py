"""Crash safety: gunicorn killed with SIGKILL while uploads are in flight.

One upload is committed first. Then three are in flight when every gunicorn process is killed:
one whose body has only half arrived; one whose bytes are already stored but whose row is not
committed yet (a gunicorn hook of the test holds a worker right after a save, so the kill lands
exactly between storing and committing); and one whose body was sent completely just before the
kill. Afterwards: every File row has its stored objects, intact; nothing of the half-sent upload
was stored; what the others left behind is exactly what `flask cms media orphans` reports, and
after `--delete` no object is without a row. The database passes its own consistency checks,
and the committed file is still served. Runs on both storage backends and on the
suite's database kind.
"""

import hashlib
import io
import os
import re
import secrets
import socket
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from http.cookiejar import CookieJar

import pytest
from PIL import Image
from sqlalchemy import create_engine, make_url, select, text

from cms.extensions import db
from cms.models import File
from cms.services.orphans import find_orphans
from cms.services.storage import get_storage
from tests.media import signed
from tests.servers import ServerProcess, fresh_database_url

PASSWORD = "crash safety needs a long passphrase"


def noise_pixels(seed: int, side: int = 256) -> bytes:
    """Return the RGB pixels of the test image made from `seed`."""
    return hashlib.shake_256(str(seed).encode()).digest(side * side * 3)


def noise_png(seed: int, side: int = 256) -> bytes:
    """Return a PNG of random pixels (it does not compress: a body of ~200 KB)."""
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), noise_pixels(seed, side)).save(out, format="PNG")
    return out.getvalue()


def seed_of(data: bytes) -> int | None:
    """Return which test image a stored object holds (by its pixels), or None."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            pixels = image.convert("RGB").tobytes()
    except Exception:
        return None
    return next((seed for seed in range(1, 5) if noise_pixels(seed) == pixels), None)


class Uploader:
    """A logged-in editor who sends uploads over raw sockets, as slowly as the test wants."""

    def __init__(self, server: ServerProcess):
        self.server = server
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(server.url + "/account/login").read().decode()
        form = {"csrf_token": token_in(page), "email": "editor@example.com", "password": PASSWORD}
        opener.open(
            server.url + "/account/login", data=urllib.parse.urlencode(form).encode()
        ).close()
        page = opener.open(server.url + "/admin/files/new/").read().decode()
        self.token = token_in(page)
        field = re.search(r'<input[^>]*type="file"[^>]*>', page).group(0)
        self.field = re.search(r'name="([^"]+)"', field).group(1)
        self.cookie = "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)
        assert "session=" in self.cookie

    def request(self, data: bytes, filename: str) -> bytes:
        """Return the whole HTTP request of an upload through the dashboard's form."""
        boundary = "cmscrash" + secrets.token_hex(8)
        body = b"".join(
            [
                f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
                f"{self.token}\r\n".encode(),
                f'--{boundary}\r\nContent-Disposition: form-data; name="{self.field}"; '
                f'filename="{filename}"\r\nContent-Type: image/png\r\n\r\n'.encode(),
                data,
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
        head = (
            "POST /admin/files/new/ HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{self.server.port}\r\n"
            f"Cookie: {self.cookie}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        return head.encode() + body

    def connect(self) -> socket.socket:
        """Return a connection to the server."""
        return socket.create_connection(("127.0.0.1", self.server.port), timeout=30)

    def upload(self, data: bytes, filename: str) -> str:
        """Send a whole upload and return the status line of the answer."""
        with self.connect() as sock:
            sock.sendall(self.request(data, filename))
            reply = b""
            while b"\r\n" not in reply:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
        return reply.split(b"\r\n", 1)[0].decode()


def token_in(page: str) -> str:
    """Return the CSRF token of the first form on a page."""
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


# A gunicorn settings file: while the pause file exists, a worker that has just stored an
# object waits there (before its transaction can commit), until it is killed.
PAUSE_HOOK = """
import os
import time


def post_worker_init(worker):
    from cms.services import storage

    pause = os.environ["CMS_TEST_PAUSE_FILE"]
    for backend in (storage.LocalStorage, storage.S3Storage):

        def save(self, name, data, real=backend.save):
            real(self, name, data)
            while os.path.exists(pause):
                time.sleep(0.01)

        backend.save = save
"""


@pytest.fixture(params=["local", "s3"])
def backend_settings(request) -> dict:
    """Environment settings of the storage backend the server uses."""
    if request.param == "local":
        return {"STORAGE_BACKEND": "local"}
    server = request.getfixturevalue("s3_server")
    return server.config(request.getfixturevalue("s3_bucket"))


def wait_for(condition, timeout: float = 10, what: str = "condition"):
    """Poll until `condition()` returns something truthy, and return it."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def check_database(database_url: str) -> None:
    """The database's own consistency checks pass, and no killed transaction lingers."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
                assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
                return
            name = make_url(database_url).database

            def no_open_transactions():
                left = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = :name "
                        "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
                    ),
                    {"name": name},
                ).scalar()
                conn.rollback()
                return left == 0

            wait_for(no_open_transactions, what="the killed transactions to end")
            assert conn.execute(text("SELECT count(*) FROM pg_prepared_xacts")).scalar() == 0
    finally:
        engine.dispose()


def test_sigkill_during_uploads_leaves_rows_and_objects_consistent(
    tmp_path, database_url, backend_settings, variant
):
    database = fresh_database_url(database_url, tmp_path, "crash")
    hook = tmp_path / "pause_hook.py"
    hook.write_text(PAUSE_HOOK)
    pause = tmp_path / "pause"
    settings = {"RATELIMIT_ENABLED": "false", **backend_settings}
    server = ServerProcess(
        tmp_path,
        database,
        workers=2,
        GUNICORN_CMD_ARGS=f"--config {hook}",
        CMS_TEST_PAUSE_FILE=str(pause),
        **settings,
    )
    # The same database and storage, seen from the test.
    inspect_app = variant(
        SQLALCHEMY_DATABASE_URI=database,
        UPLOAD_FOLDER=str(tmp_path / "uploads"),
        **backend_settings,
    )
    try:
        server.start()
        server.flask(
            "cms", "create-user", "editor@example.com", "--role", "editor", "--password", PASSWORD
        )
        uploader = Uploader(server)
        assert uploader.upload(noise_png(1), "committed.png").split()[1] == "302"
        with inspect_app.app_context():
            row = db.session.scalars(select(File)).one()
            kept = {row.stored_name, row.thumbnail_name}
            assert set(get_storage().names()) == kept

        # In flight 1: half of the body sent, the rest never comes.
        half_sent = uploader.request(noise_png(2), "half.png")
        slow = uploader.connect()
        slow.sendall(half_sent[: len(half_sent) // 2])
        # In flight 2: the whole body; its bytes get stored, and the worker is held there.
        pause.touch()
        held = uploader.connect()
        held.sendall(uploader.request(noise_png(3), "stored-not-committed.png"))
        with inspect_app.app_context():
            wait_for(lambda: set(get_storage().names()) - kept, what="the upload to be stored")
        # In flight 3: the whole body, and the kill right after it.
        last = uploader.connect()
        last.sendall(uploader.request(noise_png(4), "sent-then-killed.png"))
        server.kill()
        for connection in (slow, held, last):
            connection.close()

        check_database(database)
        with inspect_app.app_context():
            storage = get_storage()
            rows = db.session.scalars(select(File)).all()
            # Only the committed upload has a row, and its objects are whole.
            assert [record.original_name for record in rows] == ["committed.png"]
            for record in rows:
                data = storage.read(record.stored_name)
                assert len(data) == record.size
                assert hashlib.sha256(data).hexdigest() == record.sha256
                assert storage.exists(record.thumbnail_name)
            # The held upload left its object, no row names it; the half-sent one left nothing.
            leftovers = set(storage.names()) - kept
            seeds = sorted(seed_of(storage.read(name)) for name in leftovers)
            assert seeds in ([3], [3, 4]), seeds
            # Within the grace period they might still be an upload about to commit...
            assert find_orphans(db.session, storage).objects == []
            # ...but with none they are what the orphans command reports.
            found = find_orphans(db.session, storage, older_than=timedelta(0))
            assert set(found.objects) == leftovers
            db.session.remove()

        result = server.flask("cms", "media", "orphans", "--delete", "--older-than", "0")
        assert f"Deleted {len(leftovers)} orphaned objects" in result.stdout, result.stdout
        with inspect_app.app_context():
            storage = get_storage()
            assert set(storage.names()) == kept
            assert find_orphans(db.session, storage, older_than=timedelta(0)).objects == []
            assert storage.stale_temp_files(0) == []
            db.session.remove()
        if backend_settings["STORAGE_BACKEND"] == "local":
            assert sorted(os.listdir(tmp_path / "uploads")) == sorted(kept)

        # The site still serves the committed upload, from the same database and storage
        # (through a signed address: no published post shows it).
        with inspect_app.app_context():
            address = signed(f"/uploads/{row.stored_name}")
        reply = inspect_app.test_client().get(address)
        assert reply.status_code == 200
        assert hashlib.sha256(reply.get_data()).hexdigest() == row.sha256
        reply.close()
    finally:
        server.stop()
