"""One month of the ledger, summed per client in the database: two GROUP BY queries over the
month's range of `ix_usage_events_occurred_at`, whatever the number of clients.

Calls and chats are first grouped per call (a call and its corrections together), rounded there
with each client's own increment (`rating.billed_seconds_sql`), then summed; the other kinds are
plain sums. Clients are queried per time zone, since their months start at their own midnight.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from sqlalchemy import and_, case, func, or_, select

from billing.models import Plan, UsageEvent, UsageKind
from billing.periods import utc_bounds
from billing.rating import Metered, MonthUsage, billed_seconds_sql
from core.extensions import db
from tickets.models import TimeSource

COUNTED = (UsageKind.CONTACT.value, UsageKind.TIME.value, UsageKind.ESCALATION.value)
METERED = (UsageKind.CALL.value, UsageKind.CHAT.value)


def _in_month(tenant_ids: list[int], period: date, timezone: str) -> list[object]:
    start, end = utc_bounds(period, timezone)
    return [
        UsageEvent.occurred_at >= start,
        UsageEvent.occurred_at < end,
        UsageEvent.tenant_id.in_(tenant_ids),
    ]


def _counted(usage: dict[int, MonthUsage], where: list[object]) -> None:
    # Time booked from a logged call is billed as call minutes, not again as agent time.
    not_from_call = or_(
        UsageEvent.kind != UsageKind.TIME.value,
        func.coalesce(UsageEvent.data["source"].as_string(), "") != TimeSource.CALL.value,
    )
    rows = db.session.execute(
        select(
            UsageEvent.tenant_id,
            UsageEvent.kind,
            UsageEvent.out_of_hours,
            func.sum(UsageEvent.quantity),
            func.count(UsageEvent.corrects_id),
        )
        .where(*where, UsageEvent.kind.in_(COUNTED), not_from_call)
        .group_by(UsageEvent.tenant_id, UsageEvent.kind, UsageEvent.out_of_hours)
    )
    for tenant_id, kind, ooh, total, corrections in rows:
        month, total, corrections = usage[tenant_id], int(total or 0), int(corrections or 0)
        if kind == UsageKind.CONTACT.value:
            month.contacts += total
            month.contacts_ooh += total if ooh else 0
            month.contact_corrections += corrections
        elif kind == UsageKind.TIME.value:
            month.agent_seconds += total
            month.time_corrections += corrections
        else:
            month.escalations += total
            month.escalation_corrections += corrections


def _metered(usage: dict[int, MonthUsage], where: list[object]) -> None:
    per_call = (
        select(
            UsageEvent.tenant_id.label("tenant_id"),
            UsageEvent.kind.label("kind"),
            func.sum(UsageEvent.quantity).label("seconds"),
            func.max(case((UsageEvent.out_of_hours, 1), else_=0)).label("ooh"),
            func.sum(case((UsageEvent.corrects_id.is_(None), 1), else_=0)).label("originals"),
            func.count(UsageEvent.corrects_id).label("corrections"),
        )
        .where(*where, UsageEvent.kind.in_(METERED))
        .group_by(UsageEvent.tenant_id, UsageEvent.kind, func.coalesce(UsageEvent.corrects_id, UsageEvent.id))
        .subquery()
    )
    original = per_call.c.originals > 0
    after = case((and_(per_call.c.kind == UsageKind.CALL.value, original), Plan.after_call_seconds), else_=0)
    billed = billed_seconds_sql(per_call.c.seconds + after, Plan.increment_seconds, Plan.rounding)
    rows = db.session.execute(
        select(
            per_call.c.tenant_id,
            per_call.c.kind,
            per_call.c.ooh,
            func.sum(case((original, 1), else_=0)),
            func.sum(billed),
            func.sum(per_call.c.corrections),
        )
        .join(Plan, Plan.tenant_id == per_call.c.tenant_id)
        .group_by(per_call.c.tenant_id, per_call.c.kind, per_call.c.ooh)
    )
    for tenant_id, kind, ooh, count, seconds, corrections in rows:
        metered: Metered = usage[tenant_id].calls if kind == UsageKind.CALL.value else usage[tenant_id].chats
        metered.count += int(count or 0)
        metered.seconds += int(seconds or 0)
        metered.seconds_ooh += int(seconds or 0) if ooh else 0
        metered.corrections += int(corrections or 0)


def month_usage(period: date, zones: dict[int, str]) -> dict[int, MonthUsage]:
    """The usage of `period` for each client in `zones` (tenant id -> its time zone). Calls and
    chats of a client without a plan are not rounded (no increment) and count as nothing."""
    usage: dict[int, MonthUsage] = defaultdict(MonthUsage)
    by_zone: dict[str, list[int]] = defaultdict(list)
    for tenant_id, zone in zones.items():
        by_zone[zone].append(tenant_id)
    for zone, ids in by_zone.items():
        for chunk in _chunks(sorted(ids), 1000):
            where = _in_month(chunk, period, zone)
            _counted(usage, where)
            _metered(usage, where)
    return {tenant_id: usage[tenant_id] for tenant_id in zones}


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for index in range(0, len(items), size):
        yield items[index : index + size]
