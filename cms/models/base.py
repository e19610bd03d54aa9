"""Shared pieces of every model: the metadata, UTC timestamps, and SQLite's write lock."""

import re
import sqlite3
from datetime import UTC, datetime

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

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
        # The driver's own BEGIN is turned off; _sqlite_begin below issues ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


# --- SQLite: the write lock only for the write phase of a transaction ----------------------
#
# SQLite has one writer at a time. Every transaction starts deferred (a read snapshot, no
# lock), so reading requests never queue behind writers and never make writers queue. Just
# before a transaction's first write, the snapshot is ended and the transaction starts again
# with BEGIN IMMEDIATE: writers queue for the lock (busy_timeout) instead of failing, and the
# write runs against the newest data. Nothing is lost by the restart, as nothing was written
# yet; what was read before it may be outdated, which is what the version checks of the writes
# are for (UPDATE ... WHERE version = ..., unique keys): a stale save is refused as usual.
# The slow work of a save (rendering, diffs, image work) belongs before the first write, so
# the lock is held only for the short write phase. PostgreSQL needs none of this.

# Connection.info keys: whether this transaction holds the write lock (None: no transaction
# of ours), and the connection's change counter when the transaction started.
HOLDS_WRITE_LOCK = "cms_sqlite_write_lock"
CHANGES_AT_BEGIN = "cms_sqlite_changes_at_begin"
# Statements that never write; anything else (INSERT, UPDATE, DELETE, SAVEPOINT, DDL...) takes
# the write lock first. A savepoint does too: the restart would end it.
READ_ONLY_STATEMENTS = frozenset(
    {"SELECT", "PRAGMA", "EXPLAIN", "VALUES", "BEGIN", "COMMIT", "END", "ROLLBACK", "RELEASE"}
)
# A WITH statement (common table expressions) writes only through one of these keywords.
WRITING_KEYWORD = re.compile(r"\b(?:INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def _first_word(statement: str) -> str:
    """Return the first keyword of an SQL statement, upper-cased."""
    words = statement.lstrip(" \t\r\n(").split(None, 1)
    return words[0].upper() if words else ""


def may_write(statement: str) -> bool:
    """Return whether an SQL statement may write (and so needs SQLite's write lock)."""
    word = _first_word(statement)
    if word == "WITH":
        # Its text holds no values (they are bound parameters): no such keyword, no write.
        return WRITING_KEYWORD.search(statement) is not None
    return word not in READ_ONLY_STATEMENTS


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection: Connection) -> None:
    """Start every SQLite transaction deferred: a read snapshot, without the write lock."""
    if connection.dialect.name != "sqlite":
        return
    connection.info[HOLDS_WRITE_LOCK] = False
    connection.info[CHANGES_AT_BEGIN] = connection.connection.dbapi_connection.total_changes
    connection.exec_driver_sql("BEGIN")


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _sqlite_end(connection: Connection) -> None:
    """Forget the ended transaction's lock state."""
    connection.info.pop(HOLDS_WRITE_LOCK, None)


@event.listens_for(Engine, "before_cursor_execute")
def _sqlite_lock_before_first_write(conn, cursor, statement, parameters, context, executemany):
    """Take the write lock just before the first statement of a transaction that may write."""
    if conn.info.get(HOLDS_WRITE_LOCK) is False and may_write(statement):
        _take_write_lock(conn, cursor)


def _take_write_lock(conn: Connection, cursor) -> None:
    """End the read snapshot of this deferred transaction and begin again holding the lock.

    Raises sqlite3.OperationalError ("database is locked") when the lock stays taken for the
    busy timeout; the connection is then in a deferred transaction again, with nothing lost.
    """
    dbapi_connection = conn.connection.dbapi_connection
    if dbapi_connection.total_changes != conn.info.get(CHANGES_AT_BEGIN):
        # Something wrote already (so the lock is held): never end that transaction.
        conn.info[HOLDS_WRITE_LOCK] = True
        return
    cursor.execute("COMMIT")
    try:
        cursor.execute("BEGIN IMMEDIATE")
    except sqlite3.Error:
        cursor.execute("BEGIN")
        raise
    conn.info[HOLDS_WRITE_LOCK] = True


def begin_writing(session: Session) -> None:
    """Start the write phase of the session's transaction now (SQLite: take the write lock).

    For read-then-write checks that must see the newest data, e.g. "is this name taken?"
    right before the INSERT that takes it. Do the slow work before calling this: the lock
    is held until the session commits or rolls back. Nothing happens on PostgreSQL.
    """
    conn = session.connection()
    if conn.info.get(HOLDS_WRITE_LOCK) is not False:
        return
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        _take_write_lock(conn, cursor)
    except sqlite3.OperationalError as error:
        raise OperationalError("BEGIN IMMEDIATE", None, error) from error
    finally:
        cursor.close()
