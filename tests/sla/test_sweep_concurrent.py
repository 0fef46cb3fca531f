"""Two sweeps at once on PostgreSQL, each in its own transaction: one records and mails, the
other meets the unique key and does neither. Runs on committed rows, removed afterwards."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import delete, func, select

from agents import services as agents
from core import tenancy
from core.auth import services as auth
from core.auth.models import User
from core.auth.roles import Role
from core.extensions import db
from core.outbox import OutboxMessage
from sla import sweep
from sla.models import SlaEvent
from tenants import services as tenants
from tenants.models import Tenant
from tests.conftest import ON_POSTGRES
from tickets import services as tickets
from tickets import sla
from tickets.models import Channel

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="needs two real transactions (DATABASE_URL unset)"),
]


@pytest.fixture
def committed(app: Flask) -> Iterator[tuple[int, int]]:
    """A client with a supervisor and a ticket whose first answer is overdue, committed."""
    with app.app_context(), tenancy.system_scope():
        tenant = tenants.create_tenant(
            tenants.TenantInput(
                slug="race",
                name="Race AG",
                languages=["de"],
                default_language="de",
                timezone="Europe/Zurich",
                currency="CHF",
                ticket_prefix="RACE",
            )
        )
        lead = auth.create_user(
            email="lead@race.example", name="Lead", role=Role.SUPERVISOR, password="x" * 12
        )
        agents.assign(lead, tenant.id)
        ticket, _message = tickets.open_ticket(
            tickets.NewTicket(
                tenant_id=tenant.id, subject="Race", body="Who wins?", channel=Channel.API, language="de"
            )
        )
        sla.start_clocks(ticket, start=datetime.now(UTC) - timedelta(hours=5))
        db.session.commit()
        ids = (tenant.id, ticket.id)
        lead_id = lead.id
    try:
        yield ids
    finally:
        with app.app_context(), tenancy.system_scope():
            db.session.execute(delete(Tenant).where(Tenant.id == ids[0]))
            db.session.execute(delete(User).where(User.id == lead_id))
            db.session.commit()


def test_two_concurrent_sweeps_record_and_mail_once(
    app: Flask, committed: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant_id, ticket_id = committed
    # Both runs decide the breach is new before either has inserted it.
    monkeypatch.setattr(sweep._History, "recorded", lambda *args, **kwargs: False)
    start = threading.Barrier(2)
    results: list[sweep.SweepResult] = []
    errors: list[BaseException] = []

    def one_run() -> None:
        try:
            with app.app_context(), tenancy.system_scope():
                start.wait(timeout=10)
                results.append(sweep.sweep(datetime.now(UTC)))
                db.session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(r.breaches for r in results) == [0, 1]
    with app.app_context(), tenancy.system_scope():
        events = db.session.scalar(select(func.count()).where(SlaEvent.ticket_id == ticket_id))
        mails = db.session.scalar(
            select(func.count()).where(OutboxMessage.dedupe_key.like(f"sla:{tenant_id}:%"))
        )
        db.session.rollback()
    assert (events, mails) == (1, 1)
