"""Engine behaviour per backend, installed once for every engine the process creates."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


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
