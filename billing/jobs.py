"""Billing's sweeps: last month's drafts once the month is over, and overdue invoices.

Both are idempotent, so the scheduler may run them as often as it likes: the month sweep builds a
client's draft only while the client has no invoice at all for that month (a re-run of a month is
the provider admin's decision, from the billing pages or the CLI), and an invoice becomes overdue
once.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import select

from billing import invoices
from billing.invoice_run import RunResult, run_month
from billing.models import Invoice, InvoiceStatus, Plan
from billing.periods import local_month, previous_month
from billing.rating import contract_days
from core import scheduler
from core.extensions import db
from core.models_base import utcnow
from tenants.models import Tenant

# Usage recorded just after midnight may still belong to the month that ended (a chat ends after
# it): the drafts are built this long after the client's month is over.
SETTLE_TIME = timedelta(hours=2)
OVERDUE_BATCH = 500


def months_due(now: datetime) -> dict[date, list[int]]:
    """The clients whose last month is over (plus the settle time) and still has no invoice,
    grouped by that month."""
    due: dict[date, list[int]] = defaultdict(list)
    for plan, tenant in db.session.execute(select(Plan, Tenant).join(Tenant, Tenant.id == Plan.tenant_id)):
        period = previous_month(local_month(now - SETTLE_TIME, tenant.timezone))
        if contract_days(plan, period):
            due[period].append(tenant.id)
    for period, tenant_ids in list(due.items()):
        billed = set(
            db.session.scalars(
                select(Invoice.tenant_id).where(
                    Invoice.period_start == period, Invoice.tenant_id.in_(tenant_ids)
                )
            )
        )
        due[period] = [tenant_id for tenant_id in tenant_ids if tenant_id not in billed]
        if not due[period]:
            del due[period]
    return dict(due)


def build_due_months(now: datetime | None = None) -> list[RunResult]:
    now = now or utcnow()
    return [run_month(period, tenant_ids, now=now) for period, tenant_ids in sorted(months_due(now).items())]


def mark_overdue(now: datetime | None = None, limit: int = OVERDUE_BATCH) -> int:
    """Finalized or sent invoices past their due date become overdue."""
    now = now or utcnow()
    late = list(
        db.session.scalars(
            select(Invoice)
            .where(
                Invoice.status.in_([InvoiceStatus.FINALIZED.value, InvoiceStatus.SENT.value]),
                Invoice.due_at < now,
            )
            .order_by(Invoice.due_at)
            .limit(limit)
        )
    )
    for invoice in late:
        invoices.mark_overdue(invoice)
    db.session.flush()
    return len(late)


@scheduler.periodic("billing.month_run", every=timedelta(hours=1), queue="billing")
def month_run_sweep(tenant_id: None) -> int:
    return sum(len(result.created) for result in build_due_months())


@scheduler.periodic("billing.overdue", every=timedelta(hours=1), queue="billing")
def overdue_sweep(tenant_id: None) -> int:
    return mark_overdue()
