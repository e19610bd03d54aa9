"""`gunicorn run:app` with several workers: the production entry point, configured by env only."""

import os
import re
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_database_url(database_url: str, tmp_path: Path) -> str:
    """Return an empty database of the suite's kind (the suite's own one stays untouched)."""
    if not database_url.startswith("postgresql"):
        return f"sqlite:///{tmp_path / 'prod.db'}"
    url = make_url(database_url)
    name = f"{url.database}_gunicorn"
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url):
    """Run migrations and start gunicorn with two workers on a free port."""
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECRET_KEY", "SECURITY_PASSWORD_SALT", "DATABASE_URL"))
    }
    env.update(
        DATABASE_URL=fresh_database_url(database_url, tmp_path),
        INSTANCE_PATH=str(tmp_path / "instance"),
        UPLOAD_FOLDER=str(tmp_path / "uploads"),
    )
    subprocess.run(
        [BIN / "flask", "--app", "run", "db", "upgrade"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )
    port = free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [BIN / "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}", "run:app"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2)
            break
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                process.wait()
                pytest.fail(f"gunicorn did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
    yield base, tmp_path
    process.terminate()
    process.wait(timeout=15)


def test_gunicorn_serves_site_and_health(server):
    base, _ = server
    with urllib.request.urlopen(base + "/healthz") as response:
        assert response.status == 200
        assert b'"ok"' in response.read()
    with urllib.request.urlopen(base + "/") as response:
        assert response.status == 200
        assert b"<html" in response.read()


def test_workers_share_generated_secrets(server):
    base, tmp_path = server
    instance = tmp_path / "instance"
    for name in ("secret_key", "salt"):
        mode = stat.S_IMODE((instance / name).stat().st_mode)
        assert mode == 0o600, (name, oct(mode))
    # A form token made by one worker must be accepted by the other: same secret key.
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    for _ in range(12):
        page = opener.open(base + "/account/login").read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode(
            {"csrf_token": token, "email": "nobody@example.com", "password": "x" * 12}
        ).encode()
        try:
            status = opener.open(base + "/account/login", data=data).status
        except urllib.error.HTTPError as error:
            status = error.code
        assert status == 200, status
