"""Real server processes for tests: gunicorn on a free port with its own database and folders."""

import os
import re
import signal
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


def wait_until_answering(server, url: str, timeout: float) -> None:
    """Wait until `url` answers; stop the server and fail with its log if it never does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline or server.process.poll() is not None:
                server.stop()
                log = server.log.read_text(errors="replace") if server.log.exists() else ""
                raise RuntimeError(f"{type(server).__name__} did not start:\n{log}") from None
            time.sleep(0.1)


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
                    # Each gunicorn would take over the one control socket path of the user.
                    "--no-control-socket",
                    "run:app",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_until_answering(self, self.url + "/healthz", timeout)
        return self

    def output(self) -> str:
        """Return what the server printed."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """Kill gunicorn and every worker with SIGKILL, as a power cut or the OOM killer would.

        The master is frozen first, so it cannot start a new worker while its workers die.
        """
        if not self.process or self.process.poll() is not None:
            return
        master = self.process.pid
        os.kill(master, signal.SIGSTOP)
        workers = children_of(master)
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        os.kill(master, signal.SIGKILL)
        self.process.wait()
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{pid}").exists() for pid in workers):
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers {workers} outlived SIGKILL")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def children_of(pid: int) -> list[int]:
    """Return the ids of the processes whose parent is `pid` (Linux /proc)."""
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = stat_file.read_text()
        except OSError:
            continue
        # "pid (command) state ppid ...": the command may contain spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(stat_file.parent.name))
    return found


# Credentials and region for the test S3 server; the app finds them through boto3's usual chain.
S3_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    # Nothing from the developer's own AWS set-up, and no instance-metadata look-ups.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


class S3Server:
    """moto's standalone S3-compatible server on 127.0.0.1 and a free port.

    It speaks the S3 API over real HTTP, so the S3 backend is tested through boto3 exactly as
    it talks to Amazon S3 or MinIO. Every test makes a bucket of its own.
    """

    region = "us-east-1"

    def __init__(self, folder: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "moto.log"
        self.process = None
        self._buckets = 0

    def start(self, timeout: float = 30) -> "S3Server":
        """Start the server and wait until it answers."""
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [BIN / "moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
                env={**os.environ, **S3_TEST_ENV},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_until_answering(self, self.url + "/", timeout)
        return self

    def client(self):
        """Return a boto3 S3 client of the test server."""
        import boto3

        return boto3.session.Session(
            aws_access_key_id=S3_TEST_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=S3_TEST_ENV["AWS_SECRET_ACCESS_KEY"],
            region_name=self.region,
        ).client("s3", endpoint_url=self.url)

    def create_bucket(self) -> str:
        """Create a new, empty bucket and return its name."""
        self._buckets += 1
        name = f"cms-test-{os.getpid()}-{self._buckets}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> set[str]:
        """Return every key in a bucket, whatever its prefix."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {item["Key"] for page in pages for item in page.get("Contents", ())}

    def config(self, bucket: str, prefix: str = "media/") -> dict:
        """Return the settings of an app that stores its uploads in `bucket`."""
        return {
            "STORAGE_BACKEND": "s3",
            "S3_BUCKET": bucket,
            "S3_ENDPOINT_URL": self.url,
            "S3_REGION": self.region,
            "S3_PREFIX": prefix,
        }

    def stop(self) -> None:
        """Stop the server."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- Driving a server's forms with urllib -------------------------------------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report redirects instead of following them: a 302 after a POST means it worked."""

    def redirect_request(self, *args, **kwargs):
        return None


def token_in(page: str) -> str:
    """Return the CSRF token of the first form on a page."""
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def field(page: str, name: str) -> str:
    """Return the value of a hidden or text input on a page."""
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', page
    )
    return found.group(1) if found else ""
