"""Tenant isolation, enforced in one place for every request, job and command.

A *scope* is the set of tenant ids the current actor may touch. It lives in a context variable
set at the request/job/CLI boundary. Two mechanisms read it:

1. The ORM: a `do_orm_execute` hook adds `with_loader_criteria` for every tenant-owned model to
   every SELECT/UPDATE/DELETE, and a `before_flush` hook refuses writes outside the scope.
   Without a scope, statements on tenant-owned models raise: the system fails closed.
2. PostgreSQL row-level security: before the first statement of a transaction (and whenever the
   scope changes inside one) the scope is written with `set_config('app.tenant_ids', ..., true)`;
   the policies created by the migrations check it. SQLite relies on (1).

Views never filter by tenant themselves; that is how leaks happen.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from itertools import chain
from typing import Any

from sqlalchemy import ForeignKey, Integer, any_, bindparam, event, false, or_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.orm import attributes as orm_attributes

RLS_SETTING = "app.tenant_ids"
ALL_TENANTS = "*"


class TenancyError(RuntimeError):
    """A programming error: data was touched outside the tenancy rules."""


class MissingTenancyContext(TenancyError):
    pass


class TenancyViolation(TenancyError):
    pass


@dataclass(frozen=True)
class Scope:
    """The tenants an actor may touch; `all_tenants` is for provider admins and system sweeps."""

    tenant_ids: frozenset[int] = frozenset()
    all_tenants: bool = False

    def allows(self, tenant_id: int | None) -> bool:
        return self.all_tenants or (tenant_id is not None and tenant_id in self.tenant_ids)

    @property
    def rls_value(self) -> str:
        if self.all_tenants:
            return ALL_TENANTS
        return ",".join(str(i) for i in sorted(self.tenant_ids))


SYSTEM = Scope(all_tenants=True)
_current: ContextVar[Scope | None] = ContextVar("firstline_tenancy_scope", default=None)


def current() -> Scope | None:
    return _current.get()


def require() -> Scope:
    scope = _current.get()
    if scope is None:
        raise MissingTenancyContext("no tenancy scope is set")
    return scope


def tenants(ids: Iterable[int]) -> Scope:
    return Scope(tenant_ids=frozenset(int(i) for i in ids))


def set_scope(scope: Scope | None) -> Token[Scope | None]:
    return _current.set(scope)


def reset_scope(token: Token[Scope | None]) -> None:
    _current.reset(token)


@contextmanager
def using(scope: Scope | None) -> Iterator[Scope | None]:
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


def system_scope() -> Any:
    """Every tenant: for sign-in lookups, sweeps over all tenants and the demo loader only."""
    return using(SYSTEM)


def only(tenant_id: int) -> Any:
    return using(tenants([tenant_id]))


# --- model mixins -----------------------------------------------------------------------------


class TenantScoped:
    """A row that belongs to exactly one tenant."""

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)


class SharedOrTenantScoped:
    """A row of one tenant, or (tenant_id NULL) of the provider, visible to everyone signed in.

    Users are the example: client staff belong to their tenant, provider staff to nobody.
    """

    @declared_attr
    def tenant_id(cls) -> Mapped[int | None]:  # noqa: N805
        return mapped_column(Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=True)


class TenantRoot:
    """The tenants table itself: visible where its own id is in scope."""

    @declared_attr
    def id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(Integer, primary_key=True)


SCOPED_BASES = (TenantScoped, SharedOrTenantScoped, TenantRoot)


@functools.lru_cache(maxsize=1024)
def _criteria(tenant_ids: frozenset[int], array: bool) -> tuple[Any, ...]:
    """The loader criteria of a scope, built once per scope: they are immutable and shared.

    On PostgreSQL the ids travel as one array parameter (`tenant_id = ANY(...)`), so the SQL is
    the same for every scope and nothing is re-rendered per execution; an IN list would be
    expanded into one bound parameter per tenant on every statement. SQLite has no arrays.
    """
    # The lambdas must name the ids (or their parameter) directly: SQLAlchemy caches a lambda's
    # SQL per code object and tracks only its closure variables as the values that change.
    ids = tuple(sorted(tenant_ids))
    if array:
        param = bindparam("tenant_ids", value=list(ids), type_=ARRAY(Integer), unique=True)
        return (
            with_loader_criteria(
                TenantScoped, lambda cls: cls.tenant_id == any_(param), include_aliases=True
            ),
            with_loader_criteria(
                SharedOrTenantScoped,
                lambda cls: or_(cls.tenant_id.is_(None), cls.tenant_id == any_(param)),
                include_aliases=True,
            ),
            with_loader_criteria(TenantRoot, lambda cls: cls.id == any_(param), include_aliases=True),
        )
    return (
        with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id.in_(ids), include_aliases=True),
        with_loader_criteria(
            SharedOrTenantScoped,
            lambda cls: or_(cls.tenant_id.is_(None), cls.tenant_id.in_(ids)),
            include_aliases=True,
        ),
        with_loader_criteria(TenantRoot, lambda cls: cls.id.in_(ids), include_aliases=True),
    )


_NOTHING = tuple(
    with_loader_criteria(base, lambda cls: false(), include_aliases=True) for base in SCOPED_BASES
)


@event.listens_for(Session, "do_orm_execute")
def _scope_statements(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    scope = _current.get()
    if scope is None:
        touched = [m.class_.__name__ for m in state.all_mappers if issubclass(m.class_, SCOPED_BASES)]
        if touched:
            raise MissingTenancyContext(f"query on {', '.join(touched)} without a tenancy scope")
        state.statement = state.statement.options(*_NOTHING)
        return
    if scope.all_tenants:
        return
    postgres = state.session.get_bind(**state.bind_arguments).dialect.name == "postgresql"
    state.statement = state.statement.options(*_criteria(scope.tenant_ids, postgres))


def _owners(obj: object) -> list[int | None] | None:
    """The tenant ids a pending write touches (old and new values), or None if unscoped."""
    if isinstance(obj, TenantRoot):
        return [obj.id]  # type: ignore[attr-defined]
    if not isinstance(obj, TenantScoped | SharedOrTenantScoped):
        return None
    history = orm_attributes.get_history(obj, "tenant_id")
    values = list(chain(history.added, history.unchanged, history.deleted))
    return values or [None]


@event.listens_for(Session, "before_flush")
def _refuse_foreign_writes(session: Session, flush_context: Any, instances: Any) -> None:
    scope = _current.get()
    for obj in chain(session.new, session.dirty, session.deleted):
        owners = _owners(obj)
        if owners is None:
            continue
        if scope is None:
            raise MissingTenancyContext(f"write to {type(obj).__name__} without a tenancy scope")
        if scope.all_tenants:
            continue
        for tenant_id in owners:
            if tenant_id is None and isinstance(obj, SharedOrTenantScoped):
                continue
            if not scope.allows(tenant_id):
                raise TenancyViolation(f"write to {type(obj).__name__} of tenant {tenant_id} outside scope")


def check_write(what: str, tenant_id: int | None) -> None:
    """The `before_flush` rule for a write that bypasses the unit of work (a Core `INSERT ...
    ON CONFLICT`): a tenant's row only inside a scope that allows that tenant."""
    scope = _current.get()
    if scope is None:
        raise MissingTenancyContext(f"write to {what} without a tenancy scope")
    if tenant_id is not None and not scope.allows(tenant_id):
        raise TenancyViolation(f"write to {what} of tenant {tenant_id} outside scope")


# --- PostgreSQL row-level security ------------------------------------------------------------

_APPLIED = "firstline_rls_applied"
_RLS_VALUE = re.compile(r"\*|[0-9,]*")
_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE (psycopg is imported by the dialect, not here)
_TUPLES_OK = 2  # psycopg.pq.ExecStatus.TUPLES_OK
# Transaction control carries no data; running set_config before it could hit an aborted
# transaction (ROLLBACK TO SAVEPOINT after an error).
_TX_CONTROL = ("ROLLBACK", "RELEASE", "SAVEPOINT", "COMMIT", "BEGIN")


def _rls_value() -> str:
    scope = _current.get()
    return "" if scope is None else scope.rls_value


@event.listens_for(Engine, "before_cursor_execute")
def _apply_rls(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    if conn.dialect.name != "postgresql" or statement.lstrip()[:9].upper().startswith(_TX_CONTROL):
        return
    value = _rls_value()
    if conn.info.get(_APPLIED) == value:
        return
    with cursor.connection.cursor() as setter:
        setter.execute("SELECT set_config(%s, %s, true)", (RLS_SETTING, value))
    conn.info[_APPLIED] = value


@event.listens_for(Engine, "begin")
def _begin_scoped(conn: Any) -> None:
    """Open the transaction and write the scope in one round trip: psycopg would send its own
    BEGIN before the first statement, and `_apply_rls` a `set_config` after it, two round trips
    before any work on every transaction (on a chat line, a third of its statements,
    bench/chat.py). The scope is the one the transaction's first statement runs in: SQLAlchemy
    begins right before it."""
    conn.info.pop(_APPLIED, None)
    if conn.dialect.name != "postgresql" or _cooperative():
        return
    driver = conn.connection.dbapi_connection
    pgconn = getattr(driver, "pgconn", None)
    if pgconn is None or driver.autocommit or driver.info.transaction_status != _IDLE:
        return  # AUTOCOMMIT (a migration's CREATE INDEX CONCURRENTLY) must not get a BEGIN
    value = _rls_value()
    result = pgconn.exec_(_begin_statement(value))
    if result.status != _TUPLES_OK:
        # Leave it to psycopg's own BEGIN and `_apply_rls`, which raise the error where
        # SQLAlchemy handles it (a dropped connection is invalidated there).
        if driver.info.transaction_status != _IDLE:
            pgconn.exec_(b"ROLLBACK")
        return
    conn.info[_APPLIED] = value


def _cooperative() -> bool:
    """Under gevent (the chat stream server, platform/gunicorn.streams.conf.py) a blocking libpq
    call would stop every stream of the process for its round trip, while psycopg's own BEGIN and
    `_apply_rls` wait cooperatively; a stream reads the database rarely, so the extra round trip
    is the cheaper side there."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("socket"))


@functools.lru_cache(maxsize=4096)
def _begin_statement(value: str) -> bytes:
    """The value is a scope's own rendering (digits, commas, `*`), never user input."""
    if not _RLS_VALUE.fullmatch(value):
        raise TenancyError(f"unexpected row-level-security value {value!r}")
    return f"BEGIN; SELECT set_config('{RLS_SETTING}', '{value}', true)".encode()


def _forget_rls(conn: Any, *args: Any) -> None:
    conn.info.pop(_APPLIED, None)


for _name in ("commit", "rollback", "rollback_savepoint"):
    event.listen(Engine, _name, _forget_rls)


def rls_policy_sql(table: str, column: str = "tenant_id", *, shared: bool = False) -> list[str]:
    """DDL that puts `table` under row-level security; used by the migrations."""
    # The scalar subqueries become InitPlans: the setting is parsed once per query, not per row.
    allowed = (
        f"(SELECT current_setting('{RLS_SETTING}', true)) = '{ALL_TENANTS}' OR {column} = ANY(("
        f"SELECT string_to_array(NULLIF(current_setting('{RLS_SETTING}', true), '{ALL_TENANTS}'), ',')"
        ")::int[])"
    )
    if shared:
        allowed = f"{column} IS NULL OR {allowed}"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"CREATE POLICY tenant_isolation ON {table} USING ({allowed}) WITH CHECK ({allowed})",
    ]
