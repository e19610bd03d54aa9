"""Flask-Security wiring: our models, default role and mail."""

from flask import Flask
from flask_login import user_logged_out
from flask_security import SQLAlchemyUserDatastore

from cms.accounts.forms import EvenSendConfirmationForm
from cms.extensions import db, security
from cms.models import Role, User
from cms.services.roles import READER


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
        app, datastore=user_datastore, send_confirmation_form=EvenSendConfirmationForm
    )
    user_logged_out.connect(end_sessions_on_logout, app)


def end_sessions_on_logout(app: Flask, user, **extra) -> None:
    """Give the user a new uniquifier, so a session cookie copied before logout is dead.

    Sessions live in signed cookies: without this, a copy made before logout stays valid.
    Flask-Security's logout view does not commit, so this commits its own change.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return
    user_datastore.set_uniquifier(user)
    db.session.commit()
