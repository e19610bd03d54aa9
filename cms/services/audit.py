"""The audit log: record who did what, when and from where.

`record()` only adds the event to the session, so it commits (or rolls back) together with the
change it describes. Account events, whose changes Flask-Security commits itself, are committed
at the end of their request by `commit_pending` (see cms/accounts/datastore.py).
"""

import logging

from flask import g, has_request_context, request
from flask_security import current_user
from sqlalchemy import event as orm_events
from sqlalchemy.orm import Session

from cms.extensions import db
from cms.models import AuditEvent

logger = logging.getLogger(__name__)

# Longest text kept for one value in a change summary, and for a whole summary.
MAX_VALUE = 120
MAX_SUMMARY = 4000
# Form fields whose values are never written to the log, only that they changed.
SECRET_WORDS = ("password", "secret", "token", "hash", "uniquifier", "recovery", "totp")


def is_secret(name: str) -> bool:
    """Return whether a field name looks like it holds a password or another secret."""
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def shorten(text: str, limit: int = MAX_VALUE) -> str:
    """Return `text` on one line, cut to `limit` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _actor():
    """Return the logged-in user of this request, or None."""
    if not has_request_context():
        return None
    user = current_user
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user._get_current_object()


def _unwrapped(value):
    """Return the object behind a proxy such as current_user (anything else unchanged)."""
    getter = getattr(value, "_get_current_object", None)
    return getter() if callable(getter) else value


def record(action: str, obj=None, summary: str = "", actor=None, object_type=None) -> AuditEvent:
    """Add an audit event for `action` on `obj` (a model row) to the session and return it.

    The actor defaults to the logged-in user; the IP and browser come from the request.
    The caller's commit stores it with the change it describes.
    """
    actor = _unwrapped(actor) if actor is not None else _actor()
    # Flask-Security's signals may hand over current_user itself: log the user behind it.
    obj = _unwrapped(obj)
    event = AuditEvent(
        action=shorten(action, 40),
        object_type=object_type or (type(obj).__name__ if obj is not None else None),
        object_id=str(obj.id) if obj is not None and getattr(obj, "id", None) is not None else None,
        summary=(summary or "")[:MAX_SUMMARY],
        actor_id=getattr(actor, "id", None),
        actor_email=getattr(actor, "email", None),
    )
    if has_request_context():
        event.ip = (request.remote_addr or "")[:64] or None
        agent = request.headers.get("User-Agent", "")
        event.user_agent = agent[:255] or None
    db.session.add(event)
    if has_request_context():
        g.audit_pending = True
    return event


def commit_pending() -> None:
    """Commit the audit events recorded during this request that are not yet stored."""
    # Cleared by every commit (see _committed): still set means events wait, flushed or not.
    if not g.pop("audit_pending", False):
        return
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


@orm_events.listens_for(Session, "after_commit")
def _committed(session) -> None:
    """Everything recorded so far in this request is stored now."""
    if has_request_context():
        g.pop("audit_pending", None)


def describe(value) -> str:
    """Return a form value as short text for a change summary."""
    if value is None:
        return "∅"
    if isinstance(value, list | tuple | set):
        return "[" + ", ".join(sorted(describe(item) for item in value)) + "]"
    return shorten(value)


def form_changes(form, is_created: bool) -> list[tuple[str, str, str]]:
    """Return (field, old, new) for every field whose submitted value differs from the stored.

    Secret fields are reported as changed with no values, and only when something was typed.
    """
    changes = []
    for field in form:
        name = field.name
        if name == "csrf_token" or field.type in ("SubmitField", "FileField", "CSRFTokenField"):
            continue
        if is_secret(name):
            if field.data:
                changes.append((name, "", ""))
            continue
        old = None if is_created else field.object_data
        new = field.data
        if _normalise(old) == _normalise(new):
            continue
        changes.append((name, describe(old), describe(new)))
    return changes


def _normalise(value):
    """Return a value in a form that compares equal when nothing really changed."""
    if value in (None, ""):
        return None
    if isinstance(value, list | tuple | set):
        return sorted(str(item) for item in value) or None
    return str(value)


def format_changes(changes) -> str:
    """Return changes as `field: old -> new` lines."""
    lines = []
    for name, old, new in changes:
        lines.append(f"{name}: changed" if old == new == "" else f"{name}: {old} -> {new}")
    return "\n".join(lines)


# --- Account events (Flask-Security and Flask-Login signals) ---------------------------------

# Responses of a login POST that mean "not logged in": the form shown again, or a JSON error.
FAILED_LOGIN_STATUSES = (400, 401)


def connect_account_signals(app) -> None:
    """Log logins, failed logins, logouts, password and two-factor changes of `app`."""
    from flask_login import user_logged_out
    from flask_security import signals

    signals.user_authenticated.connect(_logged_in, app)
    signals.user_failed_authn.connect(_login_failed, app)
    user_logged_out.connect(_logged_out, app)
    signals.password_reset.connect(_password_reset, app)
    signals.password_changed.connect(_password_changed, app)
    signals.tf_profile_changed.connect(_two_factor_changed, app)
    signals.tf_disabled.connect(_two_factor_disabled, app)
    app.after_request(_after_request)


def _logged_in(app, user, authn_via=None, **extra) -> None:
    """Log a login (not the silent re-login that follows a password change)."""
    via = list(authn_via or [])
    if has_request_context():
        g.audit_login_done = True
    if "change" in via:
        return
    record("login", user, f"via: {', '.join(via)}" if via else "", actor=user)


def _login_failed(app, user, auth_type="password", tfa=False, **extra) -> None:
    """Log a wrong password (or code) for an existing account."""
    if has_request_context():
        g.audit_login_done = True
    what = f"{auth_type} (second factor)" if tfa else auth_type
    record("login_failed", user, f"wrong {what}", actor=user)


def _logged_out(app, user=None, **extra) -> None:
    """Log a logout."""
    if user is None or not getattr(user, "is_authenticated", False):
        return
    record("logout", user, actor=user)


def _password_reset(app, user, **extra) -> None:
    """Log a password reset through a mailed link."""
    record("password_reset", user, "password reset by mail link", actor=user)


def _password_changed(app, user, **extra) -> None:
    """Log a password change by its owner."""
    record("password_change", user, "password changed", actor=user)


def _two_factor_changed(app, user, method=None, **extra) -> None:
    """Log a new or changed two-factor method."""
    record("two_factor_change", user, f"method: {method}" if method else "", actor=user)


def _two_factor_disabled(app, user, **extra) -> None:
    """Log two-factor being switched off."""
    record("two_factor_change", user, "two-factor disabled", actor=user)


def _after_request(response):
    """Log login attempts no signal reports (unknown e-mail, inactive or unconfirmed account),
    then commit the account events recorded during this request."""
    if (
        request.endpoint == "security.login"
        and request.method == "POST"
        and g.get("csrf_valid", False)
        and not g.get("audit_login_done", False)
        and (
            response.status_code in FAILED_LOGIN_STATUSES
            or (response.status_code == 200 and response.mimetype == "text/html")
        )
    ):
        payload = request.get_json(silent=True) if request.is_json else None
        email = (payload or {}).get("email") if isinstance(payload, dict) else None
        email = email if isinstance(email, str) else request.form.get("email", "")
        record("login_failed", None, f"email: {shorten(email, 255)}", object_type="User")
    if response.status_code < 500:
        try:
            commit_pending()
        except Exception:
            logger.exception("could not store the audit events of this request")
    return response
