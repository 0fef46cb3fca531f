"""The monthly sweep: once a client's month has turned, its report of the month that ended is sent.

The sweep runs every hour and only enqueues; each client's report is its own job (its id and the
month as an ISO date), so one client's failure retries alone. It waits until 06:00 local time on
the 1st, so that the rollups' sweeps and late events of the night have settled, and it sends only
while the month has no `MonthlyReport` row: sending again is a person's decision (`--force`).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from billing.periods import local_month, previous_month
from core import jobs, scheduler
from core.extensions import db
from core.models_base import utcnow
from reports import monthly
from reports.models import MonthlyReport
from tenants.models import Tenant

# How long after local midnight on the 1st the report of the month that ended goes out.
SETTLE_TIME = timedelta(hours=6)


def months_due(now: datetime) -> list[tuple[int, date]]:
    """(client id, month) of every live client with the monthly report on whose last month is
    over (plus the settle time) and was not sent; a client that did not exist yet in that month
    gets none."""
    tenants = db.session.scalars(
        select(Tenant)
        .where(Tenant.offboarded_at.is_(None), Tenant.monthly_report.is_(True))
        .order_by(Tenant.id)
    ).all()
    due: list[tuple[int, date]] = []
    for tenant in tenants:
        month = previous_month(local_month(now - SETTLE_TIME, tenant.timezone))
        ended = datetime.combine(
            monthly.last_day(month) + timedelta(days=1), time(), ZoneInfo(tenant.timezone)
        )
        if tenant.created_at < ended:
            due.append((tenant.id, month))
    if not due:
        return []
    sent = set(
        db.session.execute(
            select(MonthlyReport.tenant_id, MonthlyReport.month).where(
                MonthlyReport.tenant_id.in_([tenant_id for tenant_id, _month in due])
            )
        ).all()
    )
    return [(tenant_id, month) for tenant_id, month in due if (tenant_id, month) not in sent]


@jobs.job("default", retries=3)
def send_month_job(tenant_id: int, month: str) -> bool:
    """Send one client's report of `month` (YYYY-MM-DD, the 1st); False when it was sent already."""
    return monthly.send_month(tenant_id, date.fromisoformat(month)) is not None


@scheduler.periodic("reports.monthly", every=timedelta(hours=1))
def monthly_sweep(tenant_id: None, now: datetime | None = None) -> int:
    due = months_due(now or utcnow())
    for each, month in due:
        send_month_job.enqueue(each, month.isoformat())
    return len(due)
