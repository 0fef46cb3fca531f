"""The usage ledger: what the provider did for each client, the basis of its invoice."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models_base import utcnow
from core.tenancy import TenantScoped


class UsageKind(StrEnum):
    CONTACT = "contact"  # an inbound contact handled (a ticket opened through any channel)
    TIME = "time"  # seconds an agent worked on a client's ticket


class UsageEvent(TenantScoped, db.Model):
    """Append-only; `key` makes recording idempotent (a retried job does not bill twice)."""

    __tablename__ = "usage_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key", name="uq_usage_events_tenant_id_key"),
        Index("ix_usage_events_tenant_id_kind_occurred_at", "tenant_id", "kind", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(120))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
