"""What the provider admin reads across clients: invoices with filters, revenue per month and per
client, and a client's ledger. Sums are per currency, always: francs and euros never add up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, select

from billing.models import Invoice, InvoiceStatus, UsageEvent
from core.extensions import db

# Revenue is what was billed (finalized and later): not drafts, not void invoices.
BILLED = (InvoiceStatus.FINALIZED, InvoiceStatus.SENT, InvoiceStatus.PAID, InvoiceStatus.OVERDUE)
PAGE = 100


@dataclass(frozen=True)
class InvoiceFilter:
    period: date | None = None
    tenant_id: int | None = None
    status: str | None = None


@dataclass(frozen=True)
class Revenue:
    key: Any  # the month (a date) or the client (its id)
    currency: str
    billed: int
    paid: int
    invoices: int


def invoices(flt: InvoiceFilter, *, limit: int = PAGE) -> list[Invoice]:
    query = select(Invoice).order_by(Invoice.period_start.desc(), Invoice.number).limit(limit)
    if flt.period is not None:
        query = query.where(Invoice.period_start == flt.period)
    if flt.tenant_id is not None:
        query = query.where(Invoice.tenant_id == flt.tenant_id)
    if flt.status is not None:
        query = query.where(Invoice.status == flt.status)
    return list(db.session.scalars(query))


def _revenue(key: Any, *where: Any) -> list[Revenue]:
    paid = case((Invoice.status == InvoiceStatus.PAID.value, Invoice.total), else_=0)
    query = (
        select(key, Invoice.currency, func.sum(Invoice.total), func.sum(paid), func.count(Invoice.id))
        .where(Invoice.status.in_([s.value for s in BILLED]), *where)
        .group_by(key, Invoice.currency)
        .order_by(key.desc(), Invoice.currency)
    )
    return [
        Revenue(row_key, currency, int(billed or 0), int(paid_sum or 0), int(count))
        for row_key, currency, billed, paid_sum, count in db.session.execute(query)
    ]


def revenue_by_month(*, since: date | None = None) -> list[Revenue]:
    return _revenue(Invoice.period_start, *([Invoice.period_start >= since] if since else []))


def revenue_by_client(*, period: date | None = None) -> list[Revenue]:
    return _revenue(Invoice.tenant_id, *([Invoice.period_start == period] if period else []))


def ledger(
    tenant_id: int, *, start: datetime | None = None, end: datetime | None = None, limit: int = PAGE
) -> list[UsageEvent]:
    """A client's ledger rows, newest first."""
    query = select(UsageEvent).where(UsageEvent.tenant_id == tenant_id)
    if start is not None:
        query = query.where(UsageEvent.occurred_at >= start)
    if end is not None:
        query = query.where(UsageEvent.occurred_at < end)
    return list(
        db.session.scalars(query.order_by(UsageEvent.occurred_at.desc(), UsageEvent.id.desc()).limit(limit))
    )
