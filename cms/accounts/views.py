"""Views of the accounts blueprint."""

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_security import auth_required, current_user

from cms.accounts import bp
from cms.accounts.forms import TimezoneForm
from cms.extensions import db
from cms.services import timezones
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


@bp.route("/account/settings", methods=("GET", "POST"))
@auth_required("session")
def settings():
    """Let a person choose the time zone times are shown and typed in."""
    form = TimezoneForm(timezone=current_user.timezone or "")
    if form.validate_on_submit():
        current_user.timezone = form.timezone.data or ""
        db.session.commit()
        flash(
            _(
                "Saved. Times are now shown in %(zone)s.",
                zone=timezones.zone_name_of(current_user),
            ),
            "success",
        )
        return redirect(url_for("accounts.settings"), 303)
    status = 400 if form.is_submitted() else 200
    zone = timezones.zone_name_of(current_user)
    return render_template("accounts/settings.html", form=form, zone=zone), status
