"""Service levels: business calendars (weekly hours, holidays, time zone), the SLA policies that
set targets per priority, and the warnings and breaches recorded on tickets and escalations."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models_base import utcnow
from core.tenancy import TenantScoped


class BusinessCalendar(TenantScoped, db.Model):
    """When the clocks run: always (24/7), or the weekly hours in `timezone` minus holidays.

    `hours` maps a weekday ("0" = Monday) to its open intervals, [["08:00", "12:00"], ...].
    `holiday_country` (CH, DE, FR, IT) and `holiday_subdivision` (a canton, a Land) add the
    national holidays from the `holidays` package to the client's own `CalendarHoliday` rows.
    """

    __tablename__ = "business_calendars"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_business_calendars_tenant_id_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))
    always_open: Mapped[bool] = mapped_column(Boolean, default=False)
    hours: Mapped[dict[str, list[list[str]]]] = mapped_column(JSON, default=dict)
    holiday_country: Mapped[str | None] = mapped_column(String(2))
    holiday_subdivision: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CalendarHoliday(TenantScoped, db.Model):
    __tablename__ = "calendar_holidays"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "calendar_id", "day", name="uq_calendar_holidays_tenant_id_calendar_id_day"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("business_calendars.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(200), default="")


class SlaPolicy(TenantScoped, db.Model):
    """Targets in business minutes per clock and priority:
    {"first_response": {"urgent": 30, ...}, "next_response": {...}, "resolution": {...}}.

    The most specific active policy applies: organisation and category, then organisation, then
    category, then the tenant's default (both empty); ties go to the lower position.
    """

    __tablename__ = "sla_policies"
    __table_args__ = (Index("ix_sla_policies_tenant_id_position", "tenant_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    category: Mapped[str | None] = mapped_column(String(30))
    calendar_id: Mapped[int | None] = mapped_column(ForeignKey("business_calendars.id", ondelete="SET NULL"))
    targets: Mapped[dict[str, dict[str, int]]] = mapped_column(JSON, default=dict)
    # Warn when this share of the target has passed; on a breach, raise the priority one step.
    warn_percent: Mapped[int] = mapped_column(Integer, default=80)
    raise_priority: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SlaClock(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"
    TEAM_ACK = "team_ack"
    TEAM_RESOLVE = "team_resolve"


class SlaEventKind(StrEnum):
    WARNING = "warning"
    BREACH = "breach"


class SlaEvent(TenantScoped, db.Model):
    """A warning or breach, recorded once per clock (of the ticket, or of one of its escalations)
    and due time: the unique key is what makes the sweep idempotent when it runs twice or on two
    schedulers at once."""

    __tablename__ = "sla_events"
    __table_args__ = (
        # An escalation's clocks are their own: two escalations of one ticket (L2, then L3) can
        # fall due at the same instant and each is recorded. COALESCE, because NULLs are distinct
        # in a unique index and the ticket's own clocks have no escalation.
        Index(
            "uq_sla_events_key",
            "tenant_id",
            "ticket_id",
            func.coalesce(text("escalation_id"), 0),
            "clock",
            "kind",
            "due_at",
            unique=True,
        ),
        Index("ix_sla_events_tenant_id_created_at", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id", ondelete="CASCADE"))
    clock: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))
    due_at: Mapped[datetime]
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
