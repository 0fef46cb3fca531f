"""Tickets, their messages and history, the tenant's customers, and raw inbound contacts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models_base import utcnow
from core.tenancy import TenantScoped


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING_CUSTOMER = "pending_customer"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER, Status.ESCALATED)
OPEN_PREDICATE = "status IN ('new', 'open', 'pending_customer', 'escalated')"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Category(StrEnum):
    USAGE = "usage_question"
    FAULT = "fault"
    PRODUCT = "product_question"
    COMPLAINT = "complaint_return"
    OUTAGE = "outage"
    BILLING = "billing_payment"
    ORDER = "order"
    DELIVERY = "delivery_status"
    OTHER = "other"


class Channel(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    FAX = "fax"
    WEBFORM = "webform"
    CHAT = "chat"
    API = "api"


class MessageKind(StrEnum):
    INBOUND = "inbound"  # what the customer wrote or said
    REPLY = "reply"  # public answer sent in the client's name
    NOTE = "note"  # internal, never sent
    CALL_LOG = "call_log"
    CHAT_TRANSCRIPT = "chat_transcript"
    FAX = "fax"
    HANDOFF = "handoff"
    SYSTEM = "system"


class Organization(TenantScoped, db.Model):
    """One of the tenant's own (often business) customers."""

    __tablename__ = "organizations"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_organizations_tenant_id_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str | None] = mapped_column(String(200))
    contract_number: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Contact(TenantScoped, db.Model):
    """A person who contacts the desk; matched by e-mail or phone within one tenant."""

    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_tenant_id_email", "tenant_id", "email"),
        Index("ix_contacts_tenant_id_phone", "tenant_id", "phone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(8))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"))
    address: Mapped[str | None] = mapped_column(Text)
    contract_number: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    # Set by a bounce: replies to this address are not arriving (cleared when they write again).
    email_failing_since: Mapped[datetime | None]
    email_failure: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TicketCounter(TenantScoped, db.Model):
    """Per-tenant ticket numbers without gaps from races: one row, incremented under its lock."""

    __tablename__ = "ticket_counters"

    tenant_id: Mapped[int] = mapped_column(  # type: ignore[assignment]
        Integer, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    last_number: Mapped[int] = mapped_column(Integer, default=1000)


class Ticket(TenantScoped, db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number", name="uq_tickets_tenant_id_number"),
        Index("ix_tickets_tenant_id_status_updated_at", "tenant_id", "status", "updated_at"),
        Index("ix_tickets_tenant_id_assignee_id_status", "tenant_id", "assignee_id", "status"),
        Index("ix_tickets_tenant_id_contact_id", "tenant_id", "contact_id"),
        Index("ix_tickets_tenant_id_team_id_status", "tenant_id", "team_id", "status"),
        Index("ix_tickets_tenant_id_parent_id", "tenant_id", "parent_id"),
        # The reports' rollups read each day's new, answered and resolved tickets.
        Index("ix_tickets_tenant_id_created_at", "tenant_id", "created_at"),
        Index("ix_tickets_tenant_id_first_response_at", "tenant_id", "first_response_at"),
        Index("ix_tickets_tenant_id_resolved_at", "tenant_id", "resolved_at"),
        # The inbox: open tickets by SLA urgency. Partial, so closed history does not weigh on it.
        Index(
            "ix_tickets_tenant_id_due_at_open",
            "tenant_id",
            "due_at",
            "id",
            postgresql_where=text(OPEN_PREDICATE),
            sqlite_where=text(OPEN_PREDICATE),
        ),
        # The SLA sweep, across tenants: tickets whose next warning or breach has come.
        Index(
            "ix_tickets_sla_check_at",
            "sla_check_at",
            postgresql_where=text("sla_check_at IS NOT NULL"),
            sqlite_where=text("sla_check_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default=Status.NEW.value)
    priority: Mapped[str] = mapped_column(String(10), default=Priority.NORMAL.value)
    category: Mapped[str] = mapped_column(String(30), default=Category.OTHER.value)
    channel: Mapped[str] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(8))
    level: Mapped[int] = mapped_column(Integer, default=1)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    time_spent_seconds: Mapped[int] = mapped_column(Integer, default=0)
    # Resolved at level 1 without a customer round trip or an escalation.
    first_contact_resolution: Mapped[bool] = mapped_column(Boolean, default=False)
    customer_round_trip: Mapped[bool] = mapped_column(Boolean, default=False)
    was_escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    # Resolved with an answer from the client's knowledge base (deflection reporting).
    kb_article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    kb_resolution: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # SLA clocks (tickets.sla): `due_at` is the nearer running one, the inbox's sort key;
    # None while no clock runs (waiting for the customer, resolved).
    first_response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    # The next answer owed after a customer's message (the SLA's next-response clock).
    next_response_due_at: Mapped[datetime | None]
    # While the ticket waits for the customer the clocks stand still; resuming moves the due
    # times by the business time that was left when they stopped.
    sla_paused_at: Mapped[datetime | None]
    sla_policy_id: Mapped[int | None] = mapped_column(ForeignKey("sla_policies.id", ondelete="SET NULL"))
    # When the SLA sweep next has to look at the ticket (a warning or breach comes due); None
    # while no clock runs. Kept by tickets.sla with the due times.
    sla_check_at: Mapped[datetime | None]
    # The client team that holds the ticket while it is escalated (levels 2 and 3).
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))

    _contact: Mapped[Contact | None] = relationship(lazy="raise_on_sql")  # the flush's order, as Message's


class Message(TenantScoped, db.Model):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_tenant_id_ticket_id_created_at", "tenant_id", "ticket_id", "created_at"),
        Index("ix_messages_tenant_id_email_message_id", "tenant_id", "email_message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    email_message_id: Mapped[str | None] = mapped_column(String(300))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # For the unit of work only (the code sets the id columns, never these, and they are never
    # loaded): a flush that writes contacts, tickets and messages together, as an intake batch
    # does, inserts a message after its ticket and its contact.
    _ticket: Mapped[Ticket] = relationship(lazy="raise_on_sql", foreign_keys=[ticket_id])
    _author_contact: Mapped[Contact | None] = relationship(
        lazy="raise_on_sql", foreign_keys=[author_contact_id]
    )


class CallStatus(StrEnum):
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


class Call(TenantScoped, db.Model):
    """A phone call as the telephony system reports it; the screen pop reads these."""

    __tablename__ = "calls"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id", name="uq_calls_tenant_id_external_id"),
        Index("ix_calls_tenant_id_status_started_at", "tenant_id", "status", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200))
    caller: Mapped[str] = mapped_column(String(40))
    dialled: Mapped[str] = mapped_column(String(40))
    direction: Mapped[str] = mapped_column(String(10), default="inbound")
    status: Mapped[str] = mapped_column(String(10), default=CallStatus.RINGING.value)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    duration_seconds: Mapped[int | None] = mapped_column(Integer)


class Attachment(TenantScoped, db.Model):
    """A file kept under instance/attachments/<tenant id>/, only ever served through its row."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_tenant_id_message_id", "tenant_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_records.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    _message: Mapped[Message | None] = relationship(lazy="raise_on_sql")  # the flush's order, as Message's


class TicketEvent(TenantScoped, db.Model):
    """The ticket's history: every status, assignment, field and contact change."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_tenant_id_ticket_id", "tenant_id", "ticket_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    _ticket: Mapped[Ticket] = relationship(lazy="raise_on_sql")  # the flush's order, as Message's


class InboundStatus(StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    FAILED = "failed"
    IGNORED = "ignored"  # kept, deliberately not a ticket (our own mail back, a stray bounce)


class InboundRecord(TenantScoped, db.Model):
    """A contact exactly as it arrived, committed before anything else is done with it."""

    __tablename__ = "inbound_records"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "channel", "external_id", name="uq_inbound_records_tenant_id_channel_external_id"
        ),
        Index("ix_inbound_records_tenant_id_status", "tenant_id", "status"),
        # The retry sweep looks across tenants for what is still unprocessed.
        Index("ix_inbound_records_status_received_at", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    external_id: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default=InboundStatus.RECEIVED.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    # What processing made of it (new ticket, threaded, bounce, loop...), for the supervisors.
    outcome: Mapped[str | None] = mapped_column(String(40))
    # The transport's bytes as they arrived (e-mail: the RFC 822 message), loaded only on demand.
    raw: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]


class TimeSource(StrEnum):
    MANUAL = "manual"
    TIMER = "timer"
    CALL = "call"


class TimeEntry(TenantScoped, db.Model):
    """Time an agent spent on a ticket; billed to the client. A running timer has no `seconds` yet."""

    __tablename__ = "time_entries"
    __table_args__ = (
        Index("ix_time_entries_tenant_id_ticket_id", "tenant_id", "ticket_id"),
        Index("ix_time_entries_tenant_id_user_id_seconds", "tenant_id", "user_id", "seconds"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    seconds: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Macro(TenantScoped, db.Model):
    """A canned reply of one client in one language, with placeholders and optional follow-ups."""

    __tablename__ = "macros"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name", "language", name="uq_macros_tenant_id_name_language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    # Applied with the reply when set: the status the ticket moves to, tags it gains.
    set_status: Mapped[str | None] = mapped_column(String(20))
    add_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SatisfactionSurvey(TenantScoped, db.Model):
    """The one-click rating a customer is asked for when their ticket is resolved; one per ticket
    (a reopened and resolved again ticket asks again only while the first was not answered)."""

    __tablename__ = "satisfaction_surveys"
    __table_args__ = (
        UniqueConstraint("tenant_id", "ticket_id", name="uq_satisfaction_surveys_tenant_id_ticket_id"),
        Index("ix_satisfaction_surveys_tenant_id_answered_at", "tenant_id", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    # The secret in the mailed links; the public pages find the survey by it, across tenants.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    language: Mapped[str] = mapped_column(String(8))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
