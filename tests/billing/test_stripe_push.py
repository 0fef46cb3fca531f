"""Finalized invoices reach Stripe through the outbox: once, whole, and never billed twice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from billing import invoices, stripe_push
from billing.accounts import account_for
from billing.models import Invoice
from core import jobs, outbox, tenancy
from core.extensions import db
from core.outbox import OutboxMessage
from tests.billing.stripe_fake import (  # noqa: F401  (fixtures)
    FakeStripe,
    _fake_stripe,
    _stripe_on,
    make_invoice,
)
from tests.factories import World


def _stripe_rows() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "stripe")))


def _fresh(invoice: Invoice) -> Invoice:
    return db.session.get_one(Invoice, invoice.id, populate_existing=True)


def test_without_stripe_keys_nothing_is_pushed(world: World, fake_stripe: FakeStripe) -> None:
    with tenancy.only(world.alpha.id):
        invoice = make_invoice(world.alpha)
        jobs.commit()
        assert invoice.status == "finalized"
        assert invoice.stripe_invoice_id is None
        assert _stripe_rows() == []
    assert fake_stripe.calls == []


def test_a_finalized_invoice_becomes_a_finalized_stripe_invoice(world: World, stripe_on: FakeStripe) -> None:
    with tenancy.only(world.alpha.id):
        account_for(world.alpha.id).billing_email = "accounts@alpha.example"
        invoice = make_invoice(world.alpha, (12000, 3450), vat_rate_bp=810)
        assert stripe_on.calls == []  # nothing before the commit
        jobs.commit()
        invoice = _fresh(invoice)
        account = account_for(world.alpha.id)
        [row] = _stripe_rows()
        assert row.status == outbox.SENT
        assert row.dedupe_key == f"stripe:push_invoice:{invoice.id}"

    [customer] = stripe_on.customers.values()
    assert account.stripe_customer_id == customer["id"]
    assert customer["name"] == "Alpha AG"
    assert customer["email"] == "accounts@alpha.example"
    assert customer["preferred_locales"] == ["de"]
    assert customer["metadata"]["firstline_tenant_id"] == str(world.alpha.id)

    [pushed] = stripe_on.invoices.values()
    assert invoice.stripe_invoice_id == pushed["id"]
    assert (invoice.stripe_status, invoice.stripe_number) == ("open", pushed["number"])
    assert pushed["customer"] == customer["id"]
    assert pushed["currency"] == "chf"
    assert pushed["status"] == "open"
    assert pushed["metadata"]["firstline_invoice_id"] == str(invoice.id)
    # One item per line and one for the VAT, in minor units; Stripe's total is ours.
    amounts = sorted(item["amount"] for item in stripe_on.items.values())
    assert amounts == sorted([12000, 3450, invoice.vat_amount])
    assert pushed["total"] == invoice.total == 15450 + 1251
    # The lines read as on our own invoice, in its language (not as internal kinds).
    descriptions = {item["description"] for item in stripe_on.items.values()}
    assert descriptions.isdisjoint({"contacts", "call_minutes"})
    assert any("Kontakte" in text or "Contacts" in text for text in descriptions)
    # Every call carried its own key, made of our ids.
    keys = stripe_on.keys()
    assert None not in keys
    assert len(set(keys)) == len(keys) == 1 + 1 + 3 + 1
    assert all(key.startswith(f"firstline-invoice-{invoice.id}-") for key in keys[1:])


def test_stripe_unreachable_keeps_the_push_in_the_outbox_until_it_answers(
    world: World, stripe_on: FakeStripe
) -> None:
    stripe_on.stop()
    with tenancy.only(world.alpha.id):
        invoice = make_invoice(world.alpha, (5000,), vat_rate_bp=0)
        jobs.commit()
        [row] = _stripe_rows()
        assert (row.status, row.attempts) == (outbox.PENDING, 1)
        assert "APIConnectionError" in (row.last_error or "")
        assert _fresh(invoice).stripe_invoice_id is None

        stripe_on.start()  # Stripe is back; the retry waits for its backoff
        assert (
            outbox.deliver(world.alpha.id, row.id, now=row.next_attempt_at - timedelta(seconds=1))
            == "skipped"
        )
        assert stripe_on.calls == []
        assert (
            outbox.deliver(world.alpha.id, row.id, now=row.next_attempt_at + timedelta(seconds=1))
            == outbox.SENT
        )
        assert _fresh(invoice).stripe_status == "open"
    assert (len(stripe_on.customers), len(stripe_on.invoices), len(stripe_on.items)) == (1, 1, 1)


def test_a_push_that_died_after_the_items_were_made_does_not_bill_twice(
    world: World, stripe_on: FakeStripe
) -> None:
    # Stripe finalizes, but the answer never arrives: the push fails after every item was made.
    stripe_on.drop_after.append("/finalize")
    with tenancy.only(world.alpha.id):
        invoice = make_invoice(world.alpha, (12000, 3450), vat_rate_bp=810)
        jobs.commit()
        [row] = _stripe_rows()
        assert row.status == outbox.PENDING
        first_run = list(stripe_on.keys())
        assert len(stripe_on.items) == 3

        assert (
            outbox.deliver(world.alpha.id, row.id, now=row.next_attempt_at + timedelta(seconds=1))
            == outbox.SENT
        )
        invoice = _fresh(invoice)
        assert invoice.stripe_status == "open"

    # The retry repeated the item and finalize calls with the same keys; Stripe replayed them.
    retried = stripe_on.calls[len(first_run) :]
    assert [call.idempotency_key for call in retried] == first_run[-4:]
    assert all(call.replayed for call in retried)
    assert (len(stripe_on.invoices), len(stripe_on.items)) == (1, 3)
    assert sum(item["amount"] for item in stripe_on.items.values()) == invoice.total


def test_a_push_whose_transaction_was_lost_finds_the_same_stripe_invoice(
    world: World, stripe_on: FakeStripe
) -> None:
    """A worker killed after Stripe made the draft, before our commit: the ids we had are gone."""
    with tenancy.only(world.alpha.id):
        invoice = make_invoice(world.alpha, (4000, 500), vat_rate_bp=0, finalize=False)
        jobs.commit()
        with db.session.begin_nested() as lost:
            invoices.finalize(invoice)
            stripe_push.push_invoice(invoice.id)
            made = invoice.stripe_invoice_id
            lost.rollback()
        assert _fresh(invoice).stripe_invoice_id is None

        invoices.finalize(_fresh(invoice))
        jobs.commit()
        invoice = _fresh(invoice)
    assert invoice.stripe_invoice_id == made
    assert (len(stripe_on.customers), len(stripe_on.invoices), len(stripe_on.items)) == (1, 1, 2)
    assert sum(call.replayed for call in stripe_on.calls) == 1 + 1 + 2 + 1


def test_one_customer_per_client_however_many_invoices(world: World, stripe_on: FakeStripe) -> None:
    with tenancy.only(world.alpha.id):
        make_invoice(world.alpha, (1000,))
        make_invoice(world.alpha, (2000,))
        jobs.commit()
    with tenancy.only(world.beta.id):
        make_invoice(world.beta, (3000,))
        jobs.commit()
    assert len(stripe_on.customers) == 2
    assert [call.path for call in stripe_on.calls].count("/v1/customers") == 2
    currencies = sorted(invoice["currency"] for invoice in stripe_on.invoices.values())
    assert currencies == ["chf", "chf", "eur"]


def test_a_customer_can_be_made_before_the_first_invoice(world: World, stripe_on: FakeStripe) -> None:
    with tenancy.only(world.beta.id):
        stripe_push.queue_customer(world.beta.id)
        stripe_push.queue_customer(world.beta.id)  # the same row: one customer
        jobs.commit()
        account = account_for(world.beta.id)
    [customer] = stripe_on.customers.values()
    assert account.stripe_customer_id == customer["id"]
    assert customer["email"] == "admin@beta.example"  # no billing address: the client's admin
    assert customer["preferred_locales"] == ["fr"]


def test_an_invoice_voided_before_its_push_is_not_billed(world: World, stripe_on: FakeStripe) -> None:
    with tenancy.only(world.alpha.id):
        invoice = make_invoice(world.alpha)
        invoices.void(invoice, reason="wrong month")
        jobs.commit()
        [row] = _stripe_rows()
        assert row.status == outbox.SENT
    assert stripe_on.invoices == {}
