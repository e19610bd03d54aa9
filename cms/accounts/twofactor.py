"""The last step of two-factor setup and the recovery codes as a file to keep."""

from flask import Response, current_app, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_security import auth_required, current_user, url_for_security

from cms.accounts import bp
from cms.services.roles import is_staff
from cms.services.twofactor import (
    has_two_factor,
    page_before_setup,
    recovery_codes_of,
    recovery_codes_text,
)

# Showing recovery codes asks for the same fresh login as Flask-Security's own codes page.
fresh_login = auth_required(
    lambda: current_app.config["SECURITY_API_ENABLED_METHODS"],
    within=lambda: current_app.config["SECURITY_FRESHNESS"],
    grace=lambda: current_app.config["SECURITY_FRESHNESS_GRACE_PERIOD"],
)


def continue_url() -> str:
    """Return where setup ends: the dashboard page left for it, the dashboard, or the account."""
    if not is_staff(current_user):
        return url_for("accounts.home")
    return page_before_setup(url_for("admin.index"))


@bp.get("/account/tf-done")
@fresh_login
def two_factor_done():
    """Step 3 of two-factor setup (SECURITY_TWO_FACTOR_POST_SETUP_VIEW): keep the codes."""
    if not has_two_factor(current_user):
        # Flask-Security also comes here after two-factor was turned off.
        return redirect(url_for_security("two_factor_setup"))
    return render_template(
        "security/two_factor_done.html",
        recovery_codes=recovery_codes_of(current_user),
        continue_url=continue_url(),
    )


@bp.get("/account/recovery-codes.txt")
@fresh_login
def recovery_codes_file():
    """Answer the person's recovery codes as a text file to save (never kept by a cache)."""
    codes = recovery_codes_of(current_user)
    if not codes:
        return redirect(url_for_security("mf_recovery_codes"))
    site = current_app.config["SITE_NAME"]
    heading = _("Recovery codes: each one logs you in once, without your authenticator app.")
    body = recovery_codes_text(codes, site, current_user.email, heading)
    response = Response(body, mimetype="text/plain")
    response.headers["Content-Disposition"] = 'attachment; filename="recovery-codes.txt"'
    response.headers["Cache-Control"] = "no-store"
    return response
