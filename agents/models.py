"""Provider staff: which client companies each one serves, and which languages they speak."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models_base import utcnow
from core.tenancy import TenantScoped


class SkillLevel(StrEnum):
    NATIVE = "native"
    FLUENT = "fluent"
    BASIC = "basic"


class AgentAssignment(TenantScoped, db.Model):
    """An agent trained for a client, or a supervisor responsible for it."""

    __tablename__ = "agent_assignments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", name="uq_agent_assignments_tenant_id_user_id"),
        Index("ix_agent_assignments_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentLanguage(db.Model):
    """Provider-level data (not a tenant's): the languages an agent can serve customers in."""

    __tablename__ = "agent_languages"
    __table_args__ = (UniqueConstraint("user_id", "language", name="uq_agent_languages_user_id_language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    level: Mapped[str] = mapped_column(String(10), default=SkillLevel.FLUENT.value)


class Presence(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"  # on shift but not taking new tickets (a long call, a break)
    OFFLINE = "offline"


class AgentPresence(db.Model):
    """Provider-level: whether an agent takes tickets now, and how many open ones they hold.

    `open_tickets` spans every client the agent serves; it is kept here, outside the tenants'
    tables, so that routing one tenant's ticket never has to count another tenant's rows.
    """

    __tablename__ = "agent_presence"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default=Presence.OFFLINE.value)
    open_tickets: Mapped[int] = mapped_column(Integer, default=0)
    last_assigned_at: Mapped[datetime | None]
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentShift(db.Model):
    """Provider-level: one stretch an agent works, in UTC. The coverage grid counts these."""

    __tablename__ = "agent_shifts"
    __table_args__ = (
        Index("ix_agent_shifts_starts_at_ends_at", "starts_at", "ends_at"),
        Index("ix_agent_shifts_user_id_starts_at", "user_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CoverageAlert(TenantScoped, db.Model):
    """A language of a client uncovered in an hour: supervisors were warned of it, once."""

    __tablename__ = "coverage_alerts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "language", "hour", name="uq_coverage_alerts_tenant_id_language_hour"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(String(8))
    hour: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
