"""Keyset paging for dashboard lists: a page costs what it shows, however long the table.

A list is ordered by one sort column and the row id as tie-breaker. A page is read from where
the previous one ended (the "cursor": the edge row's sort value and id), never with OFFSET, so
page 5,000 costs what page 1 does; and no row is counted. Rows whose sort value is NULL come
last in both directions (SQLite and PostgreSQL disagree on where NULLs sort): they are read as
a second segment, ordered by id, so each part is one index range.

Cursors travel in links, signed with the app's secret key: a forged, foreign or stale cursor
(another sort, another column type) reads as "no cursor", which is the first page.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import literal, tuple_

SALT = "cms-list-cursor"
# The longest cursor read from a request; ours are far shorter.
MAX_CURSOR_CHARS = 1000
# Beyond every row id, and within the 32-bit integer of PostgreSQL's id columns.
TOP_ID = 2**31 - 1


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after (older / next) or before (newer / previous) one row."""

    value: object
    ident: int
    forward: bool = True


@dataclass
class Page:
    """The rows of one page and the cursors of its neighbours (None: there is none)."""

    rows: list
    newer: str | None = None
    older: str | None = None


def _serializer() -> URLSafeSerializer:
    """Return the signer of cursors (the app's secret key, a salt of its own)."""
    return URLSafeSerializer(current_app.secret_key, salt=SALT)


def _plain(value):
    """Return a sort value as JSON: times and dates tagged, the rest as is."""
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    return value


def _typed(raw, python_type):
    """Return a JSON sort value as the column's type; ValueError if it is not one."""
    if raw is None:
        return None
    if python_type is datetime and isinstance(raw, dict) and "t" in raw:
        return datetime.fromisoformat(raw["t"])
    if python_type is date and isinstance(raw, dict) and "d" in raw:
        return date.fromisoformat(raw["d"])
    if python_type is bool and isinstance(raw, bool):
        return raw
    if python_type in (int, float) and isinstance(raw, int | float) and not isinstance(raw, bool):
        return python_type(raw)
    if python_type is str and isinstance(raw, str):
        return raw
    raise ValueError(raw)


def column_of(attribute):
    """Return the table column behind a mapped attribute (or the column itself)."""
    prop = getattr(attribute, "property", None)
    return prop.columns[0] if prop is not None else attribute


def python_type(column) -> type:
    """Return the Python type of a column's values (str when the type does not say)."""
    try:
        return column.type.python_type
    except NotImplementedError:
        return str


def encode(key: str, value, ident: int, forward: bool) -> str:
    """Return the signed cursor of a row for the list sorted by `key`."""
    return _serializer().dumps([key, _plain(value), ident, forward])


def decode(token: str | None, key: str, column) -> Cursor | None:
    """Return the cursor a link carries, or None for none, a forged one, or another sort's."""
    if not token or len(token) > MAX_CURSOR_CHARS:
        return None
    try:
        named, raw, ident, forward = _serializer().loads(token)
        if named != key or not isinstance(forward, bool):
            return None
        if isinstance(ident, bool) or not isinstance(ident, int) or not 0 <= ident <= TOP_ID:
            return None
        return Cursor(_typed(raw, python_type(column)), ident, forward)
    except (BadData, ValueError, TypeError, OverflowError):
        return None


def from_date(day: date, desc: bool) -> Cursor:
    """Return the cursor that starts a time-sorted list at a day (newest first: its end)."""
    if desc:
        return Cursor(datetime.combine(day + timedelta(days=1), time()), 0)
    return Cursor(datetime.combine(day, time()) - timedelta(microseconds=1), TOP_ID)


def _beyond(key, id_column, value, ident, descending: bool):
    """Return the condition for rows after (value, ident) in the given direction."""
    pair = tuple_(key, id_column)
    edge = tuple_(literal(value, key.type), literal(ident, id_column.type))
    return pair < edge if descending else pair > edge


def _ordered(query, key, id_column, descending: bool):
    """Return the query ordered by the sort column, then the id, both the same way."""
    if descending:
        return query.order_by(key.desc(), id_column.desc())
    return query.order_by(key.asc(), id_column.asc())


def _read(query, key, id_column, desc: bool, cursor: Cursor | None, limit: int, nullable: bool):
    """Return up to `limit` rows from the cursor on, in the direction the cursor goes.

    Shown order: non-NULL values sorted (desc or not), then NULLs by id in the same direction.
    Going backward reverses both the segments and the order within them.
    """
    forward = cursor is None or cursor.forward
    # The direction of the SQL ORDER BY for this read.
    descending = desc if forward else not desc
    values = query.filter(key.is_not(None)) if nullable else query
    nulls = query.filter(key.is_(None))
    rows: list = []
    if forward:
        if cursor is None or cursor.value is not None:
            part = values
            if cursor is not None:
                part = part.filter(_beyond(key, id_column, cursor.value, cursor.ident, descending))
            rows = _ordered(part, key, id_column, descending).limit(limit).all()
        if nullable and len(rows) < limit:
            part = nulls
            if cursor is not None and cursor.value is None:
                beyond = id_column < cursor.ident if descending else id_column > cursor.ident
                part = part.filter(beyond)
            order = id_column.desc() if descending else id_column.asc()
            rows += part.order_by(order).limit(limit - len(rows)).all()
        return rows
    if cursor.value is None:
        beyond = id_column < cursor.ident if descending else id_column > cursor.ident
        order = id_column.desc() if descending else id_column.asc()
        rows = nulls.filter(beyond).order_by(order).limit(limit).all()
        if len(rows) < limit:
            rows += _ordered(values, key, id_column, descending).limit(limit - len(rows)).all()
        return rows
    part = values.filter(_beyond(key, id_column, cursor.value, cursor.ident, descending))
    return _ordered(part, key, id_column, descending).limit(limit).all()


def read_page(query, key, id_column, name: str, desc: bool, cursor: Cursor | None, size: int):
    """Return one page of `query` sorted by `key` (then id) from the cursor, with its neighbours.

    `name` names the sort in the cursors (a cursor of another sort is not read).
    """
    nullable = bool(column_of(key).nullable)
    rows = _read(query, key, id_column, desc, cursor, size + 1, nullable)
    more = len(rows) > size
    rows = rows[:size]
    forward = cursor is None or cursor.forward
    if not forward:
        rows.reverse()
    page = Page(rows)
    if not rows:
        if forward and cursor is not None:
            # Past the end (a day before the first row, say): the way back is still there.
            page.newer = encode(name, cursor.value, cursor.ident, False)
        return page
    first, last = rows[0], rows[-1]
    key_name = key.key
    if (forward and cursor is not None) or (not forward and more):
        page.newer = encode(name, getattr(first, key_name), first.id, False)
    if (forward and more) or not forward:
        page.older = encode(name, getattr(last, key_name), last.id, True)
    return page
