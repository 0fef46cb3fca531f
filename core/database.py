"""Engine behaviour per backend, installed once for every engine the process creates, and the
`INSERT ... ON CONFLICT` both backends share."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event, select
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
