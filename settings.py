"""Every setting of the CMS, one UPPERCASE constant each; the environment overrides them.

This is the only module that reads the environment. Values left as None are filled in by the
application factory (the secret key and password salt are generated once and kept in the
instance folder).
"""

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _env(name, default=None):
    """Return an environment variable, treating an empty value as unset."""
    value = os.environ.get(name, "")
    return value if value != "" else default


def _env_bool(name, default=False):
    """Return an environment variable read as a yes/no flag."""
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name, default=()):
    """Return a comma-separated environment variable as a list."""
    value = _env(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


# --- Core --------------------------------------------------------------------------------
# Folder for the SQLite database and generated secrets; created on first start.
INSTANCE_PATH = _env("INSTANCE_PATH", str(BASE_DIR / "instance"))
# Signs sessions and tokens; generated into the instance folder (mode 0600) when unset.
SECRET_KEY = _env("SECRET_KEY")
# Debug pages show code and settings: never on unless asked for.
DEBUG = _env_bool("FLASK_DEBUG", False)
# Public host name the site answers to (used in mail links); unset means any host.
SERVER_NAME = _env("SERVER_NAME")
# Host names accepted in the Host header (Flask 3.1); empty means SERVER_NAME or any host.
TRUSTED_HOSTS = _env_list("TRUSTED_HOSTS") or None
# Scheme for links built outside a request (mail, CLI).
PREFERRED_URL_SCHEME = _env("PREFERRED_URL_SCHEME", "http")
# Name shown in the site header, the dashboard and mail.
SITE_NAME = _env("SITE_NAME", "Python CMS")

# --- Database ----------------------------------------------------------------------------
# SQLAlchemy URL; SQLite in the instance folder by default, e.g. postgresql+psycopg://... in
# production.
SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{Path(INSTANCE_PATH) / 'cms.db'}")
# Checks connections before use, so the app recovers after the database restarts.
SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
# Track-modifications costs memory and is not used.
SQLALCHEMY_TRACK_MODIFICATIONS = False

# --- Uploads -----------------------------------------------------------------------------
# Where uploaded files are stored; created on first start.
UPLOAD_FOLDER = _env("UPLOAD_FOLDER", str(BASE_DIR / "uploads"))
# Largest upload in bytes; bigger request bodies get 413 before they are read.
MAX_CONTENT_LENGTH = int(_env("MAX_UPLOAD_BYTES", str(16 * 1024 * 1024)))
# Images with more pixels than this are refused before they are decoded.
MAX_IMAGE_PIXELS = int(_env("MAX_IMAGE_PIXELS", str(40_000_000)))
# Longest side of the thumbnails shown in the dashboard, in pixels.
THUMBNAIL_SIZE = int(_env("THUMBNAIL_SIZE", "160"))

# --- Mail --------------------------------------------------------------------------------
# Flask-Mailman backend: "console" prints mail, "smtp" sends it, "file" writes it to
# MAIL_FILE_PATH; smtp when MAIL_SERVER is set.
MAIL_BACKEND = _env("MAIL_BACKEND", "smtp" if _env("MAIL_SERVER") else "console")
# SMTP server host name.
MAIL_SERVER = _env("MAIL_SERVER", "localhost")
# SMTP port.
MAIL_PORT = int(_env("MAIL_PORT", "25"))
# SMTP user name, if the server wants one.
MAIL_USERNAME = _env("MAIL_USERNAME")
# SMTP password, if the server wants one.
MAIL_PASSWORD = _env("MAIL_PASSWORD")
# Use STARTTLS.
MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
# Use SMTP over TLS.
MAIL_USE_SSL = _env_bool("MAIL_USE_SSL", False)
# Folder for the "file" backend, which writes each mail to a file instead of sending it.
MAIL_FILE_PATH = _env("MAIL_FILE_PATH", str(Path(INSTANCE_PATH) / "mail"))
# Sender of every mail the CMS sends.
MAIL_DEFAULT_SENDER = _env("MAIL_DEFAULT_SENDER", "cms@localhost")

# --- Sessions and cookies ----------------------------------------------------------------
# Cookies only over HTTPS; set to true in production behind TLS.
SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
# Scripts cannot read the session cookie.
SESSION_COOKIE_HTTPONLY = True
# Cross-site requests do not carry the session cookie.
SESSION_COOKIE_SAMESITE = "Lax"
# Same rules for the remember-me cookie.
REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Scripts cannot read the remember-me cookie.
REMEMBER_COOKIE_HTTPONLY = True
# Cross-site requests do not carry the remember-me cookie.
REMEMBER_COOKIE_SAMESITE = "Lax"

# --- CSRF (Flask-WTF) --------------------------------------------------------------------
# Every POST must carry a CSRF token; Flask-Security and Flask-Admin rely on this check.
WTF_CSRF_CHECK_DEFAULT = True
# A form token is valid this long (seconds); None ties it to the session instead.
WTF_CSRF_TIME_LIMIT = None

# --- Accounts (Flask-Security-Too) -------------------------------------------------------
# Keyed salt for password hashing and tokens; generated into the instance folder when unset.
SECURITY_PASSWORD_SALT = _env("SECURITY_PASSWORD_SALT")
# Passwords are stored as bcrypt hashes (HMAC-ed first, so any length works).
SECURITY_PASSWORD_HASH = "bcrypt"  # noqa: S105  (a scheme name, not a password)
# Shortest password accepted.
SECURITY_PASSWORD_LENGTH_MIN = 12
# All account pages live under this prefix (/account/login, /account/register, ...).
SECURITY_URL_PREFIX = "/account"
# Visitors may create reader accounts.
SECURITY_REGISTERABLE = True
# New accounts must confirm their e-mail address before logging in.
SECURITY_CONFIRMABLE = True
# Forgot/reset password by mail.
SECURITY_RECOVERABLE = True
# Logged-in users may change their password.
SECURITY_CHANGEABLE = True
# Record login times, IPs and counts.
SECURITY_TRACKABLE = True
# Login, registration and reset answer alike whether or not an account exists.
SECURITY_RETURN_GENERIC_RESPONSES = True
# Mail the confirmation link on registration.
SECURITY_SEND_REGISTER_EMAIL = True
# Where users land after login: staff go on to the dashboard from there.
SECURITY_POST_LOGIN_VIEW = "/account/"
# Where users land after logout.
SECURITY_POST_LOGOUT_VIEW = "/"
# Where users land after confirming their e-mail: the login page.
SECURITY_POST_CONFIRM_VIEW = "/account/login"
# Where users land after registering.
SECURITY_POST_REGISTER_VIEW = "/account/login"
# Where users land after a password reset.
SECURITY_POST_RESET_VIEW = "/account/login"
# Confirmation links expire.
SECURITY_CONFIRM_EMAIL_WITHIN = timedelta(days=3)
# Reset links expire.
SECURITY_RESET_PASSWORD_WITHIN = timedelta(hours=2)
# Offline machines cannot check mail domains over DNS; set true to check deliverability.
SECURITY_EMAIL_VALIDATOR_ARGS = {"check_deliverability": _env_bool("CHECK_EMAIL_DNS", False)}
# Sessions only: the dashboard does not accept API tokens.
SECURITY_API_ENABLED_METHODS = ["session"]

# --- Languages (Flask-Babel) -------------------------------------------------------------
# Languages the interface is offered in; the first is the default.
LANGUAGES = _env_list("LANGUAGES", ["en", "de"])
# Fallback language.
BABEL_DEFAULT_LOCALE = LANGUAGES[0]
# Times are stored in UTC and shown in this zone.
BABEL_DEFAULT_TIMEZONE = _env("TIMEZONE", "UTC")
# The catalogs at the top level of the project.
BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")

# --- Public site -------------------------------------------------------------------------
# Posts on each page of a list.
POSTS_PER_PAGE = int(_env("POSTS_PER_PAGE", "10"))
# How long a shared preview link of an unpublished post keeps working.
PREVIEW_LINK_MAX_AGE = timedelta(hours=int(_env("PREVIEW_LINK_HOURS", "72")))
