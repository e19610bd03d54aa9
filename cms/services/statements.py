"""Read statements built once, compiled once per database, run on the driver's connection.

The readers' pages run a handful of SELECTs each (cms.services.cards, listing, navigation,
search). Through `Connection.execute`, SQLAlchemy spends about 80 µs on each beyond what the
database takes (its compiled-statement cache key, execution context and result objects); for
a post page that was a fifth of its time. Here a statement is compiled once per dialect with
SQLAlchemy, and each run only binds its parameters with the types' own processors, executes
on the driver connection underneath the session's connection (so inside its transaction) and
converts the rows with the types' result processors: the same values SQLAlchemy returns,
at about 30 µs.

What stays SQLAlchemy's:
- the SQL, the parameter style and the expansion of `IN` lists (`construct_expanded_state`);
- the types' bind and result processors (dates on SQLite, booleans, enums, TypeDecorators);
- the `before_cursor_execute` / `after_cursor_execute` events, so what listens to the
  engine (the SQLite write lock of cms.models.base, tests counting statements, tracing)
  sees these statements like any other;
- errors: what the driver raises becomes SQLAlchemy's own exception (OperationalError,
  ProgrammingError...), as through `Connection.execute`; a lost connection is dropped when
  the session gives it back to the pool.

Only SELECTs go through here; writes use the session.
"""

from collections import namedtuple
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError

from cms.extensions import db


class Rows(list):
    """The rows of a statement: tuples with the columns' names as attributes."""

    def all(self) -> list:
        return self

    def first(self):
        return self[0] if self else None

    def scalar(self):
        return self[0][0] if self else None

    def scalars(self) -> list:
        return [row[0] for row in self]


@dataclass(slots=True)
class _Plan:
    """A statement compiled for one dialect."""

    compiled: Any
    sql: str
    # Parameter names in placeholder order (positional drivers), or None (named ones).
    order: tuple | None
    # The statement's own values (literals, LIMITs), already processed for the driver.
    fixed: dict
    # name -> bind processor, for the parameters given at run time.
    processors: dict
    # Names of the `IN` lists, and the SQL per list lengths (_Shape), made on first use.
    expanding: tuple
    shapes: dict
    columns: tuple
    row: type
    # (index, result processor) of the columns that need one; made on the first run, as some
    # processors depend on the type the driver reports (PostgreSQL's numerics).
    converters: tuple | None = None


_PLANS: dict = {}


def _plan(statement, dialect) -> _Plan:
    key = (statement, dialect.name)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = _compile(statement, dialect)
    return plan


def _compile(statement, dialect) -> _Plan:
    compiled = statement.compile(dialect=dialect)
    processors, fixed = {}, {}
    for name, bind in compiled.binds.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors[name] = process
        if not bind.expanding and bind.value is not None:
            fixed[name] = process(bind.value) if process else bind.value
    columns = tuple(statement.selected_columns)
    return _Plan(
        compiled=compiled,
        sql=compiled.string,
        order=tuple(compiled.positiontup) if compiled.positiontup is not None else None,
        fixed=fixed,
        processors=processors,
        expanding=tuple(name for name, bind in compiled.binds.items() if bind.expanding),
        shapes={},
        columns=columns,
        row=namedtuple("Row", [column.key for column in columns], rename=True),
    )


@dataclass(frozen=True, slots=True)
class _Shape:
    """A statement with `IN` lists of given lengths: its SQL and where each element goes."""

    sql: str
    order: tuple | None
    # list name -> the names of its elements' parameters
    expansion: dict
    processors: dict


# Different lengths of IN lists kept per statement (a page's or a card list's size: few).
SHAPES_PER_STATEMENT = 64


def _shape(plan: _Plan, params: dict) -> _Shape:
    lengths = tuple(len(params[name]) for name in plan.expanding)
    shape = plan.shapes.get(lengths)
    if shape is None:
        state = plan.compiled.construct_expanded_state(params)
        shape = _Shape(
            sql=state.statement,
            order=tuple(state.positiontup) if state.positiontup is not None else None,
            expansion=dict(state.parameter_expansion),
            processors=plan.processors | state.processors,
        )
        if len(plan.shapes) < SHAPES_PER_STATEMENT:
            plan.shapes[lengths] = shape
    return shape


def _bind(plan: _Plan, params: dict) -> tuple[str, Any]:
    """Return the SQL and the driver's parameters for these values."""
    sql, order, processors, expansion = plan.sql, plan.order, plan.processors, {}
    if plan.expanding:
        shape = _shape(plan, params)
        sql, order, processors = shape.sql, shape.order, shape.processors
        expansion = shape.expansion
    values = dict(plan.fixed)
    for name, value in params.items():
        keys = expansion.get(name)
        if keys is None:
            values[name] = processors[name](value) if name in processors else value
            continue
        for key, item in zip(keys, value, strict=True):
            values[key] = processors[key](item) if key in processors else item
    if order is None:
        return sql, values
    return sql, tuple(values[name] for name in order)


def _converters(plan: _Plan, dialect, cursor) -> tuple:
    """Return (index, result processor) of the columns whose values need converting."""
    found = []
    for index, (column, described) in enumerate(zip(plan.columns, cursor.description, strict=True)):
        process = column.type.dialect_impl(dialect).result_processor(dialect, described[1])
        if process is not None:
            found.append((index, process))
    return tuple(found)


def execute(statement, **params) -> Rows:
    """Run a prebuilt SELECT on the session's connection (its transaction, no ORM)."""
    connection = db.session.connection()
    plan = _plan(statement, connection.dialect)
    sql, values = _bind(plan, params)
    driver_error = connection.dialect.loaded_dbapi.Error
    cursor = connection.connection.driver_connection.cursor()
    try:
        connection.dispatch.before_cursor_execute(connection, cursor, sql, values, None, False)
        cursor.execute(sql, values)
        connection.dispatch.after_cursor_execute(connection, cursor, sql, values, None, False)
        raw = cursor.fetchall()
    except driver_error as error:
        cursor.close()
        raise DBAPIError.instance(sql, values, error, driver_error) from error
    if plan.converters is None:
        plan.converters = _converters(plan, dialect=connection.dialect, cursor=cursor)
    cursor.close()
    make = plan.row._make
    if not plan.converters:
        return Rows(make(row) for row in raw)
    rows = Rows()
    for found in raw:
        found = list(found)
        for index, process in plan.converters:
            found[index] = process(found[index])
        rows.append(make(found))
    return rows
