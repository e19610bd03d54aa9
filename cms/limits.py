"""Throttling of the forms that attackers hammer: per client IP and per account.

Login, registration, password reset, confirmation resend, second-factor codes, re-authentication
and dashboard uploads each count the
POSTs they get twice: once for the client's IP address, once for the account the request is
about (the e-mail typed into the form, or the uploading user). Either count running out
answers 429 with a Retry-After header. Showing the forms (GET) is free. An upload counts
each file it carries, so one request with a hundred files spends a hundred; a request that
would go over the limit is refused whole, before anything is stored (and still spends its
count, like a refused login).

The limits are settings (RATELIMIT_LOGIN, RATELIMIT_LOGIN_ACCOUNT, ...), read at request time,
so each app uses its own. The counts live in RATELIMIT_STORAGE_URI: in memory by default,
in Redis when REDIS_URL is set, so that every worker process shares them.
"""

from dataclasses import dataclass

from flask import Flask, current_app, request, session
from flask_security import current_user

from cms.extensions import limiter


@dataclass(frozen=True)
class Rule:
    """The settings that hold an endpoint's limits, and what identifies its account."""

    ip_setting: str
    account_setting: str
    # "email": the address posted in the form; "user": the logged-in user; "pending": the
    # user who passed the password step and now owes a second factor.
    account: str
    # Count every file the request carries instead of the request (uploads).
    per_file: bool = False


RULES = {
    "security.login": Rule("RATELIMIT_LOGIN", "RATELIMIT_LOGIN_ACCOUNT", "email"),
    "security.register": Rule("RATELIMIT_REGISTER", "RATELIMIT_REGISTER_ACCOUNT", "email"),
    "security.forgot_password": Rule("RATELIMIT_RESET", "RATELIMIT_RESET_ACCOUNT", "email"),
    "security.send_confirmation": Rule("RATELIMIT_CONFIRM", "RATELIMIT_CONFIRM_ACCOUNT", "email"),
    # The Files form, its drop zone and the post editor's upload all post here.
    "files.create_view": Rule(
        "RATELIMIT_UPLOAD", "RATELIMIT_UPLOAD_ACCOUNT", "user", per_file=True
    ),
    # The editor's drop and paste uploads share the Files upload's counts (same settings).
    **{
        f"{view}.upload": Rule(
            "RATELIMIT_UPLOAD", "RATELIMIT_UPLOAD_ACCOUNT", "user", per_file=True
        )
        for view in ("posts", "pages")
    },
    # The editor's background saves: autosave, its discard, and alt text.
    **{
        f"{view}.{name}": Rule("RATELIMIT_EDITOR", "RATELIMIT_EDITOR_ACCOUNT", "user")
        for view in ("posts", "pages")
        for name in ("autosave", "autosave_discard", "alt_text")
    },
    # Six-digit codes and recovery codes fall to brute force without a limit.
    "security.two_factor_token_validation": Rule(
        "RATELIMIT_SECOND_FACTOR", "RATELIMIT_SECOND_FACTOR_ACCOUNT", "pending"
    ),
    "security.mf_recovery": Rule(
        "RATELIMIT_SECOND_FACTOR", "RATELIMIT_SECOND_FACTOR_ACCOUNT", "pending"
    ),
    "security.verify": Rule("RATELIMIT_LOGIN", "RATELIMIT_LOGIN_ACCOUNT", "user"),
}


def init_limits(app: Flask) -> None:
    """Attach Flask-Limiter and count the POSTs to the throttled endpoints."""
    limiter.init_app(app)
    if app.config.get("RATELIMIT_ENABLED", True):
        # After CSRFProtect's hook: a forged or expired form is refused before it counts.
        app.before_request(throttle)


@limiter.request_filter
def reading() -> bool:
    """Exempt what only reads (GET, HEAD, OPTIONS): no limit applies to it, so Flask-Limiter's
    check of every request stops here instead of resolving limits for each page."""
    return request.method in ("GET", "HEAD", "OPTIONS")


def throttle() -> None:
    """Count a POST to a throttled endpoint; over a limit, Flask-Limiter raises 429."""
    if request.method == "POST" and request.endpoint in RULES:
        count_attempt()


def client_ip() -> str:
    """Return the client's address (ProxyFix has applied X-Forwarded-For if it is trusted)."""
    return request.remote_addr or "unknown"


def account_key() -> str:
    """Return the account this request is about, or "" when it names none."""
    rule = RULES.get(request.endpoint or "")
    if rule is None:
        return ""
    if rule.account == "user":
        if not current_user.is_authenticated:
            return ""
        return f"user:{current_user.id}"
    if rule.account == "pending":
        # Flask-Security keeps who passed the password step in the session.
        pending = session.get("tf_user_id")
        return f"pending:{pending}" if isinstance(pending, str) else ""
    return posted_email()


def posted_email() -> str:
    """Return the e-mail address posted in the form (or JSON body), normalised."""
    value = request.form.get("email")
    if value is None and request.is_json:
        body = request.get_json(silent=True)
        value = body.get("email") if isinstance(body, dict) else None
    if not isinstance(value, str):
        return ""
    return value.strip().lower()[:320]


def ip_limit() -> str:
    """Return the per-IP limit of the current endpoint."""
    return current_app.config[RULES[request.endpoint].ip_setting]


def account_limit() -> str:
    """Return the per-account limit of the current endpoint."""
    return current_app.config[RULES[request.endpoint].account_setting]


def no_account() -> bool:
    """True when the request names no account, so only the per-IP limit applies."""
    return not account_key()


def attempt_cost() -> int:
    """Return what this request spends: 1, or for uploads the number of files (at least 1)."""
    if not RULES[request.endpoint].per_file:
        return 1
    # Every file of every field: a multi-file field holds several under one name.
    files = [item for _, item in request.files.items(multi=True) if item.filename]
    return max(1, len(files))


@limiter.limit(ip_limit, key_func=client_ip, scope="ip", cost=attempt_cost)
@limiter.limit(
    account_limit, key_func=account_key, scope="account", exempt_when=no_account, cost=attempt_cost
)
def count_attempt() -> None:
    """Spend one attempt of the current endpoint's limits (counted per endpoint and key)."""
