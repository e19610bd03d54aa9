"""Settings: generated secrets, safe production defaults, and settings that follow each other."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cms.config import read_or_create_secret
from settings import BASE_DIR

PRODUCTION_REPORT = """
import json
from run import app
keys = ["DEBUG", "TESTING", "PROPAGATE_EXCEPTIONS", "WTF_CSRF_ENABLED", "WTF_CSRF_CHECK_DEFAULT",
        "SECURITY_PASSWORD_HASH", "SECURITY_PASSWORD_SINGLE_HASH",
        "SECURITY_RETURN_GENERIC_RESPONSES", "SECURITY_API_ENABLED_METHODS",
        "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE", "SESSION_COOKIE_SECURE",
        "REMEMBER_COOKIE_SECURE", "REMEMBER_COOKIE_HTTPONLY", "MAX_CONTENT_LENGTH",
        "SECURITY_EMAIL_VALIDATOR_ARGS", "SECURITY_PASSWORD_LENGTH_MIN"]
report = {key: app.config.get(key) for key in keys}
report["debug"] = app.debug
report["secret_key_length"] = len(app.config["SECRET_KEY"])
print(json.dumps(report, default=sorted))
"""


def production_app_report(tmp_path: Path, **env) -> dict:
    """Start the app the way `gunicorn run:app` does, in a clean process; report its config."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLASK_", "SECRET", "SECURITY_", "SESSION_", "DATABASE_"))
    }
    clean.update(
        INSTANCE_PATH=str(tmp_path / "instance"),
        UPLOAD_FOLDER=str(tmp_path / "uploads"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.db'}",
        PYTHONPATH=str(BASE_DIR),
        **env,
    )
    result = subprocess.run(
        [sys.executable, "-c", PRODUCTION_REPORT],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def mode(path: Path) -> int:
    """Return a file's permission bits."""
    return stat.S_IMODE(path.stat().st_mode)


def test_missing_secrets_are_generated_once_and_kept(variant, tmp_path):
    """No SECRET_KEY or salt: both are generated into the instance folder (0600) and reused."""
    instance = tmp_path / "instance"
    first = variant(SECRET_KEY=None, SECURITY_PASSWORD_SALT=None)
    key_file, salt_file = instance / "secret_key", instance / "salt"
    assert key_file.read_text().strip() == first.config["SECRET_KEY"]
    assert salt_file.read_text().strip() == first.config["SECURITY_PASSWORD_SALT"]
    assert mode(key_file) == 0o600 and mode(salt_file) == 0o600
    assert len(first.config["SECRET_KEY"]) >= 40
    assert first.config["SECRET_KEY"] != first.config["SECURITY_PASSWORD_SALT"]

    second = variant(SECRET_KEY=None, SECURITY_PASSWORD_SALT=None)
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    assert second.config["SECURITY_PASSWORD_SALT"] == first.config["SECURITY_PASSWORD_SALT"]

    # A session signed by the first start is still valid after the restart.
    client = first.test_client()
    client.get("/account/login")
    cookie = client.get_cookie("session").value
    with second.test_request_context():
        assert second.session_interface.get_signing_serializer(second).loads(cookie)


def test_separate_instances_get_separate_secrets(variant, tmp_path):
    """Two installations never share a generated key."""
    one = variant(SECRET_KEY=None, SECURITY_PASSWORD_SALT=None, INSTANCE_PATH=str(tmp_path / "one"))
    two = variant(SECRET_KEY=None, SECURITY_PASSWORD_SALT=None, INSTANCE_PATH=str(tmp_path / "two"))
    assert one.config["SECRET_KEY"] != two.config["SECRET_KEY"]


def test_given_secrets_are_used_and_not_written(variant, tmp_path):
    """Secrets from the settings or environment win; nothing is written to disk."""
    application = variant(SECRET_KEY="given-key", SECURITY_PASSWORD_SALT="given-salt")
    assert application.config["SECRET_KEY"] == "given-key"
    assert not (tmp_path / "instance" / "secret_key").exists()
    assert not (tmp_path / "instance" / "salt").exists()


def test_an_empty_secret_file_is_an_error(tmp_path, monkeypatch):
    """A secret file left empty (a crash mid-write) stops the start with a clear message."""
    path = tmp_path / "secret_key"
    path.write_text("")
    monkeypatch.setattr("cms.config.time.sleep", lambda seconds: None)
    with pytest.raises(RuntimeError, match="delete it"):
        read_or_create_secret(path)


def test_production_defaults(tmp_path):
    """Started as in production with nothing configured: no debug, CSRF and safe cookies on."""
    report = production_app_report(tmp_path)
    assert report["debug"] is False and report["DEBUG"] is False
    assert not report["TESTING"] and not report["PROPAGATE_EXCEPTIONS"]
    assert report["WTF_CSRF_ENABLED"] in (None, True) and report["WTF_CSRF_CHECK_DEFAULT"]
    assert report["SECURITY_PASSWORD_HASH"] == "bcrypt"
    # HMAC first, then bcrypt: passwords over bcrypt's 72 bytes still count in full.
    single = report["SECURITY_PASSWORD_SINGLE_HASH"]
    assert single is not True and "bcrypt" not in (single or [])
    assert report["SECURITY_RETURN_GENERIC_RESPONSES"] is True
    assert report["SECURITY_API_ENABLED_METHODS"] == ["session"]
    assert report["SESSION_COOKIE_HTTPONLY"] and report["REMEMBER_COOKIE_HTTPONLY"]
    assert report["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert report["MAX_CONTENT_LENGTH"] and report["SECURITY_PASSWORD_LENGTH_MIN"] >= 12
    assert report["secret_key_length"] >= 40
    assert mode(tmp_path / "instance" / "secret_key") == 0o600


def test_debug_and_secure_cookies_only_when_asked(tmp_path):
    """FLASK_DEBUG turns debug on; SESSION_COOKIE_SECURE secures both cookies."""
    report = production_app_report(tmp_path, FLASK_DEBUG="1", SESSION_COOKIE_SECURE="true")
    assert report["debug"] is True
    assert report["SESSION_COOKIE_SECURE"] is True and report["REMEMBER_COOKIE_SECURE"] is True


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"SESSION_COOKIE_SECURE": True}, True),
        ({"SESSION_COOKIE_SECURE": True, "REMEMBER_COOKIE_SECURE": False}, False),
    ],
)
def test_remember_cookie_follows_session_cookie_override(variant, overrides, expected):
    """Overriding SESSION_COOKIE_SECURE secures the remember cookie too, unless told apart."""
    assert variant(**overrides).config["REMEMBER_COOKIE_SECURE"] is expected


def test_server_name_limits_trusted_hosts(variant):
    """With SERVER_NAME set and no TRUSTED_HOSTS, only that host name is trusted."""
    application = variant(SERVER_NAME="cms.example.com:8443", TRUSTED_HOSTS=None)
    assert application.config["TRUSTED_HOSTS"] == ["cms.example.com"]
