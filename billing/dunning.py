"""Dunning: after a failed payment, reminders, and suspension when the grace period runs out.

Stripe's `invoice.payment_failed` puts the account in "reminded" (billing.stripe_events calls
`payment_failed`): the first reminder goes out at once, to the billing address and the client's
admins, in the client's language. The hourly sweep then mails one reminder every
`DUNNING_REMINDER_DAYS` days, counted from the failure, and once the account's own grace period
(`BillingAccount.dunning_grace_days`) has passed it suspends the client with `source="dunning"`.
Reminder k is due at failure + k × interval and carries k in its outbox dedupe key, so two sweeps
(or two schedulers) send it once.

An invoice "fails" while Stripe reported a failed payment for it and we hold it neither paid nor
void. When none is left (paid through Stripe or by hand, or voided), dunning ends: the paid-listener
ends it at once, the sweep catches voids; a suspension that dunning imposed is lifted, one that an
admin imposed is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask import current_app, render_template
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select

from billing.accounts import account_for, billing_recipients
from billing.documents import money_formatter
from billing.invoice_run import invoice_locale
from billing.models import (
    BillingAccount,
    DunningStage,
    Invoice,
    InvoiceStatus,
    StripeEvent,
    StripeEventStatus,
)
from core import audit, scheduler
from core.audit import AuditEvent
from core.extensions import db
from core.mail import absolute_url, send_email
from core.models_base import utcnow
from tenants import lifecycle
from tenants.models import Tenant

FAILED_EVENT = "invoice.payment_failed"


def failing_invoices(tenant_id: int) -> list[Invoice]:
    """The tenant's invoices whose Stripe payment failed and that are still owed."""
    events = db.session.scalars(
        select(StripeEvent).where(
            StripeEvent.tenant_id == tenant_id,
            StripeEvent.type == FAILED_EVENT,
            StripeEvent.status == StripeEventStatus.PROCESSED.value,
        )
    )
    stripe_ids = {str(event.payload.get("data", {}).get("object", {}).get("id")) for event in events}
    if not stripe_ids:
        return []
    return list(
        db.session.scalars(
            select(Invoice)
            .where(
                Invoice.tenant_id == tenant_id,
                Invoice.stripe_invoice_id.in_(sorted(stripe_ids)),
                Invoice.status.not_in([InvoiceStatus.PAID.value, InvoiceStatus.VOID.value]),
            )
            .order_by(Invoice.period_start, Invoice.id)
        )
    )


def _interval() -> timedelta:
    return timedelta(days=max(1, int(current_app.config["DUNNING_REMINDER_DAYS"])))


def deadline(account: BillingAccount) -> datetime | None:
    """When the client is suspended unless it pays."""
    if account.payment_failed_at is None:
        return None
    return account.payment_failed_at + timedelta(days=account.dunning_grace_days)


def payment_failed(tenant_id: int, *, at: datetime, invoice: Invoice | None = None) -> BillingAccount:
    """Stripe could not collect: start dunning (and remind at once), or count one more failure."""
    account = account_for(tenant_id)
    account.failed_payments += 1
    data = {"invoice": invoice.number if invoice else None, "failures": account.failed_payments}
    if account.dunning_stage != DunningStage.NONE:
        audit.record("billing.payment_failed", tenant_id=tenant_id, target=account, data=data)
        return account
    account.dunning_stage = DunningStage.REMINDED.value
    account.payment_failed_at = at
    account.last_reminder_at = None
    audit.record("billing.dunning_started", tenant_id=tenant_id, target=account, data=data)
    _remind(account, 0, now=utcnow())
    return account


def payment_received(invoice: Invoice) -> None:
    """The paid-listener (Stripe or by hand): ends dunning once nothing failing is left."""
    account = db.session.scalar(select(BillingAccount).where(BillingAccount.tenant_id == invoice.tenant_id))
    if account is None or account.dunning_stage == DunningStage.NONE:
        return
    if not [other for other in failing_invoices(invoice.tenant_id) if other.id != invoice.id]:
        _end(account, reason="paid")


def _end(account: BillingAccount, *, reason: str) -> None:
    suspended_by_dunning = account.dunning_stage == DunningStage.SUSPENDED
    account.dunning_stage = DunningStage.NONE.value
    account.payment_failed_at = None
    account.last_reminder_at = None
    account.failed_payments = 0
    audit.record(
        "billing.dunning_ended", tenant_id=account.tenant_id, target=account, data={"reason": reason}
    )
    tenant = db.session.get_one(Tenant, account.tenant_id)
    if suspended_by_dunning and tenant.is_suspended and _last_suspension_source(tenant) == "dunning":
        lifecycle.reactivate(tenant, source="payment")


def _last_suspension_source(tenant: Tenant) -> str | None:
    """Who imposed the tenant's current suspension, from its audit trail."""
    event = db.session.scalar(
        select(AuditEvent)
        .where(AuditEvent.tenant_id == tenant.id, AuditEvent.action == "tenant.suspended")
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    return None if event is None else event.data.get("source")


@dataclass
class _Details:
    """What the mails say, formatted in the client's language, currency and time zone."""

    tenant: Tenant
    invoices: list[dict[str, str]]
    deadline: str
    url: str


def _details(account: BillingAccount, tenant: Tenant) -> _Details:
    locale = tenant.default_language
    zone = ZoneInfo(tenant.timezone)

    def day(value: datetime | None) -> str:
        return format_date(value.astimezone(zone).date(), "long", locale=locale) if value else ""

    return _Details(
        tenant=tenant,
        invoices=[
            {
                "number": invoice.number,
                "total": money_formatter(invoice_locale(locale, invoice.currency), invoice.currency)(
                    invoice.total
                ),
                "due": day(invoice.due_at),
            }
            for invoice in failing_invoices(tenant.id)
        ],
        deadline=day(deadline(account)),
        url=absolute_url("billing_portal.index"),
    )


def _mail(account: BillingAccount, kind: str, key: str) -> None:
    """The `kind` ("reminder" or "suspended") mail to everyone who hears about money."""
    tenant = db.session.get_one(Tenant, account.tenant_id)
    with force_locale(tenant.default_language):
        details = _details(account, tenant)
        if kind == "suspended":
            subject = _("%(client)s: suspended for non-payment", client=tenant.name)
        else:
            subject = ngettext(
                "%(client)s: a payment failed (%(num)d invoice open)",
                "%(client)s: a payment failed (%(num)d invoices open)",
                max(1, len(details.invoices)),
                client=tenant.name,
            )
        text = render_template(f"billing/email/dunning_{kind}.txt", **vars(details))
    for email in billing_recipients(account):
        send_email(
            to=email,
            subject=subject,
            text=text,
            tenant_id=account.tenant_id,
            headers={"Auto-Submitted": "auto-generated"},
            dedupe_key=f"{key}:{email.lower()}"[:200],
        )


def _episode(account: BillingAccount) -> str:
    """Names one stretch of dunning (from one first failure to its end) in dedupe keys."""
    started = account.payment_failed_at
    return f"dunning:{account.id}:{int(started.timestamp()) if started else 0}"


def _remind(account: BillingAccount, number: int, *, now: datetime) -> None:
    _mail(account, "reminder", f"{_episode(account)}:reminder:{number}")
    account.last_reminder_at = now
    audit.record(
        "billing.dunning_reminder", tenant_id=account.tenant_id, target=account, data={"number": number}
    )


def _suspend(account: BillingAccount, *, now: datetime) -> None:
    tenant = db.session.get_one(Tenant, account.tenant_id)
    account.dunning_stage = DunningStage.SUSPENDED.value
    if tenant.is_suspended:  # an admin got there first; payment will not lift their suspension
        audit.record("billing.dunning_suspended", tenant_id=tenant.id, target=account, data={"already": True})
        return
    with force_locale(tenant.default_language):
        unpaid = [invoice.number for invoice in failing_invoices(tenant.id)]
        reason = ngettext(
            "Suspended for non-payment: invoice %(numbers)s is still unpaid after the grace period.",
            "Suspended for non-payment: invoices %(numbers)s are still unpaid after the grace period.",
            len(unpaid),
            numbers=", ".join(unpaid),
        )
    lifecycle.suspend(tenant, reason, source="dunning")
    audit.record("billing.dunning_suspended", tenant_id=tenant.id, target=account, data={"already": False})
    _mail(account, "suspended", f"{_episode(account)}:suspended")


def advance(account: BillingAccount, *, now: datetime) -> None:
    """One account's due step: end, suspend, or the reminder whose time has come."""
    if account.dunning_stage == DunningStage.NONE or account.payment_failed_at is None:
        return
    if not failing_invoices(account.tenant_id):
        _end(account, reason="settled")
        return
    if account.dunning_stage != DunningStage.REMINDED:
        return
    due = deadline(account)
    if due is not None and now >= due:
        _suspend(account, now=now)
        return
    interval, started = _interval(), account.payment_failed_at
    slot = (now - started) // interval
    last = -1 if account.last_reminder_at is None else (account.last_reminder_at - started) // interval
    if slot > last:
        _remind(account, slot, now=now)


def sweep(now: datetime | None = None) -> int:
    """Every account in dunning, across tenants (system scope); returns how many were looked at."""
    now = now or utcnow()
    accounts = db.session.scalars(
        select(BillingAccount)
        .where(BillingAccount.dunning_stage != DunningStage.NONE.value)
        .order_by(BillingAccount.id)
    ).all()
    for account in accounts:
        advance(account, now=now)
    db.session.flush()
    return len(accounts)


@scheduler.periodic("billing.dunning_sweep", every=timedelta(hours=1), queue="billing")
def dunning_sweep(tenant_id: None, now: datetime | None = None) -> int:
    return sweep(now)
