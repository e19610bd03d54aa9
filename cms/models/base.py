"""Shared pieces of every model: the metadata and UTC timestamps."""

import sqlite3
from datetime import UTC, datetime

from sqlalchemy import event
from sqlalchemy.engine import Engine

from cms.extensions import db

metadata = db.metadata


def utcnow() -> datetime:
    """Return the current time in UTC without tzinfo, as every timestamp is stored."""
    # Flask-Security stores naive UTC; all our columns follow it so times compare directly.
    return datetime.now(UTC).replace(tzinfo=None)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """Make SQLite enforce foreign keys and let readers work while a writer writes."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
