"""Flask-Security wiring: our models, default role and mail."""

from flask import Flask
from flask_security import SQLAlchemyUserDatastore

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
    security.init_app(app, datastore=user_datastore)
