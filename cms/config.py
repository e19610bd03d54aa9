"""Loading settings into the app, and generating the secrets nobody gave us."""

import base64
import os
import secrets
import time
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy.engine import make_url

import settings
from cms.hosts import parse_site_url


def load_config(app: Flask, overrides: dict | None) -> None:
    """Fill app.config from settings.py and overrides; create folders and missing secrets."""
    app.config.from_object(settings)
    if overrides:
        app.config.update(overrides)
        if "SESSION_COOKIE_SECURE" in overrides and "REMEMBER_COOKIE_SECURE" not in overrides:
            # settings.py ties them together when it is read; keep them tied when overridden.
            app.config["REMEMBER_COOKIE_SECURE"] = overrides["SESSION_COOKIE_SECURE"]
    app.config.setdefault("MIGRATIONS_DIR", str(settings.BASE_DIR / "migrations"))
    instance = Path(app.config["INSTANCE_PATH"])
    app.instance_path = str(instance)
    # The folder holds the secrets and the SQLite database: its owner only.
    instance.mkdir(parents=True, exist_ok=True, mode=0o700)
    create_private_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])
    Path(app.config["UPLOAD_FOLDER"]).mkdir(parents=True, exist_ok=True)
    for key, filename in (("SECRET_KEY", "secret_key"), ("SECURITY_PASSWORD_SALT", "salt")):
        if not app.config.get(key):
            app.config[key] = read_or_create_secret(instance / filename)
    if not app.config.get("SECURITY_TOTP_SECRETS"):
        # Encrypts the two-factor secrets stored in the database; kept like the secret key.
        app.config["SECURITY_TOTP_SECRETS"] = {"1": read_or_create_secret(instance / "totp_secret")}
    if not app.config.get("SECURITY_MULTI_FACTOR_RECOVERY_CODES_KEYS"):
        # Encrypts the stored recovery codes (a Fernet key); kept like the secret key.
        key = read_or_create_secret(instance / "recovery_codes_key", generate=fernet_key)
        app.config["SECURITY_MULTI_FACTOR_RECOVERY_CODES_KEYS"] = [key]
    configure_hosts(app)


def configure_hosts(app: Flask) -> None:
    """Take the site's address from SITE_URL or SERVER_NAME, never from a request (cms.hosts)."""
    config = app.config
    if config.get("SITE_URL"):
        scheme, netloc = parse_site_url(config["SITE_URL"])
        if config.get("SERVER_NAME") and config["SERVER_NAME"].lower() != netloc:
            raise ValueError(
                f"SERVER_NAME {config['SERVER_NAME']!r} differs from SITE_URL's host {netloc!r}"
            )
        config["SERVER_NAME"] = netloc
        config["PREFERRED_URL_SCHEME"] = scheme
    if config.get("SERVER_NAME"):
        # Other Host headers get 400: accept the configured name, and TRUSTED_HOSTS besides.
        host = urlsplit(f"//{config['SERVER_NAME']}").hostname
        trusted = list(config.get("TRUSTED_HOSTS") or [])
        if host not in trusted:
            config["TRUSTED_HOSTS"] = [host, *trusted]
    if not config.get("SERVER_NAME") and not is_sqlite(config["SQLALCHEMY_DATABASE_URI"]):
        answered = (
            ", ".join(config["TRUSTED_HOSTS"])
            if config.get("TRUSTED_HOSTS")
            else "127.0.0.1, localhost and [::1] only"
        )
        app.logger.warning(
            "SITE_URL is not set (nor SERVER_NAME): the site answers %s, and mailed links "
            "name whichever of them a request used. Set SITE_URL=https://your.host in "
            "production.",
            answered,
        )


def is_sqlite(database_uri: str) -> bool:
    """Return whether the database is SQLite (a development set-up)."""
    return make_url(database_uri).get_backend_name() == "sqlite"


def create_private_sqlite_file(database_uri: str) -> None:
    """Create a missing SQLite database file readable by its owner only (mode 0600).

    SQLite would create it 0644; its -wal, -shm and -journal files take the mode of the
    database file, so they are private too. An existing file is left as it is, and a missing
    folder is not made (the database is then down until someone creates it).
    """
    url = make_url(database_uri)
    name = url.database or ""
    if url.get_backend_name() != "sqlite" or name in ("", ":memory:") or "uri" in url.query:
        return
    if name.startswith("file:"):
        return
    try:
        os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:
        # Already there, or its folder is missing (then the database is down: 503s).
        return


def fernet_key() -> str:
    """Return a new key in the form Fernet (cryptography) expects: 32 bytes, base64."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def read_or_create_secret(path: Path, generate=lambda: secrets.token_urlsafe(48)) -> str:
    """Return the secret kept in `path`, creating it (mode 0600) with `generate` on first use."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another worker, or an earlier start, made it first; it may still be writing.
        for _ in range(100):
            value = path.read_text().strip()
            if value:
                return value
            time.sleep(0.02)
        raise RuntimeError(f"{path} is empty; delete it to generate a new secret") from None
    value = generate()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value
