"""The demo's billing: plans in CHF and EUR, last month's usage with out-of-hours contacts and
calls, and its finalized invoice, loaded twice without change."""

from __future__ import annotations

from datetime import UTC, datetime

from flask.testing import FlaskClient
from sqlalchemy import func, select

from billing.invoice_run import lines_of
from billing.models import Invoice, UsageEvent
from core import jobs, tenancy
from core.extensions import db
from demo import billing, data
from demo import sla as demo_sla

NOW = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


def test_demo_bills_last_month_in_each_clients_currency(client: FlaskClient) -> None:
    data.load()
    demo_sla.seed(data.tenants_by_slug())
    jobs.commit()
    first = billing.seed(data.tenants_by_slug(), now=NOW)
    jobs.commit()
    with tenancy.system_scope():
        rows = db.session.scalar(select(func.count()).select_from(UsageEvent))
    again = billing.seed(data.tenants_by_slug(), now=NOW)
    jobs.commit()
    with tenancy.system_scope():
        assert db.session.scalar(select(func.count()).select_from(UsageEvent)) == rows
        assert [i.id for i in again] == [i.id for i in first]
        by_number = {i.number: i for i in db.session.scalars(select(Invoice))}
        assert set(by_number) == {"ALPINA-2026-02", "LUM-2026-02"}
        alpina, lumiere = by_number["ALPINA-2026-02"], by_number["LUM-2026-02"]
        assert (alpina.status, alpina.currency, alpina.vat_rate_bp) == ("finalized", "CHF", 810)
        assert (lumiere.status, lumiere.currency, lumiere.vat_rate_bp) == ("finalized", "EUR", 2000)
        for invoice in (alpina, lumiere):
            kinds = {line.kind for line in lines_of(invoice)}
            assert {
                "base_fee",
                "contacts",
                "call_minutes",
                "chat_minutes",
                "agent_hours",
                "escalations",
            } <= kinds
            assert "out_of_hours" in kinds
        assert "extra_languages" in {line.kind for line in lines_of(lumiere)}  # fr, it + en
        night_calls = db.session.scalar(
            select(func.count())
            .select_from(UsageEvent)
            .where(UsageEvent.kind == "call", UsageEvent.out_of_hours.is_(True))
        )
        assert night_calls > 0
