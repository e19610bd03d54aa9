"""Shared pieces of every model: the metadata and UTC timestamps."""

import sqlite3
from datetime import UTC, datetime

from flask import has_request_context, request
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
        # The driver's own BEGIN is turned off; _sqlite_begin below says which one to use.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


# Requests that may write: on SQLite they take the write lock when their transaction starts.
WRITING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection) -> None:
    """Start SQLite transactions of writing requests with the write lock already held.

    A deferred transaction that read a row and then writes fails at once ("database is
    locked") when another writer went first. BEGIN IMMEDIATE makes writers queue instead, so
    the second of two racing saves reads the first one's result and is refused cleanly as
    stale. Readers are not blocked (WAL). PostgreSQL needs none of this.
    """
    if connection.dialect.name != "sqlite":
        return
    writing = has_request_context() and request.method in WRITING_METHODS
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")
