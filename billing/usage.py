"""Recording usage. Every channel's intake and every booked minute call `record`; invoices,
reports and plan limits read the ledger (the billing issue builds those on top)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from billing.models import UsageEvent, UsageKind
from core.extensions import db
from core.models_base import utcnow


def record(
    tenant_id: int,
    kind: UsageKind,
    key: str,
    *,
    quantity: int = 1,
    ticket_id: int | None = None,
    data: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> UsageEvent:
    existing = db.session.scalar(
        select(UsageEvent).where(UsageEvent.tenant_id == tenant_id, UsageEvent.key == key)
    )
    if existing is not None:
        return existing
    event = UsageEvent(
        tenant_id=tenant_id,
        kind=kind.value,
        key=key[:120],
        quantity=quantity,
        ticket_id=ticket_id,
        data=data or {},
        occurred_at=occurred_at or utcnow(),
    )
    db.session.add(event)
    return event


def totals(tenant_id: int, start: datetime, end: datetime) -> dict[str, int]:
    rows = db.session.execute(
        select(UsageEvent.kind, func.sum(UsageEvent.quantity))
        .where(
            UsageEvent.tenant_id == tenant_id, UsageEvent.occurred_at >= start, UsageEvent.occurred_at < end
        )
        .group_by(UsageEvent.kind)
    )
    return {kind: int(total or 0) for kind, total in rows}
