"""The daily rollups: built from the raw records one client and day range at a time, replacing
what was there, so a rebuild is always safe and always gives the same rows.

The scheduler rebuilds each client's yesterday and today every ten minutes (dashboards are at
most that far behind) and the last 35 days once a day, which picks up late changes: a ticket
reopened and resolved again, a category corrected, a survey answered a week later still counts on
its own day. `flask reports rebuild` rebuilds any range by hand.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select

from core import jobs, scheduler
from core.extensions import db
from core.models_base import utcnow
from reports import facts
from reports.models import ReportDaily
from tenants.models import Tenant

RECENT_DAYS = 35
CHUNK_DAYS = 31


def local_today(tenant: Tenant, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(ZoneInfo(tenant.timezone)).date()


def _values(rows: facts.Rows, built_at: datetime) -> list[dict[str, Any]]:
    return [
        {
            "tenant_id": tenant_id,
            "day": day,
            "dim": dim,
            "key": key,
            **row.counters,
            "hours": row.hours,
            "ratings": row.ratings,
            "hist": row.hist,
            "built_at": built_at,
        }
        for (tenant_id, day, dim, key), row in rows.items()
    ]


def rebuild(tenant_id: int, first: date, last: date, now: datetime | None = None) -> int:
    """Replace the client's rows from `first` to `last` (local days, inclusive); the row count.

    Collected a month at a time: every event counts on its own day, so the months' rows are
    exactly the range's, and a year of a large client is never all in memory at once."""
    tenant = db.session.get_one(Tenant, tenant_id)
    db.session.execute(
        delete(ReportDaily).where(
            ReportDaily.tenant_id == tenant_id, ReportDaily.day >= first, ReportDaily.day <= last
        )
    )
    built_at = now or utcnow()
    made = 0
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=CHUNK_DAYS - 1))
        values = _values(facts.collect(tenant, start, end), built_at)
        # Core executemany on the table: the ORM's bulk insert spends more per row than the database.
        for at in range(0, len(values), 2000):
            db.session.execute(insert(ReportDaily.__table__), values[at : at + 2000])
        made += len(values)
        start = end + timedelta(days=1)
    return made


def rebuild_recent(tenant_id: int, days: int, now: datetime | None = None) -> int:
    tenant = db.session.get_one(Tenant, tenant_id)
    today = local_today(tenant, now)
    return rebuild(tenant_id, today - timedelta(days=days - 1), today, now)


@jobs.job("default", retries=2)
def rebuild_job(tenant_id: int, days: int) -> int:
    return rebuild_recent(tenant_id, days)


def _live_tenants() -> list[int]:
    query = select(Tenant.id).where(Tenant.offboarded_at.is_(None)).order_by(Tenant.id)
    return list(db.session.scalars(query))


@scheduler.periodic("reports.rollup_today", every=timedelta(minutes=10))
def rollup_today_sweep(tenant_id: None) -> int:
    tenant_ids = _live_tenants()
    for each in tenant_ids:
        rebuild_job.enqueue(each, 2)
    return len(tenant_ids)


@scheduler.periodic("reports.rollup_recent", every=timedelta(hours=24))
def rollup_recent_sweep(tenant_id: None) -> int:
    tenant_ids = _live_tenants()
    for each in tenant_ids:
        rebuild_job.enqueue(each, RECENT_DAYS)
    return len(tenant_ids)
