"""A client's second-level team and third-level departments, the rules that route escalations to
them, each handoff to a team, its webhook deliveries and the on-call rota ("Pikett")."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models_base import utcnow
from core.tenancy import TenantScoped


class Team(TenantScoped, db.Model):
    """An L2 team or L3 department of one client (accounting, IT, ... as the client names them)."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_teams_tenant_id_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    level: Mapped[int] = mapped_column(Integer, default=2)
    # The team's shared address: escalations arrive there, and replies to them land on the ticket.
    email: Mapped[str | None] = mapped_column(String(254))
    # The client's own system, told of each escalation; signed with the secret (HMAC-SHA256).
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(32))
    # Working hours; None: the team works around the clock. The rota's times are in `timezone`.
    calendar_id: Mapped[int | None] = mapped_column(ForeignKey("business_calendars.id", ondelete="SET NULL"))
    timezone: Mapped[str] = mapped_column(String(64))
    # Business minutes (in the team's calendar) to acknowledge and to resolve an escalation.
    ack_minutes: Mapped[int] = mapped_column(Integer, default=60)
    resolve_minutes: Mapped[int] = mapped_column(Integer, default=3 * 24 * 60)
    # Minutes the person on call has to acknowledge before the next one is paged.
    oncall_ack_minutes: Mapped[int] = mapped_column(Integer, default=15)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TeamMember(TenantScoped, db.Model):
    __tablename__ = "team_members"
    __table_args__ = (
        UniqueConstraint("tenant_id", "team_id", "user_id", name="uq_team_members_tenant_id_team_id_user_id"),
        Index("ix_team_members_tenant_id_user_id", "tenant_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EscalationRule(TenantScoped, db.Model):
    """The first active rule, by position, whose every non-empty condition matches picks the team.

    Empty lists match anything; keywords match the subject or the handoff summary, any of them.
    """

    __tablename__ = "escalation_rules"
    __table_args__ = (Index("ix_escalation_rules_tenant_id_position", "tenant_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    priorities: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    organization_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EscalationStatus(StrEnum):
    OPEN = "open"  # waiting for the team to acknowledge
    ACKNOWLEDGED = "acknowledged"  # someone of the team is on it
    RETURNED = "returned"  # handed back to L1 with instructions
    FORWARDED = "forwarded"  # escalated further, to another team
    RESOLVED = "resolved"


ACTIVE_ESCALATION = (EscalationStatus.OPEN.value, EscalationStatus.ACKNOWLEDGED.value)


class Escalation(TenantScoped, db.Model):
    """One handoff of a ticket to one team, with the packet L1 (or the previous team) wrote."""

    __tablename__ = "escalations"
    __table_args__ = (
        Index("ix_escalations_tenant_id_team_id_status", "tenant_id", "team_id", "status", "created_at"),
        Index("ix_escalations_tenant_id_ticket_id", "tenant_id", "ticket_id"),
        # The reports' rollups read each day's new, acknowledged and closed escalations.
        Index("ix_escalations_tenant_id_created_at", "tenant_id", "created_at"),
        Index("ix_escalations_tenant_id_acknowledged_at", "tenant_id", "acknowledged_at"),
        Index("ix_escalations_tenant_id_closed_at", "tenant_id", "closed_at"),
        # The on-call sweep looks across tenants for unacknowledged pages that are due.
        Index("ix_escalations_status_page_due_at", "status", "page_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=EscalationStatus.OPEN.value)
    # summary, reported, tried, articles (ids), urgency, impact, availability; see handoff.py.
    packet: Mapped[dict[str, Any]] = mapped_column(JSON)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ack_due_at: Mapped[datetime | None]
    resolve_due_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # What the team said on returning, forwarding or resolving.
    outcome: Mapped[str | None] = mapped_column(Text)
    # On call: who was paged last, and when the next one is paged if nobody acknowledges.
    paged_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    page_attempts: Mapped[int] = mapped_column(Integer, default=0)
    page_due_at: Mapped[datetime | None]


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # will be retried
    DEAD = "dead"  # gave up


class WebhookDelivery(TenantScoped, db.Model):
    """What the client's system was told, and what it answered: the log the client sees."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_tenant_id_team_id_created_at", "tenant_id", "team_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id", ondelete="SET NULL"))
    event: Mapped[str] = mapped_column(String(40))
    url: Mapped[str] = mapped_column(String(500))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]


class OnCallSlot(TenantScoped, db.Model):
    """The weekly pattern: `user_id` is on call for the team on `weekday` (0 = Monday) from
    `start_minute` to `end_minute` (minutes after midnight, in the team's time zone)."""

    __tablename__ = "oncall_slots"
    __table_args__ = (Index("ix_oncall_slots_tenant_id_team_id_weekday", "tenant_id", "team_id", "weekday"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)
    # Who is paged next if the first does not acknowledge: lower goes first.
    position: Mapped[int] = mapped_column(Integer, default=0)


class OnCallOverride(TenantScoped, db.Model):
    """A one-off change to the pattern (holidays, swaps): `user_id` is on call instead."""

    __tablename__ = "oncall_overrides"
    __table_args__ = (
        Index("ix_oncall_overrides_tenant_id_team_id_starts_at", "tenant_id", "team_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(String(200), default="")


class OnCallPage(TenantScoped, db.Model):
    """Each time someone was paged for an escalation; the record that nobody is paged twice."""

    __tablename__ = "oncall_pages"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "escalation_id", "attempt", name="uq_oncall_pages_tenant_id_escalation_id_attempt"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
