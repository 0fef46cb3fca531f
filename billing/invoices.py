"""An invoice's life: draft → finalized → sent → paid, or overdue, or void.

Every change goes through `_move`, which knows the allowed transitions, stamps the time and
writes the audit row; listeners (the Stripe push) hear of finalization in the same transaction,
so what they put in the outbox commits with the status.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from billing.accounts import find_account
from billing.documents import issuer_name, money_formatter
from billing.labels import status_label
from billing.models import Invoice, InvoiceStatus
from billing.plans import plan_for
from core import audit
from core.errors import Conflict, NotFound, ValidationFailed
from core.extensions import db
from core.mail import absolute_url, send_email
from core.models_base import utcnow
from tenants.models import Tenant

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


def client_invoice(invoice_id: int) -> Invoice:
    """An invoice as the client sees it: drafts are the provider's work in progress, not found."""
    invoice = get_invoice(invoice_id)
    if invoice.status == S.DRAFT:
        raise NotFound(_("This invoice does not exist."))
    return invoice


def _move(invoice: Invoice, to: InvoiceStatus, **data: object) -> None:
    if to.value not in ALLOWED[InvoiceStatus(invoice.status)]:
        raise Conflict(
            _(
                "The invoice is “%(status)s” and cannot become “%(target)s”.",
                status=status_label(invoice.status),
                target=status_label(to.value),
            )
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


def _required(text: str, field: str, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(fields={field: message})
    if len(text) > 300:
        raise ValidationFailed(fields={field: _("At most %(count)d characters.", count=300)})
    return text


def pay_by_hand(invoice: Invoice, note: str, *, now: datetime | None = None) -> None:
    """A payment that arrived outside Stripe (a bank transfer): the note says which."""
    if invoice.status == S.PAID:
        raise Conflict(_("This invoice is paid already."))
    mark_paid(invoice, note=_required(note, "note", _("Say how it was paid.")), paid_at=now, source="manual")


def cancel(invoice: Invoice, reason: str, *, now: datetime | None = None) -> None:
    """Void with the reason on record; the month can then be built again as the next revision."""
    void(invoice, reason=_required(reason, "reason", _("Say why the invoice is void.")), now=now)


def send(invoice: Invoice, *, now: datetime | None = None) -> None:
    """Mark a finalized invoice sent and mail its link to the client's billing address, in the
    client's language; the mail leaves through the outbox after the commit."""
    tenant = db.session.get_one(Tenant, invoice.tenant_id)
    account = find_account(invoice.tenant_id)
    if account is None or not account.billing_email:
        raise ValidationFailed(
            _("This client has no billing e-mail address; add it to the plan first."),
            fields={"billing_email": _("Add a billing e-mail address.")},
        )
    mark_sent(invoice, now=now)
    money = money_formatter(invoice.locale, invoice.currency)
    with force_locale(tenant.default_language):
        subject = _("Invoice %(number)s", number=invoice.number)
        text = render_template(
            "billing/email/invoice_sent.txt",
            tenant=tenant,
            invoice=invoice,
            total=money(invoice.total),
            due=format_date(
                invoice.due_at.astimezone(ZoneInfo(tenant.timezone)).date(), "long", locale=invoice.locale
            )
            if invoice.due_at
            else "",
            link=absolute_url("billing_portal.invoice", invoice_id=invoice.id),
            issuer=issuer_name(),
        )
    send_email(
        to=account.billing_email,
        subject=subject,
        text=text,
        tenant_id=invoice.tenant_id,
        dedupe_key=f"invoice-sent:{invoice.id}",
    )
