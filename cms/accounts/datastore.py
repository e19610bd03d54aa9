"""Flask-Security wiring: our models, default role and mail."""

from flask import Flask, current_app
from flask_login import user_logged_out
from flask_security import (
    SQLAlchemyUserDatastore,
    auth_required,
    current_user,
    tf_disabled,
    tf_profile_changed,
)

from cms.accounts.forms import CmsLoginForm, CmsVerifyForm, EvenSendConfirmationForm
from cms.extensions import db, security
from cms.models import Role, User
from cms.services import audit
from cms.services.roles import READER, has_any_role
from cms.services.twofactor import (
    forget_recovery_codes,
    give_first_recovery_codes,
    has_two_factor,
    required_roles,
)


class UserDatastore(SQLAlchemyUserDatastore):
    """The stock datastore, but new accounts without roles become readers."""

    def create_user(self, **kwargs):
        """Create a user; self-registered visitors get the reader role and nothing more."""
        kwargs.setdefault("roles", [READER])
        return super().create_user(**kwargs)


user_datastore = UserDatastore(db, User, Role)


def init_security(app: Flask) -> None:
    """Attach Flask-Security-Too to the app."""
    security.init_app(
        app,
        datastore=user_datastore,
        send_confirmation_form=EvenSendConfirmationForm,
        login_form=CmsLoginForm,
        verify_form=CmsVerifyForm,
    )
    user_logged_out.connect(end_sessions_on_logout, app)
    # Logins, failed logins, logouts, password and two-factor changes go to the audit log.
    audit.connect_account_signals(app)
    require_fresh_login(app)
    security.tf_setup_context_processor(two_factor_setup_context)
    tf_profile_changed.connect(give_first_recovery_codes, app)
    tf_disabled.connect(forget_recovery_codes, app)


def two_factor_setup_context() -> dict:
    """Tell the two-factor setup page whether the user's role makes two-factor mandatory."""
    roles = required_roles()
    return {
        "two_factor_mandatory": bool(roles) and has_any_role(current_user, *roles),
        "primary_method_set": has_two_factor(current_user),
    }


# Pages that change how a person logs in. Flask-Security already asks for a fresh login on
# two-factor setup, recovery codes and change-email, but not on change-password.
FRESH_LOGIN_ENDPOINTS = ("security.change_password",)


def require_fresh_login(app: Flask) -> None:
    """Send a login older than SECURITY_FRESHNESS to the re-authentication page first."""
    for endpoint in FRESH_LOGIN_ENDPOINTS:
        view = app.view_functions.get(endpoint)
        if view is None:
            continue
        app.view_functions[endpoint] = auth_required(
            lambda: current_app.config["SECURITY_API_ENABLED_METHODS"],
            within=lambda: current_app.config["SECURITY_FRESHNESS"],
            grace=lambda: current_app.config["SECURITY_FRESHNESS_GRACE_PERIOD"],
        )(view)


def end_sessions_on_logout(app: Flask, user, **extra) -> None:
    """Give the user a new uniquifier, so a session cookie copied before logout is dead.

    Sessions live in signed cookies: without this, a copy made before logout stays valid.
    Flask-Security's logout view does not commit, so this commits its own change.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return
    user_datastore.set_uniquifier(user)
    db.session.commit()
