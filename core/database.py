"""Engine behaviour per backend, installed once for every engine the process creates, and the
`INSERT ... ON CONFLICT` both backends share, row by row or collected for a batch."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from core import tenancy
from core.extensions import db


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy, not pysqlite, decide when transactions begin, so SAVEPOINTs work
    # (the per-test rollback fixture depends on it).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn: Any) -> None:
    if conn.dialect.name == "sqlite":
        # IMMEDIATE takes the write lock up front: the embedded server's threads then wait
        # (busy_timeout) instead of failing on a read-to-write lock upgrade.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def insert_on_conflict(model: Any, tenant_id: int | None) -> Any:
    """`INSERT` for the session's backend with `on_conflict_do_nothing`/`on_conflict_do_update`
    (PostgreSQL and SQLite spell them alike): a row written once per key in one round trip,
    instead of a SELECT for the key and then an INSERT.

    Such a statement bypasses the unit of work, so the tenancy scope's write rule is checked
    here for `tenant_id`, as the `before_flush` hook checks an added row; on PostgreSQL the
    row-level-security policy checks it a second time."""
    tenancy.check_write(model.__name__, tenant_id)
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def insert_once(
    model: Any, tenant_id: int | None, values: dict[str, Any], key: tuple[str, ...]
) -> tuple[Any, bool]:
    """The row of `model` with these `values` and True, written with `INSERT ... ON CONFLICT (key) DO
    NOTHING RETURNING` (one round trip for a new row), or the row written before under the same
    `key` columns and False (a second round trip, for a repeat only). Two concurrent writers of one key end
    with one row instead of an error.

    The row may refer only to rows that exist already: what the caller has pending is written
    with its own next flush, not flushed ahead of this statement."""
    row = db.session.scalar(
        insert_on_conflict(model, tenant_id)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(key))
        .returning(model)
        .execution_options(autoflush=False)
    )
    if row is not None:
        return row, True
    found = db.session.scalars(
        select(model).where(*(getattr(model, column) == values[column] for column in key))
    ).one()
    return found, False


# Rows that `insert_once_later` collected, by (model, key columns, value columns).
Queued = dict[
    tuple[Any, tuple[str, ...], tuple[str, ...]], list[tuple[dict[str, Any], Callable[[int], None] | None]]
]
_queued: ContextVar[Queued | None] = ContextVar("firstline_rows_later", default=None)


@contextmanager
def rows_later() -> Iterator[None]:
    """Inside, `insert_once_later` collects rows instead of writing each at once; when the block
    ends without an error they are written with one multi-row `INSERT ... ON CONFLICT DO NOTHING`
    per table (`write_later`). For a batch that writes the same kind of row for each of its
    records (the intake's usage events and acknowledgements): one round trip and one compiled
    statement instead of one of each per record. When the block fails, nothing is written."""
    token = _queued.set({})
    try:
        yield
        write_later()
    finally:
        _queued.reset(token)


def insert_once_later(
    model: Any,
    tenant_id: int | None,
    values: dict[str, Any],
    key: tuple[str, ...],
    then: Callable[[int], None] | None = None,
) -> bool:
    """Collect the row for `rows_later`'s end and return True, or return False outside such a
    block (the caller writes it now, with `insert_once`). `then` is called with the new row's id
    once it is written, and not at all when a row with the same key was there already. The
    tenancy scope's write rule is checked now, as `insert_once` checks it."""
    queued = _queued.get()
    if queued is None or any(values.get(column) is None for column in key):
        return False  # NULL never conflicts: such a row cannot be told apart in RETURNING
    tenancy.check_write(model.__name__, tenant_id)
    queued.setdefault((model, key, tuple(sorted(values))), []).append((values, then))
    return True


def write_later() -> None:
    """Write what `insert_once_later` collected so far: per table, one statement for all rows,
    a key given twice written once (the first), then the `then` of each row that was new."""
    queued = _queued.get()
    if not queued:
        return
    groups = list(queued.items())
    queued.clear()
    for (model, key, _columns), rows in groups:
        first: dict[tuple[Any, ...], tuple[dict[str, Any], list[Callable[[int], None]]]] = {}
        for values, then in rows:
            entry = first.setdefault(tuple(values[column] for column in key), (values, []))
            if then is not None and entry[0] is values:
                entry[1].append(then)
        statement = (
            insert_on_conflict(model, rows[0][0].get("tenant_id"))
            .values([values for values, _then in first.values()])
            .on_conflict_do_nothing(index_elements=list(key))
            .returning(model.id, *(getattr(model, column) for column in key))
            .execution_options(autoflush=False)
        )
        for row in db.session.execute(statement):
            for then in first[tuple(row[1:])][1]:
                then(row[0])


# Inside `ids_ahead`: how many ids to take at a time, and the ids left per model.
_ahead: ContextVar[tuple[int, dict[Any, list[int]]] | None] = ContextVar("firstline_ids_ahead", default=None)


@contextmanager
def ids_ahead(size: int) -> Iterator[None]:
    """Inside, `assign_id` gives new rows their id from the table's sequence, taken `size` at a
    time with one query, instead of an INSERT flushed at once to learn it. A batch's rows can then
    wait for one flush at its end and go in with one multi-row INSERT per table. PostgreSQL only
    (SQLite has no sequences); an id taken and not used is a gap in the ids, nothing else."""
    token = _ahead.set((max(size, 1), {}))
    try:
        yield
    finally:
        _ahead.reset(token)


def assign_id(row: Any) -> bool:
    """Give a new row its id now and return True inside `ids_ahead` on PostgreSQL; else False,
    and the caller flushes to have it."""
    ahead = _ahead.get()
    if ahead is None or db.session.get_bind().dialect.name != "postgresql":
        return False
    size, pools = ahead
    left = pools.setdefault(type(row), [])
    if not left:
        sequence = func.pg_get_serial_sequence(row.__table__.name, "id")
        taken = select(func.nextval(sequence)).select_from(func.generate_series(1, size))
        left.extend(sorted(db.session.connection().scalars(taken), reverse=True))
    row.id = left.pop()  # ascending, as the sequence would have given them
    return True
