"""The demo clients' calendars and policies: seeded twice without change, used by demo tickets."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from core import jobs, tenancy
from core.extensions import db
from demo import data
from demo import sla as demo_sla
from sla.models import BusinessCalendar, SlaPolicy
from tickets.models import Ticket


def test_demo_sla_seeds_idempotently_and_the_demo_tickets_use_it(db_session: Any) -> None:
    data.load()
    demo_sla.seed(data.tenants_by_slug())
    jobs.commit()  # the demo contacts become tickets now, under the policies
    demo_sla.seed(data.tenants_by_slug())
    with tenancy.system_scope():
        assert db.session.scalar(select(func.count()).select_from(BusinessCalendar)) == 2
        assert db.session.scalar(select(func.count()).select_from(SlaPolicy)) == 3
        alpina = data.tenants_by_slug()["alpina"]
        calendar = db.session.scalar(select(BusinessCalendar).where(BusinessCalendar.tenant_id == alpina.id))
        assert (calendar.holiday_country, calendar.holiday_subdivision) == ("CH", "ZH")
        tickets = list(db.session.scalars(select(Ticket).where(Ticket.tenant_id == alpina.id)))
        assert tickets
        assert all(ticket.sla_policy_id is not None for ticket in tickets)
