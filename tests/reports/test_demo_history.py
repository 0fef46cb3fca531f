"""The demo's generated history: several months of tickets per client whose dashboards show
meaningful figures, numbered after the client's tickets, loaded once, and mailing nobody."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from core import jobs, tenancy
from core.extensions import db
from core.outbox import OutboxMessage
from demo import data, escalations, history
from demo import sla as demo_sla
from escalations.models import Escalation
from reports.metrics import Query, report
from sla import sweep
from tenants.models import Tenant
from tickets import intake
from tickets.models import Channel, InboundRecord, Ticket, TicketCounter

NOW = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)


@pytest.fixture
def demo(db_session: Any) -> dict[str, Tenant]:
    data.load()
    demo_sla.seed(data.tenants_by_slug())
    jobs.commit()
    by_slug = data.tenants_by_slug()
    escalations.seed(by_slug)
    jobs.commit()
    return by_slug


def _tickets(tenant: Tenant) -> list[Ticket]:
    return list(db.session.scalars(select(Ticket).where(Ticket.tenant_id == tenant.id)))


def test_history_covers_four_months_once_and_new_tickets_number_after_it(demo: dict[str, Tenant]) -> None:
    made = history.seed(demo, now=NOW)
    jobs.commit()
    assert made["alpina"] > 1500
    assert made["lumiere"] > 1000
    with tenancy.system_scope():
        alpina = demo["alpina"]
        tickets = _tickets(alpina)
        zone = ZoneInfo(alpina.timezone)
        months = Counter(
            (t.created_at.astimezone(zone).year, t.created_at.astimezone(zone).month) for t in tickets
        )
        for month in ((2025, 11), (2025, 12), (2026, 1), (2026, 2)):
            assert months[month] > 300, months
        assert min(t.created_at for t in tickets) < NOW - timedelta(days=115)
        numbers = [t.number for t in tickets]
        assert len(set(numbers)) == len(numbers)
        counter = db.session.get_one(TicketCounter, alpina.id)
        assert counter.last_number == max(numbers)
        # Some at night and on weekends: the desk is open around the clock.
        local = [t.created_at.astimezone(zone) for t in tickets]
        assert sum(1 for at in local if at.hour < 6) > 20
        assert sum(1 for at in local if at.weekday() >= 5) > 100

    # Loading the demo again changes nothing.
    assert history.seed(demo, now=NOW + timedelta(days=1)) == {}
    with tenancy.system_scope():
        assert len(_tickets(alpina)) == len(tickets)

    # A contact arriving now gets the next number, after the history's.
    contact = intake.InboundContact(
        channel=Channel.WEBFORM,
        external_id="after-history",
        subject="Neu",
        body="Hallo",
        email="neu@example.com",
    )
    with tenancy.system_scope():
        intake.receive(alpina.id, contact)
    jobs.commit()
    with tenancy.system_scope():
        record = db.session.scalar(select(InboundRecord).where(InboundRecord.external_id == "after-history"))
        assert db.session.get_one(Ticket, record.ticket_id).number == max(numbers) + 1


def test_a_demo_clients_90_day_dashboard_has_meaningful_figures(demo: dict[str, Tenant]) -> None:
    history.seed(demo, now=NOW)
    jobs.commit()
    alpina = demo["alpina"]
    today = NOW.astimezone(ZoneInfo(alpina.timezone)).date()
    with tenancy.system_scope():
        found = report(Query((alpina.id,), today - timedelta(days=89), today))
        raw = report(Query((alpina.id,), today - timedelta(days=89), today), source="raw").totals
    figures = found.totals
    assert found.source == "rollup"
    assert (figures.created, figures.resolved, figures.fcr) == (raw.created, raw.resolved, raw.fcr)
    assert figures.created > 1000
    assert 0.4 < figures.fcr_rate < 0.9
    assert 0 < figures.l3_rate < figures.l2_rate < 0.3
    assert figures.esc_created_l2 > 0
    assert figures.esc_created_l3 > 0
    assert 0 < figures.deflection_rate < 0.5
    for compliance in (figures.fr_compliance, figures.res_compliance, figures.ack_compliance):
        assert 0.6 < compliance < 1  # mostly in time, some late
    assert figures.csat_count > 100
    assert 3.5 < figures.csat_average < 5
    assert 0 < figures.empty_search_rate < 0.5
    assert figures.percentile("frt_cal", 50) < figures.percentile("frt_cal", 90)
    assert set(found.by["channel"]) == {"email", "phone", "chat", "webform", "fax"}
    assert set(found.by["language"]) == {"de", "en"}
    assert len(found.by["team"]) == 3
    assert len(found.by["agent"]) >= 3
    assert sum(found.heatmap[6]) > 0  # Sundays
    assert all(sum(figures.created for _day, figures in found.days[n : n + 7]) > 50 for n in range(0, 84, 7))


def test_the_backlog_is_small_varied_and_mails_nobody(demo: dict[str, Tenant]) -> None:
    with tenancy.system_scope():
        outbox = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    history.seed(demo, now=NOW)
    jobs.commit()
    with tenancy.system_scope():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == outbox
        for tenant in demo.values():
            tickets = [t for t in _tickets(tenant) if t.created_at < NOW]
            running = [t for t in tickets if t.due_at is not None]
            assert 3 < len(running) < 40  # the inbox's first page still shows today's contacts
            statuses = Counter(t.status for t in tickets)
            assert statuses["pending_customer"] > 0
            assert statuses["escalated"] > 0
            assert any(t.status == "open" and t.created_at < NOW - timedelta(days=7) for t in tickets)
        active = db.session.scalar(
            select(func.count())
            .select_from(Escalation)
            .where(Escalation.status.in_(("open", "acknowledged")))
        )
        assert active > 0
        # The first SLA sweep finds nothing from the past to warn about: it was all recorded.
        result = sweep.sweep(now=NOW)
    assert (result.warnings, result.breaches, result.mails) == (0, 0, 0)
