"""Finalized invoices go to Stripe through the outbox, and a retried push never bills twice.

Finalizing an invoice (billing.invoices.finalize) calls `queue_push` in the same transaction: an
outbox row of kind "stripe", one per invoice (its dedupe key), so a rolled-back finalization
pushes nothing and a committed one is pushed for certain. Without `STRIPE_SECRET_KEY` nothing is
queued: billing stays in-house and invoices are marked paid by hand.

The delivery makes, in order: the tenant's Stripe customer (once per tenant), a draft Stripe
invoice that does not advance by itself, one invoice item per line (plus one for the VAT) attached
to that draft, and then finalizes it (from then on Stripe collects: it mails the invoice with its
payment page, or charges what is on file, after `STRIPE_COLLECTION_METHOD`). The draft comes first
and the items name it, so that items are never left pending on the customer, where Stripe could
sweep them into some other invoice.

Every call carries an idempotency key made of our ids (invoice id and number, line id), so a push
that failed half-way (Stripe unreachable, a timeout after Stripe acted, a crash) can simply be run
again: Stripe answers a repeated key with the object it made the first time. Stripe keeps keys for
24 hours; the outbox gives up long before (its backoff tops out at an hour, after
`OUTBOX_MAX_ATTEMPTS` tries), so every retry falls inside that window. The ids we learn are stored as
we go and committed with the attempt even when a later call fails.

Amounts are our minor units, which are Stripe's for the two-decimal currencies we bill in (CHF,
EUR). A suspended client is still pushed: what was finalized is owed.
"""

from __future__ import annotations

import math
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from billing import labels, stripe_client
from billing.accounts import account_for, billing_recipients
from billing.models import Invoice, InvoiceLine, InvoiceStatus
from core import audit, outbox
from core.extensions import db
from core.outbox import OutboxMessage
from tenants.models import Tenant

KEY_PREFIX = "firstline"
# Stripe's invoice statuses in the order they can follow each other: a late answer or an
# out-of-order event never moves an invoice back (paid stays paid when "finalized" comes last).
STRIPE_STATUS_RANK = {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3}


def describe_line(line: InvoiceLine) -> str:
    """How a line reads on the Stripe invoice: the same title as on our own invoice, in the
    invoice's language (the caller sets it)."""
    return labels.line_title(line.kind)


def record_stripe_state(invoice: Invoice, status: str | None, number: str | None = None) -> None:
    """Note where the invoice stands in Stripe, forward only."""
    if number:
        invoice.stripe_number = number[:64]
    known = STRIPE_STATUS_RANK.get(invoice.stripe_status or "", -1)
    if status and STRIPE_STATUS_RANK.get(status, 0) >= known:
        invoice.stripe_status = status[:20]


def queue_push(invoice: Invoice) -> OutboxMessage | None:
    """The finalized-listener: record the push in the finalizing transaction."""
    if not stripe_client.configured():
        return None
    return outbox.add(
        "stripe",
        {"action": "push_invoice", "invoice_id": invoice.id},
        tenant_id=invoice.tenant_id,
        dedupe_key=f"stripe:push_invoice:{invoice.id}",
    )


def queue_customer(tenant_id: int) -> OutboxMessage | None:
    """Make the tenant's Stripe customer ahead of its first invoice (e.g. when onboarding)."""
    if not stripe_client.configured():
        return None
    return outbox.add(
        "stripe",
        {"action": "customer", "tenant_id": tenant_id},
        tenant_id=tenant_id,
        dedupe_key=f"stripe:customer:{tenant_id}",
    )


def ensure_customer(tenant_id: int) -> str:
    """The tenant's Stripe customer id, creating the customer on first use."""
    account = account_for(tenant_id)
    if account.stripe_customer_id:
        return account.stripe_customer_id
    tenant = db.session.get_one(Tenant, tenant_id)
    params: dict[str, Any] = {
        "name": tenant.name,
        "preferred_locales": [tenant.default_language],
        "metadata": {"firstline_tenant_id": str(tenant.id), "firstline_slug": tenant.slug},
    }
    recipients = billing_recipients(account)
    if recipients:
        params["email"] = recipients[0]
    if account.billing_address.strip():
        params["description"] = account.billing_address.strip()[:350]
    customer = stripe_client.client().v1.customers.create(
        params=params,  # type: ignore[arg-type]
        options={"idempotency_key": f"{KEY_PREFIX}-customer-{tenant.id}-{tenant.slug}"},
    )
    account.stripe_customer_id = customer.id
    audit.record(
        "billing.stripe_customer_created",
        tenant_id=tenant_id,
        target=account,
        data={"customer": customer.id},
    )
    db.session.flush()
    return customer.id


def _days_until_due(invoice: Invoice) -> int:
    if invoice.due_at is None or invoice.finalized_at is None:
        return 30
    return max(1, math.ceil((invoice.due_at - invoice.finalized_at).total_seconds() / 86400))


def _invoice_params(invoice: Invoice, customer: str) -> dict[str, Any]:
    method = current_app.config["STRIPE_COLLECTION_METHOD"]
    params: dict[str, Any] = {
        "customer": customer,
        "currency": invoice.currency.lower(),
        "auto_advance": False,  # finalized by us once every item is on it
        "collection_method": method,
        "pending_invoice_items_behavior": "exclude",
        "description": invoice.number,
        "metadata": {"firstline_invoice_id": str(invoice.id), "firstline_number": invoice.number},
    }
    if method == "send_invoice":
        params["days_until_due"] = _days_until_due(invoice)
    return params


def _items(invoice: Invoice) -> list[tuple[str, int, str]]:
    """(idempotency suffix, amount, description) of each item, in the invoice's language."""
    lines = db.session.scalars(
        select(InvoiceLine)
        .where(InvoiceLine.invoice_id == invoice.id)
        .order_by(InvoiceLine.position, InvoiceLine.id)
    ).all()
    with force_locale(invoice.locale):
        items = [(f"line-{line.id}", line.amount, describe_line(line)[:500]) for line in lines]
        if invoice.vat_amount:
            rate = f"{invoice.vat_rate_bp / 100:g}"
            items.append(("vat", invoice.vat_amount, _("VAT %(rate)s %%", rate=rate)))
    return items


def push_invoice(invoice_id: int) -> None:
    """Make the invoice in Stripe and finalize it there; safe to run again after any failure."""
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None or invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        return  # gone with its tenant, or voided before it reached Stripe: nothing to bill
    if invoice.stripe_status not in (None, "draft"):
        return  # finalized in Stripe already (a late redelivery of this row)
    customer = ensure_customer(invoice.tenant_id)
    api = stripe_client.client().v1
    key = f"{KEY_PREFIX}-invoice-{invoice.id}-{invoice.number}"
    if invoice.stripe_invoice_id is None:
        draft = api.invoices.create(
            params=_invoice_params(invoice, customer),  # type: ignore[arg-type]
            options={"idempotency_key": f"{key}-create"},
        )
        invoice.stripe_invoice_id = draft.id
        record_stripe_state(invoice, draft.status)
        db.session.flush()
    for suffix, amount, description in _items(invoice):
        api.invoice_items.create(
            params={
                "customer": customer,
                "invoice": invoice.stripe_invoice_id,
                "amount": amount,
                "currency": invoice.currency.lower(),
                "description": description,
                "metadata": {"firstline_invoice_id": str(invoice.id), "firstline_item": suffix},
            },
            options={"idempotency_key": f"{key}-{suffix}"},
        )
    final = api.invoices.finalize_invoice(
        invoice.stripe_invoice_id,
        params={"auto_advance": True},
        options={"idempotency_key": f"{key}-finalize"},
    )
    record_stripe_state(invoice, final.status, final.number)
    audit.record(
        "invoice.pushed_to_stripe",
        tenant_id=invoice.tenant_id,
        target=invoice,
        data={"stripe_invoice": final.id, "stripe_number": final.number, "number": invoice.number},
    )


@outbox.handler("stripe")
def _deliver(row: OutboxMessage) -> None:
    """Runs in the row's tenant scope; raising leaves the row to the outbox's retries."""
    action = row.payload.get("action")
    if action == "push_invoice":
        push_invoice(int(row.payload["invoice_id"]))
    elif action == "customer":
        ensure_customer(int(row.payload["tenant_id"]))
    else:
        raise ValueError(f"unknown stripe action {action!r}")
