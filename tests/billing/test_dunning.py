"""Dunning: a reminder at once, one every few days, suspension after the client's grace period,
and payment ends it all (lifting only a suspension that dunning imposed)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from billing import dunning, invoices
from billing.accounts import account_for
from billing.models import BillingAccount, Invoice, StripeEvent
from core import jobs, scheduler, tenancy
from core.audit import AuditEvent
from core.extensions import db
from core.models_base import utcnow
from core.outbox import OutboxMessage
from tenants import lifecycle
from tenants.models import Tenant
from tests.billing.stripe_fake import make_invoice
from tests.factories import World

DAY = timedelta(days=1)


@pytest.fixture
def failing(world: World) -> Invoice:
    """Alpha's invoice whose Stripe payment failed, as the webhook records it (no Stripe push)."""
    with tenancy.only(world.alpha.id):
        account = account_for(world.alpha.id)
        account.billing_email = "billing@alpha.example"
        account.dunning_grace_days = 10
        invoice = make_invoice(world.alpha, (123450,), vat_rate_bp=0)
        invoice.stripe_invoice_id = "in_failing"
        db.session.add(_failed_event(world.alpha.id, "in_failing"))
        jobs.commit()
        return invoice


def _failed_event(tenant_id: int, stripe_invoice: str) -> StripeEvent:
    return StripeEvent(
        tenant_id=tenant_id,
        event_id=f"evt_{stripe_invoice}",
        type="invoice.payment_failed",
        stripe_created=utcnow(),
        customer_id="cus_alpha",
        payload={"data": {"object": {"id": stripe_invoice}}},
    )


def _start(world: World, invoice: Invoice, at: datetime) -> None:
    with tenancy.only(world.alpha.id):
        dunning.payment_failed(world.alpha.id, at=at, invoice=invoice)
        jobs.commit()


def _sweep(now: datetime) -> None:
    with tenancy.system_scope():
        dunning.sweep(now=now)
        jobs.commit()


def _mails() -> list[OutboxMessage]:
    with tenancy.system_scope():
        return list(
            db.session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "email", OutboxMessage.dedupe_key.like("dunning:%"))
                .order_by(OutboxMessage.id)
            )
        )


def _account(world: World) -> BillingAccount:
    with tenancy.only(world.alpha.id):
        return db.session.get_one(BillingAccount, account_for(world.alpha.id).id, populate_existing=True)


def _tenant(world: World) -> Tenant:
    with tenancy.system_scope():
        return db.session.get_one(Tenant, world.alpha.id, populate_existing=True)


def test_a_failed_payment_sends_the_first_reminder_at_once(world: World, failing: Invoice) -> None:
    t0 = utcnow()
    _start(world, failing, t0)
    account = _account(world)
    assert (account.dunning_stage, account.failed_payments) == ("reminded", 1)
    mails = _mails()
    # The billing address and the client's admin, each their own copy.
    assert sorted(mail.payload["to"][0] for mail in mails) == ["admin@alpha.example", "billing@alpha.example"]
    text = mails[0].payload["text"]
    assert failing.number in text
    # Money and dates in the client's language (German), its currency.
    assert "CHF\xa01’234.50" in text  # as on the invoice: German, Swiss conventions for francs
    deadline = (t0 + 10 * DAY).astimezone(_zone(world))
    assert f"{deadline.day}. " in text
    assert str(deadline.year) in text
    assert mails[0].payload["headers"]["Auto-Submitted"] == "auto-generated"


def _zone(world: World):  # noqa: ANN202
    from zoneinfo import ZoneInfo

    return ZoneInfo(world.alpha.timezone)


def test_reminders_repeat_every_few_days_and_each_is_sent_once(
    app: Flask, world: World, failing: Invoice, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "DUNNING_REMINDER_DAYS", 3)
    t0 = utcnow()
    _start(world, failing, t0)
    assert len(_mails()) == 2

    _sweep(t0 + DAY)  # nothing due yet
    _sweep(t0 + 3 * DAY + timedelta(hours=1))
    _sweep(t0 + 3 * DAY + timedelta(hours=2))  # the second run of the same day: nothing more
    assert len(_mails()) == 4
    _sweep(t0 + 6 * DAY + timedelta(hours=1))
    assert len(_mails()) == 6
    assert _tenant(world).status == "active"
    assert _account(world).dunning_stage == "reminded"


def test_after_the_grace_period_the_client_is_suspended_by_dunning(world: World, failing: Invoice) -> None:
    t0 = utcnow()
    _start(world, failing, t0)
    _sweep(t0 + 10 * DAY - timedelta(minutes=1))
    assert _tenant(world).status == "active"

    _sweep(t0 + 10 * DAY + timedelta(minutes=1))
    _sweep(t0 + 10 * DAY + timedelta(minutes=2))  # idempotent: one suspension, one mail
    tenant = _tenant(world)
    assert tenant.is_suspended
    assert failing.number in tenant.status_reason
    assert _account(world).dunning_stage == "suspended"
    with tenancy.only(world.alpha.id):
        [suspended] = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "tenant.suspended")
        ).all()
        assert suspended.data["source"] == "dunning"
    notices = [mail for mail in _mails() if "gesperrt" in mail.payload["subject"]]
    assert len(notices) == 2  # billing address and admin
    # After suspension no more reminders go out.
    before = len(_mails())
    _sweep(t0 + 20 * DAY)
    assert len(_mails()) == before


def test_payment_ends_dunning_and_lifts_its_suspension(world: World, failing: Invoice) -> None:
    t0 = utcnow()
    _start(world, failing, t0)
    _sweep(t0 + 11 * DAY)
    assert _tenant(world).is_suspended
    with tenancy.only(world.alpha.id):
        invoices.mark_paid(db.session.get_one(Invoice, failing.id), note="bank transfer")  # by hand
        jobs.commit()
    account = _account(world)
    assert (account.dunning_stage, account.failed_payments, account.payment_failed_at) == ("none", 0, None)
    assert _tenant(world).status == "active"
    with tenancy.only(world.alpha.id):
        [lifted] = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "tenant.reactivated")
        ).all()
        assert lifted.data["source"] == "payment"


def test_payment_does_not_lift_a_suspension_an_admin_imposed(world: World, failing: Invoice) -> None:
    t0 = utcnow()
    _start(world, failing, t0)
    with tenancy.system_scope():
        lifecycle.suspend(db.session.get_one(Tenant, world.alpha.id), "Contract under review", source="admin")
        jobs.commit()
    _sweep(t0 + 11 * DAY)  # dunning finds it suspended already
    assert _account(world).dunning_stage == "suspended"
    with tenancy.only(world.alpha.id):
        invoices.mark_paid(db.session.get_one(Invoice, failing.id))
        jobs.commit()
    assert _account(world).dunning_stage == "none"
    tenant = _tenant(world)
    assert tenant.is_suspended
    assert tenant.status_reason == "Contract under review"


def test_a_second_failure_counts_but_keeps_the_first_deadline(world: World, failing: Invoice) -> None:
    t0 = utcnow()
    _start(world, failing, t0)
    _start(world, failing, t0 + 2 * DAY)
    account = _account(world)
    assert (account.failed_payments, account.payment_failed_at) == (2, t0)
    assert len(_mails()) == 2  # no extra reminder for the second failure


def test_dunning_ends_when_the_failing_invoice_is_voided(world: World, failing: Invoice) -> None:
    t0 = utcnow()
    _start(world, failing, t0)
    with tenancy.only(world.alpha.id):
        invoices.void(db.session.get_one(Invoice, failing.id), reason="credited")
        jobs.commit()
    _sweep(t0 + DAY)
    assert _account(world).dunning_stage == "none"
    _sweep(t0 + 11 * DAY)
    assert _tenant(world).status == "active"


def test_another_failing_invoice_keeps_dunning_going(world: World, failing: Invoice) -> None:
    t0 = utcnow()
    with tenancy.only(world.alpha.id):
        second = make_invoice(world.alpha, (5000,), vat_rate_bp=0)
        second.stripe_invoice_id = "in_second"
        db.session.add(_failed_event(world.alpha.id, "in_second"))
        jobs.commit()
    _start(world, failing, t0)
    with tenancy.only(world.alpha.id):
        invoices.mark_paid(db.session.get_one(Invoice, failing.id))
        jobs.commit()
    assert _account(world).dunning_stage == "reminded"
    with tenancy.only(world.alpha.id):
        invoices.mark_paid(db.session.get_one(Invoice, second.id))
        jobs.commit()
    assert _account(world).dunning_stage == "none"


def test_the_sweep_is_scheduled_and_leaves_other_clients_alone(world: World, failing: Invoice) -> None:
    assert "billing.dunning_sweep" in scheduler.sweeps()
    _start(world, failing, utcnow())
    with tenancy.only(world.beta.id):
        assert account_for(world.beta.id).dunning_stage == "none"
    _sweep(utcnow() + 30 * DAY)
    with tenancy.system_scope():
        assert db.session.get_one(Tenant, world.beta.id).status == "active"
