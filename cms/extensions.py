"""Extension objects, created unbound and attached to the app in the factory."""

import click
from flask import Flask
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_mailman import Mail
from flask_security import Security
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData

from cms.services.totp import ReplayProofTotp

# Stable constraint names, so migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class LazyMigrate:
    """Flask-Migrate, imported on first use: by `flask db ...` or flask_migrate's functions.

    Memory: Flask-Migrate imports Alembic (with Mako and Pygments, ~10 MiB a process), which
    the readers' workers never use. `app.extensions["migrate"]` stands in for Flask-Migrate's
    own entry until something reads it, and the `db` command group loads the real one.
    """

    def init_app(self, app: Flask, db: SQLAlchemy, **kwargs) -> None:
        """Register the `db` commands; keep the arguments for Flask-Migrate's init_app."""
        app.extensions["migrate"] = _PendingMigrate(app, db, kwargs)
        app.cli.add_command(_LazyDbGroup("db", help="Perform database migrations."))


class _PendingMigrate:
    """The app's migrate entry until first read: then Flask-Migrate replaces it."""

    def __init__(self, app: Flask, db: SQLAlchemy, kwargs: dict):
        self._pending = (app, db, kwargs)

    def __getattr__(self, name: str):
        # Flask-Migrate's entry has no private attributes; introspection loads nothing.
        if name.startswith("_"):
            raise AttributeError(name)
        # Memory: the readers' workers never migrate (see LazyMigrate).
        from flask_migrate import Migrate

        app, db, kwargs = self._pending
        Migrate(app, db, **kwargs)
        return getattr(app.extensions["migrate"], name)


class _LazyDbGroup(click.Group):
    """`flask db`: parsed and run by Flask-Migrate's own command group, loaded here."""

    def make_context(self, info_name, args, parent=None, **extra):
        # Memory: the readers' workers never migrate (see LazyMigrate).
        from flask_migrate.cli import db as db_commands

        return db_commands.make_context(info_name, args, parent=parent, **extra)


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = LazyMigrate()
babel = Babel()
csrf = CSRFProtect()
mail = Mail()
# Authenticator codes are remembered once used, so none is accepted twice.
security = Security(totp_cls=ReplayProofTotp)
# Throttling; cms.limits decides what is counted. Its settings are the RATELIMIT_* ones.
limiter = Limiter(key_func=get_remote_address)
