"""Stripe's webhook: verified by the library, every event stored once, any order harmless."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from billing.accounts import account_for
from billing.models import BillingAccount, Invoice, StripeEvent
from core import jobs, tenancy
from core.audit import AuditEvent
from core.extensions import db
from core.outbox import OutboxMessage
from tenants.models import Tenant
from tests.billing.stripe_fake import (  # noqa: F401  (fixtures)
    FakeStripe,
    _fake_stripe,
    _stripe_on,
    event,
    make_invoice,
    post_event,
    signature,
)
from tests.conftest import sign_in
from tests.factories import World


def _pushed(world: World) -> Invoice:
    """An invoice of alpha's, finalized and pushed to the fake Stripe."""
    with tenancy.only(world.alpha.id):
        invoice = make_invoice(world.alpha, (20000,), vat_rate_bp=0)
        jobs.commit()
        return db.session.get_one(Invoice, invoice.id, populate_existing=True)


def _stripe_invoice(invoice: Invoice, **extra: Any) -> dict[str, Any]:
    with tenancy.only(invoice.tenant_id):
        customer = account_for(invoice.tenant_id).stripe_customer_id
    return {
        "id": invoice.stripe_invoice_id,
        "object": "invoice",
        "customer": customer,
        "number": invoice.stripe_number,
        "status": "open",
        "metadata": {"firstline_invoice_id": str(invoice.id)},
        **extra,
    }


def _state(invoice: Invoice) -> tuple[str, str | None, str, int]:
    with tenancy.only(invoice.tenant_id):
        fresh = db.session.get_one(Invoice, invoice.id, populate_existing=True)
        account = db.session.get_one(
            BillingAccount, account_for(invoice.tenant_id).id, populate_existing=True
        )
        return fresh.status, fresh.stripe_status, account.dunning_stage, account.failed_payments


def _events() -> list[StripeEvent]:
    with tenancy.system_scope():
        return list(db.session.scalars(select(StripeEvent).order_by(StripeEvent.id)))


def _audit_count() -> int:
    with tenancy.system_scope():
        return db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_invoice_paid_marks_the_invoice_paid(
    client: FlaskClient, world: World, stripe_on: FakeStripe
) -> None:
    invoice = _pushed(world)
    paid_at = int(time.time()) - 60
    body = event(
        "invoice.paid",
        _stripe_invoice(invoice, status="paid", status_transitions={"paid_at": paid_at}),
        event_id="evt_paid_1",
    )
    response = post_event(client, body)
    assert response.status_code == 200
    assert response.get_json() == {"received": True, "duplicate": False, "status": "processed"}
    assert _state(invoice)[:2] == ("paid", "paid")
    with tenancy.only(world.alpha.id):
        fresh = db.session.get_one(Invoice, invoice.id, populate_existing=True)
        assert int(fresh.paid_at.timestamp()) == paid_at
        [audit] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "invoice.paid")).all()
        assert audit.data["source"] == "stripe"
        assert audit.actor_label == "stripe"
    [stored] = _events()
    assert (stored.event_id, stored.tenant_id, stored.status) == ("evt_paid_1", world.alpha.id, "processed")


@pytest.mark.parametrize(
    "header",
    [
        None,  # unsigned
        "garbage",
        "sign-with-another-secret",
        "expired",  # a captured request replayed ten minutes later
        "other-body",  # a valid signature of another body
    ],
)
def test_unverified_webhooks_are_refused_and_change_nothing(
    client: FlaskClient, world: World, stripe_on: FakeStripe, header: str | None
) -> None:
    invoice = _pushed(world)
    body = event("invoice.paid", _stripe_invoice(invoice, status="paid"))
    audits = _audit_count()
    sent = {
        None: None,
        "garbage": "t=abc,v1=",
        "sign-with-another-secret": signature(body, secret="whsec_someone_else"),
        "expired": signature(body, timestamp=int(time.time()) - 600),
        "other-body": signature(body.replace("invoice.paid", "invoice.finalized")),
    }[header]
    response = post_event(client, body, header=sent)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_signature"
    assert set(error) == {"code", "message", "fields"}
    assert _events() == []
    assert _state(invoice)[0] == "finalized"
    assert _audit_count() == audits


def test_a_signed_body_that_is_no_event_is_refused(
    client: FlaskClient, world: World, stripe_on: FakeStripe
) -> None:
    for body in ("not json", '["a list"]', '{"object": "event"}'):
        response = post_event(client, body)
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "invalid_payload"
    assert _events() == []


def test_junk_without_a_signature_is_told_only_that_the_signature_is_missing(
    client: FlaskClient, world: World, stripe_on: FakeStripe
) -> None:
    response = post_event(client, "not json", header=None)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_signature"
    assert _events() == []


def test_without_a_webhook_secret_the_endpoint_is_off(client: FlaskClient, world: World) -> None:
    response = post_event(client, event("invoice.paid", {"id": "in_1", "customer": "cus_1"}))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_configured"


def test_a_redelivered_event_changes_nothing_twice(
    client: FlaskClient, world: World, stripe_on: FakeStripe
) -> None:
    invoice = _pushed(world)
    body = event("invoice.payment_failed", _stripe_invoice(invoice), event_id="evt_failed_1")
    assert post_event(client, body).get_json()["duplicate"] is False
    state, audits = _state(invoice), _audit_count()
    assert state == ("finalized", "open", "reminded", 1)

    again = post_event(client, body)  # Stripe's redelivery, freshly signed
    assert again.status_code == 200
    assert again.get_json() == {"received": True, "duplicate": True, "status": "processed"}
    assert _state(invoice) == state
    assert _audit_count() == audits
    assert len(_events()) == 1


def test_paid_before_finalized_keeps_the_invoice_paid(
    client: FlaskClient, world: World, stripe_on: FakeStripe
) -> None:
    invoice = _pushed(world)
    now = int(time.time())
    paid = event("invoice.paid", _stripe_invoice(invoice, status="paid"), created=now)
    finalized = event(
        "invoice.finalized",
        _stripe_invoice(
            invoice, status="open", number="STRIPE-0042", hosted_invoice_url="https://pay.example/x"
        ),
        created=now - 5,
    )
    assert post_event(client, paid).status_code == 200
    assert post_event(client, finalized).status_code == 200
    assert _state(invoice)[:2] == ("paid", "paid")
    with tenancy.only(world.alpha.id):
        assert db.session.get_one(Invoice, invoice.id, populate_existing=True).stripe_number == "STRIPE-0042"
    assert [e.status for e in _events()] == ["processed", "processed"]


def test_a_failure_older_than_the_payment_does_not_start_dunning(
    client: FlaskClient, world: World, stripe_on: FakeStripe
) -> None:
    invoice = _pushed(world)
    now = int(time.time())
    assert (
        post_event(
            client, event("invoice.paid", _stripe_invoice(invoice, status="paid"), created=now)
        ).status_code
        == 200
    )
    late = post_event(client, event("invoice.payment_failed", _stripe_invoice(invoice), created=now - 3600))
    assert late.get_json()["status"] == "ignored"
    assert _state(invoice) == ("paid", "paid", "none", 0)


def test_payment_after_a_failure_ends_dunning(
    client: FlaskClient, world: World, stripe_on: FakeStripe
) -> None:
    invoice = _pushed(world)
    post_event(client, event("invoice.payment_failed", _stripe_invoice(invoice)))
    assert _state(invoice)[2] == "reminded"
    post_event(client, event("invoice.paid", _stripe_invoice(invoice, status="paid")))
    assert _state(invoice) == ("paid", "paid", "none", 0)


def test_the_finalized_event_links_an_invoice_whose_push_lost_the_stripe_id(
    client: FlaskClient, world: World, stripe_on: FakeStripe
) -> None:
    invoice = _pushed(world)
    obj = _stripe_invoice(invoice, number="STRIPE-7")
    with tenancy.only(world.alpha.id):
        db.session.get_one(Invoice, invoice.id).stripe_invoice_id = None
        jobs.commit()
    assert post_event(client, event("invoice.finalized", obj)).get_json()["status"] == "processed"
    with tenancy.only(world.alpha.id):
        fresh = db.session.get_one(Invoice, invoice.id, populate_existing=True)
        assert (fresh.stripe_invoice_id, fresh.stripe_number) == (obj["id"], "STRIPE-7")


def test_an_invoice_not_made_here_is_stored_and_ignored(
    client: FlaskClient, world: World, stripe_on: FakeStripe
) -> None:
    invoice = _pushed(world)
    foreign = _stripe_invoice(invoice, id="in_made_in_the_dashboard", metadata={})
    response = post_event(client, event("invoice.paid", foreign))
    assert response.get_json()["status"] == "ignored"
    assert _state(invoice)[0] == "finalized"


def test_paid_for_a_voided_invoice_is_refused_and_flagged(
    client: FlaskClient, world: World, stripe_on: FakeStripe
) -> None:
    from billing import invoices

    invoice = _pushed(world)
    with tenancy.only(world.alpha.id):
        invoices.void(db.session.get_one(Invoice, invoice.id), reason="issued twice")
        jobs.commit()
    response = post_event(client, event("invoice.paid", _stripe_invoice(invoice, status="paid")))
    assert response.status_code == 200
    assert response.get_json()["status"] == "failed"
    [stored] = _events()
    assert stored.error  # the reason, for the provider admin
    assert _state(invoice)[0] == "void"


def test_an_unknown_customer_is_stored_and_flagged_for_the_provider_admin(
    client: FlaskClient, world: World, stripe_on: FakeStripe
) -> None:
    _pushed(world)
    post_event(
        client,
        event("invoice.finalized", {"id": "in_x", "object": "invoice", "customer": "cus_known_to_nobody"}),
    )
    post_event(client, event("charge.succeeded", {"id": "ch_1", "object": "charge", "customer": "cus_x"}))
    unknown, other = _events()
    assert (unknown.status, unknown.tenant_id, unknown.customer_id) == (
        "unknown_customer",
        None,
        "cus_known_to_nobody",
    )
    assert other.status == "ignored"  # a type we do not act on is stored, not flagged

    sign_in(client, "admin@provider.example")
    page = client.get("/admin/billing/stripe-events").get_data(as_text=True)
    assert page.index("cus_known_to_nobody") < page.index("charge.succeeded")
    assert page.count("Needs attention") == 1
    assert "No client has this Stripe customer." in page


def test_a_deleted_subscription_flags_the_account(
    client: FlaskClient, world: World, stripe_on: FakeStripe
) -> None:
    _pushed(world)
    with tenancy.only(world.alpha.id):
        customer = account_for(world.alpha.id).stripe_customer_id
    created = int(time.time())
    body = event(
        "customer.subscription.deleted",
        {
            "id": "sub_1",
            "object": "subscription",
            "customer": customer,
            "status": "canceled",
            "cancellation_details": {"reason": "payment_failed"},
        },
        created=created,
    )
    assert post_event(client, body).get_json()["status"] == "processed"
    with tenancy.only(world.alpha.id):
        account = db.session.get_one(BillingAccount, account_for(world.alpha.id).id, populate_existing=True)
        assert int(account.subscription_ended_at.timestamp()) == created
        [audit] = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "billing.stripe_subscription_ended")
        ).all()
        assert audit.data == {"subscription": "sub_1", "reason": "payment_failed"}
    # The tenant itself is left as it is: that is the provider's decision.
    with tenancy.system_scope():
        assert db.session.get_one(Tenant, world.alpha.id).status == "active"

    sign_in(client, "admin@provider.example")
    page = client.get("/admin/billing/stripe-events").get_data(as_text=True)
    assert "The Stripe subscription of this client ended." in page
    assert "Needs attention" in page


def test_the_stripe_events_page_is_for_provider_admins(client: FlaskClient, world: World) -> None:
    for email in ("supervisor@provider.example", "admin@alpha.example"):
        sign_in(client, email)
        assert client.get("/admin/billing/stripe-events").status_code == 403
        client.post("/logout", data={})
        client = client.application.test_client()
    sign_in(client, "admin@provider.example")
    page = client.get("/admin/billing/stripe-events")
    assert page.status_code == 200
    assert "Stripe is not configured" in page.get_data(as_text=True)


def test_a_signed_payment_failure_suspends_after_grace_and_payment_reactivates(
    client: FlaskClient, world: World, stripe_on: FakeStripe
) -> None:
    """End to end: a failed payment, the grace period, suspension, then payment reactivates."""
    from datetime import timedelta

    from billing import dunning
    from core.models_base import utcnow

    invoice = _pushed(world)
    post_event(client, event("invoice.payment_failed", _stripe_invoice(invoice)))
    with tenancy.system_scope():
        dunning.sweep(now=utcnow() + timedelta(days=15))
        jobs.commit()
        assert db.session.get_one(Tenant, world.alpha.id, populate_existing=True).is_suspended
    post_event(client, event("invoice.paid", _stripe_invoice(invoice, status="paid")))
    with tenancy.system_scope():
        tenant = db.session.get_one(Tenant, world.alpha.id, populate_existing=True)
        assert tenant.status == "active"
        mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "email")).all()
        assert any("gesperrt" in mail.payload["subject"] for mail in mails)
