"""Who did what to which record of which tenant, from where, and when.

Services call `record()`; the request (or job) boundary sets the actor once, so services never
look at `flask.request` for the IP or the user.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models_base import utcnow
from core.tenancy import SharedOrTenantScoped


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    label: str
    ip: str | None = None


SYSTEM_ACTOR = Actor(user_id=None, label="system")
_actor: ContextVar[Actor] = ContextVar("firstline_actor", default=SYSTEM_ACTOR)


def current_actor() -> Actor:
    return _actor.get()


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def set_actor(actor: Actor) -> Token[Actor]:
    return _actor.set(actor)


def reset_actor(token: Token[Actor]) -> None:
    _actor.reset(token)


class AuditEvent(SharedOrTenantScoped, db.Model):
    """Kept when a tenant is offboarded: `tenant_id` is a plain column, not a cascading key."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_tenant_id_created_at", "tenant_id", "created_at"),
        Index("ix_audit_events_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # type: ignore[assignment]
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_label: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(80))
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(40))
    ip: Mapped[str | None] = mapped_column(String(45))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def record(
    action: str,
    *,
    tenant_id: int | None,
    target: object | None = None,
    target_type: str | None = None,
    target_id: object | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit row to the current transaction (it commits with the change it describes)."""
    actor = _actor.get()
    if target is not None:
        target_type = target_type or getattr(target, "__tablename__", type(target).__name__)
        target_id = target_id if target_id is not None else getattr(target, "id", None)
    event = AuditEvent(
        tenant_id=tenant_id,
        actor_id=actor.user_id,
        actor_label=actor.label,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        ip=actor.ip,
        data=data or {},
    )
    db.session.add(event)
    return event


@dataclass(frozen=True)
class AuditFilter:
    tenant_id: int | None = None
    action: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def search(flt: AuditFilter, *, before_id: int | None = None, limit: int = 50) -> list[AuditEvent]:
    """Newest first, keyset-paginated by id; the tenancy scope limits what is visible."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if flt.tenant_id is not None:
        query = query.where(AuditEvent.tenant_id == flt.tenant_id)
    if flt.action:
        query = query.where(AuditEvent.action.startswith(flt.action, autoescape=True))
    if flt.actor:
        query = query.where(AuditEvent.actor_label.icontains(flt.actor, autoescape=True))
    if flt.since:
        query = query.where(AuditEvent.created_at >= flt.since)
    if flt.until:
        query = query.where(AuditEvent.created_at < flt.until)
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    return list(db.session.scalars(query))
