"""Real server processes for tests: gunicorn on a free port with its own database and folders."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_database_url(database_url: str, folder: Path, suffix: str) -> str:
    """Return an empty database of the suite's kind (the suite's own one stays untouched)."""
    if not database_url.startswith("postgresql"):
        return f"sqlite:///{folder / (suffix + '.db')}"
    url = make_url(database_url)
    name = f"{url.database}_{suffix}"
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


class ServerProcess:
    """gunicorn serving run:app, configured through the environment only."""

    def __init__(self, folder: Path, database_url: str, workers: int = 2, **env):
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "server.log"
        self.workers = workers
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SECRET_KEY", "SECURITY_PASSWORD_SALT", "DATABASE_URL"))
        }
        self.env.update(
            DATABASE_URL=database_url,
            INSTANCE_PATH=str(folder / "instance"),
            UPLOAD_FOLDER=str(folder / "uploads"),
            **env,
        )
        self.process = None

    def flask(self, *args: str) -> subprocess.CompletedProcess:
        """Run a `flask --app run ...` command against this server's database."""
        return subprocess.run(
            [BIN / "flask", "--app", "run", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )

    def start(self, timeout: float = 30) -> "ServerProcess":
        """Migrate the database, start gunicorn and wait until /healthz answers."""
        self.flask("db", "upgrade")
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    BIN / "gunicorn",
                    "--workers",
                    str(self.workers),
                    "--threads",
                    "4",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "run:app",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=2).close()
                return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"server did not start:\n{self.output()}") from None
                time.sleep(0.2)

    def output(self) -> str:
        """Return what the server printed."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        """Stop the server."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
