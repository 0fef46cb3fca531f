"""Billing's tables: the usage ledger, each client's plan and billing account, invoices, and the
Stripe events we have processed.

Money is kept in minor units (cents, Rappen) as integers, so sums never round; rates that need a
fraction (VAT) are in basis points.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models_base import utcnow
from core.tenancy import SharedOrTenantScoped, TenantScoped


class UsageKind(StrEnum):
    CONTACT = "contact"  # an inbound contact handled (a ticket opened through any channel)
    TIME = "time"  # seconds an agent worked on a client's ticket
    CALL = "call"  # seconds of one phone call (talk time; after-call work is added by the plan)
    CHAT = "chat"  # seconds of one live chat, from acceptance to its end
    ESCALATION = "escalation"  # one handoff to the client's team


class UsageEvent(TenantScoped, db.Model):
    """Append-only; `key` makes recording idempotent (a retried job does not bill twice).

    A correction is a new row naming the row it corrects (`corrects_id`), with a quantity that
    may be negative; rows are never edited, so an invoice can always be explained.
    `out_of_hours` is decided when the work happens, against the client's business calendar, so
    that a later change of opening hours does not rewrite history.
    """

    __tablename__ = "usage_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key", name="uq_usage_events_tenant_id_key"),
        Index("ix_usage_events_tenant_id_kind_occurred_at", "tenant_id", "kind", "occurred_at"),
        # The monthly run reads one month of every tenant in one range scan.
        Index("ix_usage_events_occurred_at", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(120))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    out_of_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(8))
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("usage_events.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Rounding(StrEnum):
    UP = "up"  # every started increment is billed (answering-service custom)
    NEAREST = "nearest"


class Plan(TenantScoped, db.Model):
    """What one client pays: the contract. One row per tenant; invoices copy the prices they use,
    so editing a plan never changes an invoice already built. Currency is the tenant's."""

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_plans_tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    base_fee: Mapped[int] = mapped_column(Integer, default=0)  # per month, minor units
    included_contacts: Mapped[int] = mapped_column(Integer, default=0)  # per month
    price_per_contact: Mapped[int] = mapped_column(Integer, default=0)  # beyond the included
    call_minute_price: Mapped[int] = mapped_column(Integer, default=0)
    chat_minute_price: Mapped[int] = mapped_column(Integer, default=0)
    agent_hour_price: Mapped[int] = mapped_column(Integer, default=0)  # booked agent time
    increment_seconds: Mapped[int] = mapped_column(Integer, default=60)  # billing increment
    rounding: Mapped[str] = mapped_column(String(10), default=Rounding.UP.value)
    after_call_seconds: Mapped[int] = mapped_column(Integer, default=0)  # wrap-up added per call
    out_of_hours_surcharge_pct: Mapped[int] = mapped_column(Integer, default=0)
    included_languages: Mapped[int] = mapped_column(Integer, default=1)
    extra_language_fee: Mapped[int] = mapped_column(Integer, default=0)  # per month and language
    price_per_escalation: Mapped[int] = mapped_column(Integer, default=0)
    vat_rate_bp: Mapped[int] = mapped_column(Integer, default=0)  # 810 = 8.1 %
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)
    contract_start: Mapped[date] = mapped_column(Date)
    contract_end: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DunningStage(StrEnum):
    NONE = "none"
    REMINDED = "reminded"  # payment failed; reminders go out
    SUSPENDED = "suspended"  # grace period over; the tenant was suspended for non-payment


class BillingAccount(TenantScoped, db.Model):
    """Who pays, and where the payment stands: the Stripe customer and the dunning state."""

    __tablename__ = "billing_accounts"
    __table_args__ = (
        UniqueConstraint("tenant_id", name="uq_billing_accounts_tenant_id"),
        UniqueConstraint("stripe_customer_id", name="uq_billing_accounts_stripe_customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    billing_email: Mapped[str] = mapped_column(String(254), default="")
    billing_address: Mapped[str] = mapped_column(Text, default="")
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64))
    dunning_grace_days: Mapped[int] = mapped_column(Integer, default=14)
    dunning_stage: Mapped[str] = mapped_column(String(12), default=DunningStage.NONE.value)
    payment_failed_at: Mapped[datetime | None]
    failed_payments: Mapped[int] = mapped_column(Integer, default=0)
    last_reminder_at: Mapped[datetime | None]
    # Stripe said the customer's subscription ended (customer.subscription.deleted); see
    # billing.stripe_events for what that means. The provider admin looks at it.
    subscription_ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    FINALIZED = "finalized"
    SENT = "sent"
    PAID = "paid"
    OVERDUE = "overdue"
    VOID = "void"


class Invoice(TenantScoped, db.Model):
    """One client's bill for one month. The monthly run rebuilds a draft and leaves anything
    finalized alone; a voided month can be billed again as the next revision."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("tenant_id", "period_start", "revision", name="uq_invoices_tenant_id_period_start"),
        UniqueConstraint("number", name="uq_invoices_number"),
        Index("ix_invoices_tenant_id_status", "tenant_id", "status"),
        Index("ix_invoices_period_start", "period_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # exclusive
    status: Mapped[str] = mapped_column(String(12), default=InvoiceStatus.DRAFT.value)
    currency: Mapped[str] = mapped_column(String(3))
    locale: Mapped[str] = mapped_column(String(8))
    vat_rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    subtotal: Mapped[int] = mapped_column(Integer, default=0)
    vat_amount: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    built_at: Mapped[datetime] = mapped_column(default=utcnow)
    finalized_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    payment_note: Mapped[str] = mapped_column(String(300), default="")
    stripe_invoice_id: Mapped[str | None] = mapped_column(String(64))
    # What Stripe calls it and where it stands there (draft, open, paid, void, uncollectible).
    stripe_number: Mapped[str | None] = mapped_column(String(64))
    stripe_status: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InvoiceLine(TenantScoped, db.Model):
    """A line's text is rendered from `kind` and `data` in the reader's language, so the same
    invoice reads in German for the client and in English for the provider."""

    __tablename__ = "invoice_lines"
    __table_args__ = (Index("ix_invoice_lines_tenant_id_invoice_id", "tenant_id", "invoice_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(30))
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    unit: Mapped[str] = mapped_column(String(12))  # contact, minute, hour, language, month, ...
    unit_price: Mapped[int] = mapped_column(Integer)  # minor units
    amount: Mapped[int] = mapped_column(Integer)  # minor units
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class StripeEventStatus(StrEnum):
    PROCESSED = "processed"
    IGNORED = "ignored"  # a type we do not act on, or older than what we know
    UNKNOWN_CUSTOMER = "unknown_customer"  # stored and flagged for the provider admin
    FAILED = "failed"


class StripeEvent(SharedOrTenantScoped, db.Model):
    """Every Stripe webhook event, stored once by its id: a redelivery finds the row and stops."""

    __tablename__ = "stripe_events"
    __table_args__ = (
        UniqueConstraint("event_id", name="uq_stripe_events_event_id"),
        Index("ix_stripe_events_tenant_id_received_at", "tenant_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(80))
    stripe_created: Mapped[datetime]
    customer_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default=StripeEventStatus.PROCESSED.value)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
