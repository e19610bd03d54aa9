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
# Public address of the site, e.g. https://www.example.org: every link that leaves the site
# (mail, preview links, canonical and social-image URLs) names it, never a request's Host.
SITE_URL = _env("SITE_URL")
# Public host name the site answers to (SITE_URL sets it); unset with SITE_URL unset means only
# the loopback names 127.0.0.1, localhost and [::1] (any port) are answered.
SERVER_NAME = _env("SERVER_NAME")
# Host names accepted in the Host header (Flask 3.1); empty means SERVER_NAME, else loopback.
TRUSTED_HOSTS = _env_list("TRUSTED_HOSTS") or None
# Scheme for links built outside a request (mail, CLI); SITE_URL's scheme when it is set.
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
# Where uploaded files are kept: "local" (in UPLOAD_FOLDER) or "s3" (in the bucket S3_BUCKET).
STORAGE_BACKEND = _env("STORAGE_BACKEND", "local")
# Where uploaded files are stored with the local backend; created on first start.
UPLOAD_FOLDER = _env("UPLOAD_FOLDER", str(BASE_DIR / "uploads"))
# Bucket for the s3 backend; credentials come from AWS_ACCESS_KEY_ID etc. (boto3's usual chain).
S3_BUCKET = _env("S3_BUCKET")
# Address of an S3-compatible server, e.g. http://127.0.0.1:9000; unset means Amazon S3.
S3_ENDPOINT_URL = _env("S3_ENDPOINT_URL")
# Region of the bucket; unset leaves it to boto3 (AWS_DEFAULT_REGION, ~/.aws/config).
S3_REGION = _env("S3_REGION")
# Prefix of every object key in the bucket, e.g. "uploads/"; empty stores at the top.
S3_PREFIX = _env("S3_PREFIX", "")
# Largest upload in bytes; bigger request bodies get 413 before they are read.
MAX_CONTENT_LENGTH = int(_env("MAX_UPLOAD_BYTES", str(16 * 1024 * 1024)))
# Images with more pixels than this are refused before they are decoded.
MAX_IMAGE_PIXELS = int(_env("MAX_IMAGE_PIXELS", str(40_000_000)))
# Longest side of the thumbnails shown in the dashboard, in pixels.
THUMBNAIL_SIZE = int(_env("THUMBNAIL_SIZE", "160"))
# Most memory an image may take decoded (frames × width × height × bands); more is refused.
MAX_IMAGE_DECODED_BYTES = int(_env("MAX_IMAGE_DECODED_BYTES", str(128 * 1024**2)))
# Most frames an animated image (GIF, PNG, WebP) may have.
MAX_IMAGE_FRAMES = int(_env("MAX_IMAGE_FRAMES", "1000"))
# Address-space limit in bytes of the child process that decodes an image (uploads, renditions).
IMAGE_WORKER_MEMORY = int(_env("IMAGE_WORKER_MEMORY", str(1024**3)))
# Seconds the child process that decodes an image may take before it is killed.
IMAGE_WORKER_TIMEOUT = float(_env("IMAGE_WORKER_TIMEOUT", "30"))
# Most files one person may upload (editors and admins too); 0 means no limit.
MAX_FILES_PER_USER = int(_env("MAX_FILES_PER_USER", "1000"))
# Most bytes one person's uploads may take (each stored file counted once; editors and admins
# too); 0 means no limit.
MAX_UPLOAD_BYTES_PER_USER = int(_env("MAX_UPLOAD_BYTES_PER_USER", str(1024**3)))
# Widths (pixels) of the responsive copies of library images in posts, in WebP and the original
# format; only those smaller than the original are made, once, on first request.
RENDITION_WIDTHS = [
    int(width) for width in _env_list("RENDITION_WIDTHS", ["320", "640", "960", "1280", "1920"])
]
# Crops ("WIDTHxHEIGHT") made around an image's focal point: square thumbnails, social cards.
RENDITION_CROPS = _env_list("RENDITION_CROPS", ["160x160", "320x320", "1200x630"])

# --- Fetching from other hosts (external images, video embeds) ----------------------------
# Networks (CIDR, comma-separated) the server may fetch from although they are private or
# loopback, e.g. an intranet image server; empty: only public addresses are fetched.
FETCH_ALLOWED_NETWORKS = _env_list("FETCH_ALLOWED_NETWORKS", [])
# Seconds one fetch may take in all (redirects included), and to connect.
FETCH_TIMEOUT = float(_env("FETCH_TIMEOUT", "10"))
FETCH_CONNECT_TIMEOUT = float(_env("FETCH_CONNECT_TIMEOUT", "3"))
# Images from other hosts in a post: "import" copies them into the file library when the post
# is saved (those that cannot be fetched are shown as links); "allow" leaves them where they
# are and lets readers' browsers load them from there (the public CSP then allows https images).
EXTERNAL_IMAGES = _env("EXTERNAL_IMAGES", "import")
# Most external images imported by one save (the rest stay links until the next save).
EXTERNAL_IMAGES_PER_SAVE = int(_env("EXTERNAL_IMAGES_PER_SAVE", "10"))
# Seconds one save may spend fetching in all; what is left is imported at the next save.
EXTERNAL_IMPORT_SECONDS = float(_env("EXTERNAL_IMPORT_SECONDS", "30"))
# Largest external image (or video thumbnail) fetched, in bytes; the upload limit applies too.
EXTERNAL_IMAGE_MAX_BYTES = int(_env("EXTERNAL_IMAGE_MAX_BYTES", str(10 * 1024 * 1024)))

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
# Passwords must also be hard to guess: zxcvbn scores them 0-4; below this score they are refused
# (registration, change, reset, the dashboard's new-password field and `flask cms create-*`).
SECURITY_PASSWORD_COMPLEXITY_CHECKER = "zxcvbn"  # noqa: S105  (a checker name, not a password)
# Lowest zxcvbn score accepted (3: "safely unguessable").
SECURITY_ZXCVBN_MINIMUM_SCORE = int(_env("PASSWORD_MINIMUM_SCORE", "3"))
# Checking passwords against the haveibeenpwned.com breach list needs the internet: off by
# default; set true (with PASSWORD_BREACHED_COUNT) where the server may reach that site.
SECURITY_PASSWORD_CHECK_BREACHED = _env_bool("PASSWORD_CHECK_BREACHED", False)
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
# Logged-in users may change their e-mail address; the new address confirms it by mail.
SECURITY_CHANGE_EMAIL = True
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

# --- Two-factor and fresh login (Flask-Security-Too) -------------------------------------
# Accounts may add a second factor: a code from an authenticator app after the password.
SECURITY_TWO_FACTOR = True
# Authenticator apps only (TOTP with a QR code); no codes by SMS or e-mail.
SECURITY_TWO_FACTOR_ENABLED_METHODS = ["authenticator"]
# Ask for the code at every login, not only on a new device.
SECURITY_TWO_FACTOR_ALWAYS_VALIDATE = True
# Losing the phone does not fall back to a code by e-mail (the mailbox is no second factor).
SECURITY_TWO_FACTOR_RESCUE_EMAIL = False
# Where "Contact Administrator" requests from people who lost their device are mailed.
SECURITY_TWO_FACTOR_RESCUE_MAIL = _env("TWO_FACTOR_RESCUE_MAIL", MAIL_DEFAULT_SENDER)
# Roles that must set up two-factor before they reach the dashboard, e.g. "admin,editor";
# "none" requires it of nobody.
TWO_FACTOR_REQUIRED_ROLES = [
    role for role in _env_list("TWO_FACTOR_REQUIRED_ROLES", ["admin"]) if role.lower() != "none"
]
# Name shown in the authenticator app beside the account.
SECURITY_TOTP_ISSUER = SITE_NAME
# Key that encrypts TOTP secrets in the database ({"1": key}); generated into the instance
# folder (mode 0600) when TOTP_SECRET is unset.
SECURITY_TOTP_SECRETS = {"1": _env("TOTP_SECRET")} if _env("TOTP_SECRET") else None
# After the code is confirmed: the setup's third step (save the recovery codes), then onwards.
SECURITY_TWO_FACTOR_POST_SETUP_VIEW = "accounts.two_factor_done"
# One-time recovery codes for logging in without the phone (the first ones are made at setup).
SECURITY_MULTI_FACTOR_RECOVERY_CODES = True
# How many recovery codes are generated at a time.
SECURITY_MULTI_FACTOR_RECOVERY_CODES_N = 8
# Fernet key that encrypts the stored recovery codes; generated into the instance folder
# (mode 0600) when RECOVERY_CODES_KEY is unset.
SECURITY_MULTI_FACTOR_RECOVERY_CODES_KEYS = (
    [_env("RECOVERY_CODES_KEY")] if _env("RECOVERY_CODES_KEY") else None
)
# Changing password, e-mail or two-factor needs a login (or re-authentication) this recent.
SECURITY_FRESHNESS = timedelta(minutes=int(_env("FRESHNESS_MINUTES", "15")))
# After a fresh check passes, further sensitive pages are open this long without asking again.
SECURITY_FRESHNESS_GRACE_PERIOD = timedelta(minutes=5)

# --- Throttling (Flask-Limiter) ----------------------------------------------------------
# Limits are "N per minute; M per hour" strings; only POSTs count, each endpoint separately.
# Set false to switch every limit off (the test suite does; its throttling tests turn it on).
RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
# Redis shared by every worker, e.g. redis://127.0.0.1:6379/0; unset keeps counts in memory.
REDIS_URL = _env("REDIS_URL")
# Where the counts live: Redis when REDIS_URL is set (needed with several workers), else memory.
RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", REDIS_URL or "memory://")
# Prefix of the counters' keys in Redis (env RATELIMIT_KEY_PREFIX), to share one Redis.
RATELIMIT_STORAGE_OPTIONS = {"key_prefix": _env("RATELIMIT_KEY_PREFIX", "cms-limits")}
# Send X-RateLimit-* headers and Retry-After (in seconds) with throttled answers.
RATELIMIT_HEADERS_ENABLED = True
# Login attempts per client IP.
RATELIMIT_LOGIN = _env("RATELIMIT_LOGIN", "10 per minute; 50 per hour")
# Login attempts per account (the e-mail typed in), from all IPs together.
RATELIMIT_LOGIN_ACCOUNT = _env("RATELIMIT_LOGIN_ACCOUNT", "5 per minute; 20 per hour")
# Registrations per client IP.
RATELIMIT_REGISTER = _env("RATELIMIT_REGISTER", "5 per minute; 20 per hour")
# Registrations per e-mail address (each one mails that address).
RATELIMIT_REGISTER_ACCOUNT = _env("RATELIMIT_REGISTER_ACCOUNT", "3 per minute; 10 per hour")
# Password-reset requests per client IP.
RATELIMIT_RESET = _env("RATELIMIT_RESET", "5 per minute; 20 per hour")
# Password-reset requests per e-mail address (each one mails that address).
RATELIMIT_RESET_ACCOUNT = _env("RATELIMIT_RESET_ACCOUNT", "3 per minute; 10 per hour")
# Confirmation-mail resends per client IP.
RATELIMIT_CONFIRM = _env("RATELIMIT_CONFIRM", "5 per minute; 20 per hour")
# Confirmation-mail resends per e-mail address.
RATELIMIT_CONFIRM_ACCOUNT = _env("RATELIMIT_CONFIRM_ACCOUNT", "3 per minute; 10 per hour")
# Files uploaded to the dashboard per client IP; each file of a multi-file upload counts.
RATELIMIT_UPLOAD = _env("RATELIMIT_UPLOAD", "60 per minute; 600 per hour")
# Files uploaded to the dashboard per logged-in user; each file of a multi-file upload counts.
RATELIMIT_UPLOAD_ACCOUNT = _env("RATELIMIT_UPLOAD_ACCOUNT", "30 per minute; 300 per hour")
# Editor forms kept for their writer after the session ended, per client IP.
RATELIMIT_RESCUE = _env("RATELIMIT_RESCUE", "10 per hour; 30 per day")
# The post editor's background saves (autosave, discard, alt text), per client IP.
RATELIMIT_EDITOR = _env("RATELIMIT_EDITOR", "120 per minute; 3000 per hour")
# The same, per user (an autosave comes every few seconds of typing at most).
RATELIMIT_EDITOR_ACCOUNT = _env("RATELIMIT_EDITOR_ACCOUNT", "60 per minute; 1500 per hour")
# Second-factor and recovery code attempts per IP (the codes are short).
RATELIMIT_SECOND_FACTOR = _env("RATELIMIT_SECOND_FACTOR", "10 per minute; 30 per hour")
# Second-factor and recovery code attempts per account that passed the password step.
RATELIMIT_SECOND_FACTOR_ACCOUNT = _env(
    "RATELIMIT_SECOND_FACTOR_ACCOUNT", "5 per minute; 15 per hour"
)
# Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are trusted; 0 means
# none, so a client cannot fake its IP. Set 1 behind one nginx or load balancer.
TRUSTED_PROXY_COUNT = int(_env("TRUSTED_PROXY_COUNT", "0"))

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
# Longest Markdown body of a post or page, in characters (forms and preview refuse more).
MAX_BODY_CHARS = int(_env("MAX_BODY_CHARS", "200000"))
# Revisions kept per post or page, newest first; 0 keeps every one (nothing is pruned).
REVISIONS_KEEP = int(_env("REVISIONS_KEEP", "0"))
# How long "someone else is editing this" shows after their last sign of life.
EDIT_PRESENCE_SECONDS = int(_env("EDIT_PRESENCE_SECONDS", "90"))
# How long text sent after the session ended is kept for its writer to log in again.
RESCUED_FORM_MAX_AGE = timedelta(hours=int(_env("RESCUED_FORM_HOURS", "24")))
# How long a writer's autosaved, unsaved form is offered for restoring (env AUTOSAVE_DAYS).
AUTOSAVE_MAX_AGE = timedelta(days=int(_env("AUTOSAVE_DAYS", "30")))
# Whether authors may create tags from the post form (editors and admins always may).
AUTHORS_MAY_CREATE_TAGS = _env_bool("AUTHORS_MAY_CREATE_TAGS", False)

# --- search ---
# Snowball stemmers (and, on PostgreSQL, text search configurations) that words are indexed
# and searched with: a word matches any of its stems. Run `flask cms reindex` after a change.
SEARCH_LANGUAGES = _env_list("SEARCH_LANGUAGES", ["english", "german"])
# Only the newest this many matches of a query are ranked and counted (the page then says
# "more than"): a word found in half of 100,000 posts costs what a rarer one does.
SEARCH_CANDIDATES = int(_env("SEARCH_CANDIDATES", "200"))

# --- feeds and search engines ---
# What a feed entry carries: "full" (the whole body) or "excerpt" (the summary only).
FEED_CONTENT = _env("FEED_CONTENT", "full")
# Posts per feed (the site's, each tag's, each author's), newest first.
FEED_ITEMS = int(_env("FEED_ITEMS", "20"))
# Addresses per sitemap file (at most 50,000, the protocol's limit); the index lists the files.
# 1,000 (Yoast's size; WordPress uses 2,000): a file costs the same on any archive, and one of
# 50,000 (~6 MB) raised its worker's memory by ~40 MiB while it was built.
SITEMAP_SHARD_SIZE = int(_env("SITEMAP_SHARD_SIZE", "1000"))
# A staging site: robots.txt asks every crawler to stay away ("Disallow: /").
ROBOTS_DISALLOW_ALL = _env_bool("ROBOTS_DISALLOW_ALL", False)
# One line about the site: the header, the home page's description and the feeds' subtitle.
SITE_DESCRIPTION = _env("SITE_DESCRIPTION", "")
# The browser icon: a file name in the static folder (a THEME_FOLDER's static folder wins), or
# an absolute file path; also served at /favicon.ico. Empty: no icon.
FAVICON = _env("FAVICON", "favicon.ico")
# The 180x180 PNG phones put on the home screen (the same rules); also at /apple-touch-icon.png.
TOUCH_ICON = _env("TOUCH_ICON", "apple-touch-icon.png")

# --- HTTP caching, compression and languages in addresses ---
# Seconds a browser may keep a readers' page before asking again (Cache-Control max-age).
PUBLIC_MAX_AGE = int(_env("PUBLIC_MAX_AGE", "60"))
# Seconds a shared cache (a CDN, a proxy) may keep it (s-maxage).
PUBLIC_S_MAXAGE = int(_env("PUBLIC_S_MAXAGE", "600"))
# Seconds a cache may go on serving a page that has expired while it fetches a fresh one.
PUBLIC_STALE_WHILE_REVALIDATE = int(_env("PUBLIC_STALE_WHILE_REVALIDATE", "60"))
# Seconds a "not found" (404, 410) readers' page may be kept; other errors are never kept.
PUBLIC_ERROR_MAX_AGE = int(_env("PUBLIC_ERROR_MAX_AGE", "10"))
# Encodings offered, best first: brotli, then gzip (each only when the client asks for it).
COMPRESS_ALGORITHM = ["br", "gzip"]
# The same for streamed answers (static files).
COMPRESS_ALGORITHM_STREAMING = ["br", "gzip"]
# Compression levels: gzip 1-9, brotli 0-11 (4 is fast and still smaller than gzip 6).
COMPRESS_LEVEL = int(_env("COMPRESS_LEVEL", "6"))
COMPRESS_BR_LEVEL = int(_env("COMPRESS_BR_LEVEL", "4"))
# Bodies shorter than this many bytes are sent as they are.
COMPRESS_MIN_SIZE = 500
# Types compressed; uploaded files and renditions never are (cms.web).
COMPRESS_MIMETYPES = [
    "text/html",
    "text/css",
    "text/plain",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/xml",
    "text/xml",
    "application/atom+xml",
    "application/rss+xml",
    "image/svg+xml",
]

# --- page cache --------------------------------------------------------------------------
# Whole public pages kept for anonymous readers and purged exactly when what they show changes
# (cms/page_cache_app.py, cms/services/page_cache.py): "on" or "off".
PAGE_CACHE = _env("PAGE_CACHE", "on")
# Where pages are kept: "filesystem" (PAGE_CACHE_DIR, shared by the workers of one host),
# "redis" (REDIS_URL, shared by every host) or "simple" (one process: tests); empty picks redis
# when REDIS_URL is set, else filesystem.
PAGE_CACHE_TYPE = _env("PAGE_CACHE_TYPE", "")
# Folder of the filesystem cache; empty means <INSTANCE_PATH>/cache.
PAGE_CACHE_DIR = _env("PAGE_CACHE_DIR", "")
# Most files the filesystem cache keeps before it drops the oldest.
PAGE_CACHE_THRESHOLD = int(_env("PAGE_CACHE_THRESHOLD", "20000"))
# Prefix of every key in the backend (several sites may share one Redis database).
PAGE_CACHE_KEY_PREFIX = _env("PAGE_CACHE_KEY_PREFIX", "page:")
# Longest time a page is kept, in seconds; the next scheduled publication shortens it.
PAGE_CACHE_SECONDS = int(_env("PAGE_CACHE_SECONDS", "3600"))
# MiB of each worker's memory for copies of the pages it served (0: every hit reads the
# store): a hit then reads only the store's "last purge" value, not the whole page.
PAGE_CACHE_LOCAL_MIB = float(_env("PAGE_CACHE_LOCAL_MIB", "4"))
# Query parameters that make another copy of a page; any other parameter bypasses the cache.
PAGE_CACHE_QUERY_ARGS = _env_list("PAGE_CACHE_QUERY_ARGS", ["page", "q"])
# Paths (and everything under them) the cache never answers nor keeps.
PAGE_CACHE_BYPASS_PREFIXES = _env_list(
    "PAGE_CACHE_BYPASS_PREFIXES",
    ["/admin", "/account", "/static", "/uploads", "/media", "/preview"],
)
# Cookies whose presence bypasses the cache, besides the session and remember-me cookies.
PAGE_CACHE_BYPASS_COOKIES = _env_list("PAGE_CACHE_BYPASS_COOKIES", [])
# Vary values that do not stop a page from being kept (requests with login cookies never
# reach the cache, so Vary: Cookie is harmless); Accept-Encoding is always handled.
PAGE_CACHE_IGNORE_VARY = _env_list("PAGE_CACHE_IGNORE_VARY", ["Cookie"])
# Largest page kept, in bytes.
PAGE_CACHE_MAX_BYTES = int(_env("PAGE_CACHE_MAX_BYTES", str(10 * 1024 * 1024)))
# Seconds one request may hold the right to render a page while others wait for it.
PAGE_CACHE_LOCK_SECONDS = int(_env("PAGE_CACHE_LOCK_SECONDS", "10"))
# Seconds the waiting requests sleep between looks for the page being rendered.
PAGE_CACHE_POLL_SECONDS = float(_env("PAGE_CACHE_POLL_SECONDS", "0.02"))
# Seconds an address that cannot be kept (no dependencies, a cookie, not 200) goes straight
# to the app before the cache tries again.
PAGE_CACHE_PASS_SECONDS = int(_env("PAGE_CACHE_PASS_SECONDS", "60"))
# Test apps (TESTING) run without the page cache unless this is set.
PAGE_CACHE_IN_TESTS = _env_bool("PAGE_CACHE_IN_TESTS", False)
# MiB of drawn parts of the readers' pages (post cards, header, footer, a post's article)
# each worker keeps, by the values they show: no purge needed (cms/public/fragments.py).
# 0: none.
FRAGMENT_MEMO_MIB = float(_env("FRAGMENT_MEMO_MIB", "8"))

# --- theme ---------------------------------------------------------------------------------
# A folder whose templates/ and static/ win over the built-in ones (see README, "Themes");
# a theme template extends the one it replaces as "cms/<name>" (e.g. "cms/layout.html").
THEME_FOLDER = _env("THEME_FOLDER", "")
