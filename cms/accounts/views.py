"""Views of the accounts blueprint."""

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_security import auth_required, current_user

from cms.accounts import bp
from cms.extensions import db
from cms.services.roles import is_staff


@bp.get("/account/")
@auth_required("session")
def home():
    """Send staff on to the dashboard; show readers their account page."""
    if is_staff(current_user):
        return redirect(url_for("admin.index"))
    return render_template("accounts/home.html")


@bp.post("/language")
def set_language():
    """Remember the chosen interface language (on the account when logged in)."""
    code = request.form.get("language", "")
    if code not in current_app.config["LANGUAGES"]:
        flash(_("That language is not available."), "error")
        return redirect(_safe_back())
    session["locale"] = code
    if current_user.is_authenticated:
        current_user.locale = code
        db.session.commit()
    return redirect(_safe_back())


def _safe_back() -> str:
    """Return the page to go back to: a path on this site, never another host."""
    target = request.form.get("next") or request.referrer or "/"
    parts = urlsplit(target)
    if parts.netloc and parts.netloc != request.host:
        return "/"
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path + (f"?{parts.query}" if parts.query else "")
