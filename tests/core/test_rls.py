"""PostgreSQL row-level security: the second wall, checked with raw SQL that skips the ORM."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core import tenancy
from core.extensions import db
from tests.conftest import ON_POSTGRES
from tests.factories import World

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not ON_POSTGRES, reason="row-level security exists on PostgreSQL only (DATABASE_URL unset)"
    ),
]


def _scoped_tables() -> list[str]:
    return sorted(
        mapper.local_table.name
        for mapper in db.Model.registry.mappers
        if issubclass(mapper.class_, tenancy.SCOPED_BASES)
    )


def test_the_app_connects_as_a_role_that_cannot_bypass_rls(db_session) -> None:
    su, bypass = db.session.execute(
        text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
    ).one()
    assert not su
    assert not bypass
    owner = db.session.execute(text("SELECT tableowner FROM pg_tables WHERE tablename = 'tenants'")).scalar()
    assert owner != db.session.execute(text("SELECT current_user")).scalar()


def test_every_tenant_table_has_a_policy(db_session) -> None:
    for table in _scoped_tables():
        enabled = db.session.execute(
            text("SELECT relrowsecurity FROM pg_class WHERE relname = :t"), {"t": table}
        ).scalar()
        policies = db.session.execute(
            text("SELECT count(*) FROM pg_policies WHERE tablename = :t"), {"t": table}
        ).scalar()
        assert enabled, f"{table} is not under row-level security"
        assert policies, f"{table} has no policy"


def test_raw_select_sees_only_the_scope(world: World) -> None:
    with tenancy.only(world.alpha.id):
        assert db.session.execute(text("SELECT slug FROM tenants ORDER BY slug")).scalars().all() == ["alpha"]
        emails = db.session.execute(text("SELECT email FROM users")).scalars().all()
        assert "admin@alpha.example" in emails
        assert not [e for e in emails if e.endswith("@beta.example")]
        addresses = (
            db.session.execute(text("SELECT address FROM tenant_channels WHERE kind = 'email'"))
            .scalars()
            .all()
        )
        assert addresses == ["support@alpha.example"]
        assigned = db.session.execute(
            text("SELECT count(*) FROM agent_assignments WHERE tenant_id = :b"), {"b": world.beta.id}
        ).scalar()
        assert assigned == 0


def test_raw_select_without_scope_sees_no_tenant_rows(world: World) -> None:
    with tenancy.using(None):
        assert db.session.execute(text("SELECT count(*) FROM tenants")).scalar() == 0
        assert db.session.execute(text("SELECT count(*) FROM tenant_channels")).scalar() == 0


def test_raw_insert_into_another_tenant_is_refused_by_the_policy(world: World) -> None:
    with tenancy.only(world.alpha.id):
        nested = db.session.begin_nested()
        with pytest.raises(DBAPIError, match="row-level security"):
            db.session.execute(
                text(
                    "INSERT INTO tenant_channels (tenant_id, kind, address, created_at)"
                    " VALUES (:t, 'email', 'x@beta.example', now())"
                ),
                {"t": world.beta.id},
            )
        nested.rollback()


def test_system_scope_sees_everything(world: World) -> None:
    with tenancy.system_scope():
        assert db.session.execute(text("SELECT count(*) FROM tenants")).scalar() == 2


def test_under_gevent_the_transaction_begins_through_psycopg(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chat stream server runs under gevent, where the one-round-trip BEGIN (a blocking libpq
    call) would stop every stream of the process: there psycopg begins, and the scope still holds."""
    sent: list[str] = []
    real = tenancy._begin_statement
    monkeypatch.setattr(tenancy, "_begin_statement", lambda value: sent.append(value) or real(value))
    setting = text(f"SELECT current_setting('{tenancy.RLS_SETTING}', true)")
    with app.app_context(), tenancy.only(4242):
        with db.engine.connect() as conn:
            assert conn.execute(setting).scalar() == "4242"
        assert sent == ["4242"]  # threads: BEGIN and the scope in one round trip
        sent.clear()
        patched = SimpleNamespace(is_module_patched=lambda name: name == "socket")
        monkeypatch.setitem(sys.modules, "gevent.monkey", patched)
        with db.engine.connect() as conn:
            assert conn.execute(setting).scalar() == "4242"
        assert sent == []
