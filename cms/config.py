"""Loading settings into the app, and generating the secrets nobody gave us."""

import base64
import os
import secrets
import time
from pathlib import Path

from flask import Flask

import settings


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
    instance.mkdir(parents=True, exist_ok=True)
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
    if app.config.get("SERVER_NAME") and not app.config.get("TRUSTED_HOSTS"):
        # Mail links are built from the Host header: accept only the configured name.
        app.config["TRUSTED_HOSTS"] = [app.config["SERVER_NAME"].split(":", 1)[0]]


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
