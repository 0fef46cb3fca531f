"""The one tenancy mechanism: ORM criteria, refused writes, failing closed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from core import tenancy
from core.auth.models import User
from core.extensions import db
from tenants.models import Tenant, TenantChannel
from tests.factories import World


def test_queries_only_see_tenants_in_scope(world: World) -> None:
    with tenancy.only(world.alpha.id):
        assert [t.slug for t in db.session.scalars(select(Tenant))] == ["alpha"]
        channels = db.session.scalars(
            select(TenantChannel.address).where(TenantChannel.kind == "email")
        ).all()
        assert channels == ["support@alpha.example"]
        assert db.session.get(Tenant, world.beta.id) is None or world.beta in db.session


def test_get_of_another_tenants_row_is_none_in_a_fresh_session(world: World) -> None:
    beta_id = world.beta.id
    db.session.expunge_all()
    with tenancy.only(world.alpha.id):
        assert db.session.get(Tenant, beta_id) is None


def test_users_of_other_tenants_are_invisible_but_provider_staff_visible(world: World) -> None:
    db.session.expunge_all()
    with tenancy.only(world.alpha.id):
        emails = set(db.session.scalars(select(User.email)))
    assert "admin@alpha.example" in emails
    assert "admin@provider.example" in emails
    assert not any(email.endswith("@beta.example") for email in emails)


def test_joins_are_filtered_too(world: World) -> None:
    with tenancy.only(world.alpha.id):
        rows = db.session.execute(
            select(Tenant.slug, TenantChannel.address)
            .join(TenantChannel, TenantChannel.tenant_id == Tenant.id)
            .where(TenantChannel.kind == "email")
        ).all()
    assert rows == [("alpha", "support@alpha.example")]


def test_bulk_update_cannot_reach_another_tenant(world: World) -> None:
    with tenancy.only(world.alpha.id):
        result = db.session.execute(
            update(TenantChannel)
            .where(TenantChannel.tenant_id == world.beta.id)
            .values(address="x@evil.example")
        )
        assert result.rowcount == 0
    with tenancy.system_scope():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(TenantChannel)
                .where(TenantChannel.address == "x@evil.example")
            )
            == 0
        )


def test_missing_scope_fails_closed(world: World) -> None:
    with tenancy.using(None), pytest.raises(tenancy.MissingTenancyContext):
        db.session.scalars(select(TenantChannel)).all()


def test_write_outside_scope_is_refused(world: World) -> None:
    with tenancy.only(world.alpha.id):
        db.session.add(TenantChannel(tenant_id=world.beta.id, kind="email", address="sneaky@beta.example"))
        with pytest.raises(tenancy.TenancyViolation):
            db.session.flush()
    db.session.rollback()


def test_moving_a_row_to_another_tenant_is_refused(world: World) -> None:
    with tenancy.only(world.alpha.id):
        channel = db.session.scalars(select(TenantChannel)).first()
    with tenancy.only(world.alpha.id):
        channel.tenant_id = world.beta.id
        with pytest.raises(tenancy.TenancyViolation):
            db.session.flush()
    db.session.rollback()


def test_an_insert_on_conflict_outside_scope_is_refused(world: World) -> None:
    """Writes that bypass the unit of work (`INSERT ... ON CONFLICT`) follow the same rule."""
    from core.database import insert_on_conflict
    from tickets import services as tickets
    from tickets.models import TicketCounter

    with tenancy.only(world.alpha.id):
        with pytest.raises(tenancy.TenancyViolation):
            insert_on_conflict(TenantChannel, world.beta.id)
        with pytest.raises(tenancy.TenancyViolation):
            tickets.next_number(world.beta.id)
    with tenancy.using(None), pytest.raises(tenancy.MissingTenancyContext):
        insert_on_conflict(TicketCounter, world.alpha.id)


def test_write_without_scope_is_refused(world: World) -> None:
    with tenancy.using(None):
        db.session.add(TenantChannel(tenant_id=world.alpha.id, kind="email", address="x@alpha.example"))
        with pytest.raises(tenancy.MissingTenancyContext):
            db.session.flush()
    db.session.rollback()


def test_scope_values_for_row_level_security() -> None:
    assert tenancy.tenants([3, 1]).rls_value == "1,3"
    assert tenancy.SYSTEM.rls_value == "*"
    assert tenancy.tenants([]).rls_value == ""


def test_the_same_statement_under_two_scopes_sees_each_scopes_rows(world: World) -> None:
    """The loader criteria are cached per scope; a cached statement must not keep the first ids."""
    query = select(Tenant.slug).order_by(Tenant.slug)
    with tenancy.using(tenancy.tenants([world.alpha.id])):
        assert list(db.session.scalars(query)) == ["alpha"]
    with tenancy.using(tenancy.tenants([world.beta.id])):
        assert list(db.session.scalars(query)) == ["beta"]
    with tenancy.using(tenancy.tenants([world.alpha.id, world.beta.id])):
        assert list(db.session.scalars(query)) == ["alpha", "beta"]
