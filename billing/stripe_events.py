"""What a verified Stripe event does here, once.

Every event is stored by its id before it is acted on (`StripeEvent`, unique `event_id`), so a
redelivery finds the row and changes nothing, and two deliveries racing each other meet at the
unique constraint. The customer on the event names the tenant (`BillingAccount.stripe_customer_id`);
the event is then handled in that tenant's scope only. Events may come in any order:

- `invoice.finalized` records Stripe's number and status on our invoice (and links the invoice
  if the push failed before it could store the Stripe id); a status never moves backwards, so a
  "finalized" that arrives after "paid" changes nothing but the number.
- `invoice.paid` marks the invoice paid (`source="stripe"`); the paid-listener ends dunning and
  lifts a suspension that dunning imposed. A second "paid" is a no-op.
- `invoice.payment_failed` starts dunning, or counts one more failure; one for an invoice that is
  already paid or void is older than the payment and is ignored, so it never reopens dunning.
- `customer.subscription.deleted`: Firstline bills with one-off invoices and makes no
  subscriptions itself; a subscription exists only if the provider set one up in Stripe (a card
  charged for a recurring fee, say). Its deletion means Stripe stopped billing that client by
  itself: someone cancelled it, or Stripe did after its last payment retry failed. What follows
  is a business decision (the contract, the plan), so nothing changes automatically: the account
  is marked (`subscription_ended_at`), the change audited, and the event listed among the flagged.

An event for a customer we do not know is stored as `unknown_customer` and flagged for the provider
admins; one that our rules refuse (say, "paid" for an invoice we voided) is stored as `failed` with
the reason, also flagged. Anything unexpected raises, so the webhook answers 500, nothing is
stored, and Stripe delivers the event again later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, or_, select
from sqlalchemy.exc import IntegrityError

from billing import dunning, invoices
from billing.models import BillingAccount, Invoice, InvoiceStatus, StripeEvent, StripeEventStatus
from billing.stripe_push import record_stripe_state
from core import audit, tenancy
from core.errors import ServiceError
from core.extensions import db

Status = StripeEventStatus
SUBSCRIPTION_DELETED = "customer.subscription.deleted"
# Why an event was ignored, as codes (the events page words them in the reader's language).
NOT_OURS = "not_ours"
PAID_ALREADY = "paid_already"
OLDER_THAN_PAYMENT = "older_than_payment"


@dataclass(frozen=True)
class Received:
    event: StripeEvent
    duplicate: bool


def _customer_of(obj: Mapping[str, Any]) -> str | None:
    if obj.get("object") == "customer":
        return str(obj.get("id") or "") or None
    customer = obj.get("customer")
    if isinstance(customer, Mapping):  # an expanded customer
        customer = customer.get("id")
    return str(customer) if customer else None


def _at(timestamp: object) -> datetime:
    return datetime.fromtimestamp(int(timestamp or 0), UTC)  # type: ignore[call-overload]


def _invoice_for(obj: Mapping[str, Any]) -> Invoice | None:
    """Ours by its Stripe id, else by the id our push wrote into the metadata (then linked)."""
    stripe_id = str(obj.get("id") or "")
    invoice = db.session.scalar(select(Invoice).where(Invoice.stripe_invoice_id == stripe_id))
    if invoice is not None:
        return invoice
    ours = str((obj.get("metadata") or {}).get("firstline_invoice_id") or "")
    if not ours.isdigit():
        return None
    invoice = db.session.scalar(
        select(Invoice).where(Invoice.id == int(ours), Invoice.stripe_invoice_id.is_(None))
    )
    if invoice is not None:
        invoice.stripe_invoice_id = stripe_id[:64]
    return invoice


# --- one function per event type: each sets the row's status (processed unless it says else) ---


def _finalized(row: StripeEvent, account: BillingAccount, obj: Mapping[str, Any]) -> None:
    invoice = _invoice_for(obj)
    if invoice is None:
        row.status, row.error = Status.IGNORED.value, NOT_OURS
        return
    record_stripe_state(invoice, obj.get("status"), obj.get("number"))
    audit.record(
        "invoice.stripe_finalized",
        tenant_id=invoice.tenant_id,
        target=invoice,
        data={"stripe_number": obj.get("number"), "hosted_invoice_url": obj.get("hosted_invoice_url")},
    )


def _paid(row: StripeEvent, account: BillingAccount, obj: Mapping[str, Any]) -> None:
    invoice = _invoice_for(obj)
    if invoice is None:
        row.status, row.error = Status.IGNORED.value, NOT_OURS
        return
    record_stripe_state(invoice, "paid", obj.get("number"))
    paid_at = (obj.get("status_transitions") or {}).get("paid_at")
    changed = invoices.mark_paid(
        invoice,
        note=f"Stripe {obj.get('number') or obj.get('id')}",
        paid_at=_at(paid_at) if paid_at else row.stripe_created,
        source="stripe",
    )
    if not changed:
        row.status, row.error = Status.IGNORED.value, PAID_ALREADY


def _payment_failed(row: StripeEvent, account: BillingAccount, obj: Mapping[str, Any]) -> None:
    invoice = _invoice_for(obj)
    if invoice is None:
        row.status, row.error = Status.IGNORED.value, NOT_OURS
        return
    settled = (InvoiceStatus.PAID.value, InvoiceStatus.VOID.value)
    if invoice.status in settled or invoice.stripe_status in ("paid", "void"):
        row.status, row.error = Status.IGNORED.value, OLDER_THAN_PAYMENT
        return
    record_stripe_state(invoice, obj.get("status"), obj.get("number"))
    dunning.payment_failed(account.tenant_id, at=row.stripe_created, invoice=invoice)


def _subscription_deleted(row: StripeEvent, account: BillingAccount, obj: Mapping[str, Any]) -> None:
    if account.subscription_ended_at is None or account.subscription_ended_at < row.stripe_created:
        account.subscription_ended_at = row.stripe_created
    audit.record(
        "billing.stripe_subscription_ended",
        tenant_id=account.tenant_id,
        target=account,
        data={
            "subscription": obj.get("id"),
            "reason": (obj.get("cancellation_details") or {}).get("reason"),
        },
    )


HANDLERS: dict[str, Callable[[StripeEvent, BillingAccount, Mapping[str, Any]], None]] = {
    "invoice.finalized": _finalized,
    "invoice.paid": _paid,
    "invoice.payment_failed": _payment_failed,
    SUBSCRIPTION_DELETED: _subscription_deleted,
}


def receive(document: Mapping[str, Any]) -> Received:
    """Store and act on one verified event (the webhook's body, already parsed)."""
    data = document.get("data")
    found = data.get("object") if isinstance(data, dict) else None
    obj: Mapping[str, Any] = found if isinstance(found, dict) else {}
    event_id = str(document["id"])[:100]
    kind = str(document.get("type") or "")[:80]
    customer = _customer_of(obj)
    with tenancy.system_scope():
        existing = db.session.scalar(select(StripeEvent).where(StripeEvent.event_id == event_id))
        if existing is not None:
            return Received(existing, True)
        account = None
        if customer:
            account = db.session.scalar(
                select(BillingAccount).where(BillingAccount.stripe_customer_id == customer)
            )
        row = StripeEvent(
            event_id=event_id,
            type=kind,
            stripe_created=_at(document.get("created")),
            customer_id=customer[:64] if customer else None,
            payload=dict(document),
            tenant_id=account.tenant_id if account else None,
            status=Status.PROCESSED.value,
        )
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:  # the same event, delivered twice at once: the other one acts
            first = db.session.scalars(select(StripeEvent).where(StripeEvent.event_id == event_id)).one()
            return Received(first, True)
        handler = HANDLERS.get(kind)
        if handler is None:
            row.status = Status.IGNORED.value
        elif account is None:
            row.status = Status.UNKNOWN_CUSTOMER.value if customer else Status.IGNORED.value
        db.session.flush()
    if handler is None or account is None:
        return Received(row, False)
    with tenancy.only(account.tenant_id):
        try:
            with db.session.begin_nested():
                handler(row, account, obj)
                db.session.flush()
        except ServiceError as exc:
            row.status, row.error = Status.FAILED.value, str(exc.message)[:2000]
        db.session.flush()
    return Received(row, False)


def flagged_clause() -> Any:
    """What a provider admin should look at: unknown customers, refused events, ended subscriptions."""
    return or_(
        StripeEvent.status.in_([Status.UNKNOWN_CUSTOMER.value, Status.FAILED.value]),
        StripeEvent.type == SUBSCRIPTION_DELETED,
    )


def recent(limit: int = 200) -> list[tuple[StripeEvent, bool]]:
    """The newest events, flagged ones first, each with whether it is flagged."""
    flagged = case((flagged_clause(), 1), else_=0)
    rows = db.session.execute(
        select(StripeEvent, flagged)
        .order_by(flagged.desc(), StripeEvent.received_at.desc(), StripeEvent.id.desc())
        .limit(limit)
    ).all()
    return [(event, bool(is_flagged)) for event, is_flagged in rows]
