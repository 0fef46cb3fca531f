"""An invoice's life: draft → finalized → sent → paid, or overdue, or void.

Every change goes through `_move`, which knows the allowed transitions, stamps the time and
writes the audit row; listeners (the Stripe push) hear of finalization in the same transaction,
so what they put in the outbox commits with the status.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from billing.models import Invoice, InvoiceStatus
from billing.plans import plan_for
from core import audit
from core.errors import Conflict, NotFound
from core.extensions import db
from core.models_base import utcnow

S = InvoiceStatus
ALLOWED: dict[str, set[str]] = {
    S.DRAFT: {S.FINALIZED, S.VOID},
    S.FINALIZED: {S.SENT, S.PAID, S.OVERDUE, S.VOID},
    S.SENT: {S.PAID, S.OVERDUE, S.VOID},
    S.OVERDUE: {S.PAID, S.VOID},
    S.PAID: set(),
    S.VOID: set(),
}
Listener = Callable[[Invoice], None]
finalized_listeners: list[Listener] = []
paid_listeners: list[Listener] = []


def get_invoice(invoice_id: int) -> Invoice:
    """Through the tenancy scope: another tenant's invoice is simply not found."""
    invoice = db.session.scalar(select(Invoice).where(Invoice.id == invoice_id))
    if invoice is None:
        raise NotFound(_("This invoice does not exist."))
    return invoice


def _move(invoice: Invoice, to: InvoiceStatus, **data: object) -> None:
    if to.value not in ALLOWED[InvoiceStatus(invoice.status)]:
        raise Conflict(
            _("A %(status)s invoice cannot become %(target)s.", status=_(invoice.status), target=_(to.value))
        )
    audit.record(
        f"invoice.{to.value}",
        tenant_id=invoice.tenant_id,
        target=invoice,
        data={"from": invoice.status, "number": invoice.number, **data},
    )
    invoice.status = to.value


def finalize(invoice: Invoice, *, now: datetime | None = None) -> None:
    """Freeze the lines; the due date follows the plan's payment terms."""
    now = now or utcnow()
    _move(invoice, S.FINALIZED)
    plan = plan_for(invoice.tenant_id)
    invoice.finalized_at = now
    invoice.due_at = now + timedelta(days=plan.payment_terms_days if plan else 30)
    for listener in finalized_listeners:
        listener(invoice)


def mark_sent(invoice: Invoice, *, now: datetime | None = None) -> None:
    _move(invoice, S.SENT)
    invoice.sent_at = now or utcnow()


def mark_paid(
    invoice: Invoice, *, note: str = "", paid_at: datetime | None = None, source: str = "manual"
) -> bool:
    """False when it was paid already (a redelivered payment event changes nothing)."""
    if invoice.status == S.PAID:
        return False
    _move(invoice, S.PAID, source=source, note=note)
    invoice.paid_at = paid_at or utcnow()
    invoice.payment_note = note.strip()[:300]
    for listener in paid_listeners:
        listener(invoice)
    return True


def mark_overdue(invoice: Invoice) -> None:
    _move(invoice, S.OVERDUE)


def void(invoice: Invoice, *, reason: str = "", now: datetime | None = None) -> None:
    _move(invoice, S.VOID, reason=reason)
    invoice.voided_at = now or utcnow()
    invoice.payment_note = reason.strip()[:300]
