"""The monthly run: one draft invoice per client with a plan, built from the ledger and the plan.

Re-runnable for any month: a draft is rebuilt in place (same number, its lines replaced), a
finalized, sent, paid or overdue invoice is left alone, and a month whose invoice was voided gets
the next revision ("ALPINA-2026-11-2"). Numbers read PREFIX-YYYY-MM, the prefix being the client's
ticket prefix (unique per client), so they are unique and readable.

The usage of all clients is summed in the database (`billing.aggregate`), not row by row, so the
run stays well under a minute for 500 clients and two million ledger rows.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import delete, select

from billing.aggregate import month_usage
from billing.models import Invoice, InvoiceLine, InvoiceStatus, Plan
from billing.periods import local_month, month_start, next_month
from billing.rating import MonthUsage, Rated, contract_days, rate
from core import audit
from core.extensions import db
from core.models_base import utcnow
from tenants.models import Tenant

# An invoice in one of these states is the month's bill: a re-run does not touch it.
SETTLED = (InvoiceStatus.FINALIZED, InvoiceStatus.SENT, InvoiceStatus.PAID, InvoiceStatus.OVERDUE)


@dataclass
class RunResult:
    period: date
    created: list[int] = field(default_factory=list)  # invoice ids
    rebuilt: list[int] = field(default_factory=list)
    left_alone: list[int] = field(default_factory=list)  # finalized and later: never rebuilt
    seconds: float = 0.0

    @property
    def invoice_ids(self) -> list[int]:
        return [*self.created, *self.rebuilt]


def invoice_number(tenant: Tenant, period: date, revision: int) -> str:
    number = f"{tenant.ticket_prefix}-{period.year:04d}-{period.month:02d}"
    return number if revision == 1 else f"{number}-{revision}"


def invoice_locale(language: str, currency: str) -> str:
    """The locale an invoice is formatted in: the language, with Swiss conventions for francs."""
    return f"{language}_CH" if currency == "CHF" else language


def _contracts(period: date, tenant_ids: Iterable[int] | None) -> list[tuple[Plan, Tenant]]:
    query = select(Plan, Tenant).join(Tenant, Tenant.id == Plan.tenant_id).order_by(Plan.tenant_id)
    if tenant_ids is not None:
        query = query.where(Plan.tenant_id.in_(list(tenant_ids)))
    return [(plan, tenant) for plan, tenant in db.session.execute(query) if contract_days(plan, period)]


def _latest(period: date, tenant_ids: list[int]) -> dict[int, Invoice]:
    latest: dict[int, Invoice] = {}
    for invoice in db.session.scalars(
        select(Invoice)
        .where(Invoice.period_start == period, Invoice.tenant_id.in_(tenant_ids))
        .order_by(Invoice.tenant_id, Invoice.revision)
    ):
        latest[invoice.tenant_id] = invoice
    return latest


def _fill(invoice: Invoice, tenant: Tenant, rated: Rated, now: datetime) -> list[InvoiceLine]:
    invoice.currency = tenant.currency
    invoice.locale = invoice_locale(tenant.default_language, tenant.currency)
    invoice.vat_rate_bp = rated.vat_rate_bp
    invoice.subtotal, invoice.vat_amount, invoice.total = rated.subtotal, rated.vat_amount, rated.total
    invoice.built_at = now
    return [
        InvoiceLine(
            tenant_id=tenant.id,
            invoice_id=invoice.id,
            position=position,
            kind=line.kind,
            quantity=line.quantity,
            unit=line.unit,
            unit_price=line.unit_price,
            amount=line.amount,
            data=line.data,
        )
        for position, line in enumerate(rated.lines, start=1)
    ]


def run_month(
    period: date, tenant_ids: Iterable[int] | None = None, *, now: datetime | None = None
) -> RunResult:
    """Build or rebuild the drafts of `period` (any day of the month) for the clients in scope
    (or only `tenant_ids`). Flushes; the caller commits."""
    started = time.perf_counter()
    now = now or utcnow()
    period = month_start(period)
    result = RunResult(period)
    contracts = _contracts(period, tenant_ids)
    latest = _latest(period, [tenant.id for _plan, tenant in contracts])
    todo: list[tuple[Plan, Tenant, Invoice | None]] = []
    for plan, tenant in contracts:
        invoice = latest.get(tenant.id)
        if invoice is not None and invoice.status in SETTLED:
            result.left_alone.append(invoice.id)
        else:
            todo.append((plan, tenant, invoice))
    usage = month_usage(period, {tenant.id: tenant.timezone for _plan, tenant, _invoice in todo})
    drafts: list[tuple[Invoice, Tenant, Rated, bool]] = []
    for plan, tenant, invoice in todo:
        rated = rate(
            plan,
            usage[tenant.id],
            period,
            languages=tenant.languages,
            default_language=tenant.default_language,
        )
        if rated is None:  # pragma: no cover  (contracts are filtered above)
            continue
        fresh = invoice is None or invoice.status != InvoiceStatus.DRAFT
        if invoice is not None and not fresh:
            result.rebuilt.append(invoice.id)
        else:
            revision = invoice.revision + 1 if invoice is not None else 1
            invoice = Invoice(
                tenant_id=tenant.id,
                number=invoice_number(tenant, period, revision),
                revision=revision,
                period_start=period,
                period_end=next_month(period),
                status=InvoiceStatus.DRAFT.value,
                currency=tenant.currency,
                locale=invoice_locale(tenant.default_language, tenant.currency),
            )
            db.session.add(invoice)
        drafts.append((invoice, tenant, rated, fresh))
    db.session.flush()
    if result.rebuilt:
        db.session.execute(
            delete(InvoiceLine)
            .where(InvoiceLine.invoice_id.in_(result.rebuilt))
            .execution_options(synchronize_session=False)
        )
    lines: list[InvoiceLine] = []
    for invoice, tenant, rated, fresh in drafts:
        if fresh:
            result.created.append(invoice.id)
        lines.extend(_fill(invoice, tenant, rated, now))
    db.session.add_all(lines)
    db.session.flush()
    result.seconds = time.perf_counter() - started
    audit.record(
        "billing.month_run",
        tenant_id=None,
        data={
            "period": period.isoformat(),
            "created": len(result.created),
            "rebuilt": len(result.rebuilt),
            "left_alone": len(result.left_alone),
        },
    )
    return result


def lines_of(invoice: Invoice) -> list[InvoiceLine]:
    return list(
        db.session.scalars(
            select(InvoiceLine)
            .where(InvoiceLine.tenant_id == invoice.tenant_id, InvoiceLine.invoice_id == invoice.id)
            .order_by(InvoiceLine.position, InvoiceLine.id)
        )
    )


@dataclass(frozen=True)
class Estimate:
    """The running month of one client: its usage so far, rated as the invoice would be."""

    period: date
    usage: MonthUsage
    rated: Rated | None


def estimate(tenant: Tenant, plan: Plan | None, *, now: datetime | None = None) -> Estimate:
    period = local_month(now or utcnow(), tenant.timezone)
    month = month_usage(period, {tenant.id: tenant.timezone})[tenant.id]
    rated = None
    if plan is not None:
        rated = rate(
            plan, month, period, languages=tenant.languages, default_language=tenant.default_language
        )
    return Estimate(period, month, rated)
