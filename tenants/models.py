"""Client companies and the addresses through which their customers reach the desk."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models_base import utcnow
from core.tenancy import TenantRoot, TenantScoped


class TenantStatus(StrEnum):
    TRIAL = "trial"
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Tenant(TenantRoot, db.Model):
    __tablename__ = "tenants"

    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=TenantStatus.ACTIVE.value)
    # Ticket numbers read PREFIX-1042.
    ticket_prefix: Mapped[str] = mapped_column(String(12), unique=True)
    languages: Mapped[list[str]] = mapped_column(JSON)
    default_language: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    brand_color: Mapped[str] = mapped_column(String(7), default="#1f5f99")
    # Per language: how agents greet and sign in the client's name, and the phone script.
    greetings: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    signatures: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    call_scripts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # A customer reply within this many days reopens a resolved ticket.
    reopen_days: Mapped[int] = mapped_column(Integer, default=7)
    # Signs the telephony and fax webhooks of this tenant's numbers (HMAC-SHA256).
    webhook_secret: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(32))
    # New tickets go straight to the least-loaded available agent who speaks their language.
    auto_assign: Mapped[bool] = mapped_column(Boolean, default=False)
    # Minutes per priority, {"first_response": {"urgent": 60, ...}, "resolution": {...}};
    # what is missing falls back to tickets.sla.DEFAULT_TARGETS.
    sla_targets: Mapped[dict[str, dict[str, int]]] = mapped_column(JSON, default=dict)
    # Confirm a new e-mail/web-form ticket to the customer; per language, the client's own text
    # (placeholders {ticket_number}, {contact_name}, {subject}); empty uses the built-in one.
    acknowledge: Mapped[bool] = mapped_column(Boolean, default=True)
    acknowledgements: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Per language, what the customer is told when their ticket goes to the client's specialists
    # (placeholders {ticket_number}, {contact_name}, {subject}); empty uses the built-in text.
    escalation_notices: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Ask the customer for a 1-5 rating when their ticket is resolved (tickets.satisfaction).
    csat_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Mail the client's admins a report of each past month on the 1st (reports.monthly).
    monthly_report: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Why the tenant is suspended, shown to agents and to the client's staff.
    status_reason: Mapped[str] = mapped_column(Text, default="")
    status_changed_at: Mapped[datetime | None]
    # Offboarding: the archive was offered at `offboarded_at`; the data goes at `purge_after`.
    offboarded_at: Mapped[datetime | None]
    purge_after: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_suspended(self) -> bool:
        return self.status == TenantStatus.SUSPENDED.value

    def text_for(self, texts: dict[str, str], language: str) -> tuple[str, str]:
        """A per-language text in `language`, else in the default language; and which it is."""
        if texts.get(language):
            return texts[language], language
        return texts.get(self.default_language, ""), self.default_language

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"


class ChannelKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    FAX = "fax"
    WEBFORM = "webform"
    CHAT = "chat"


class TenantChannel(TenantScoped, db.Model):
    """A support address, number or key; each maps to exactly one tenant, platform-wide."""

    __tablename__ = "tenant_channels"
    __table_args__ = (
        UniqueConstraint("kind", "address", name="uq_tenant_channels_kind_address"),
        Index("ix_tenant_channels_tenant_id_kind", "tenant_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExportStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class TenantExport(TenantScoped, db.Model):
    """An archive of everything of one tenant (tickets, messages, attachments, KB, contacts),
    built by a job into the instance folder and downloaded by the provider admin."""

    __tablename__ = "tenant_exports"
    __table_args__ = (Index("ix_tenant_exports_tenant_id_created_at", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default=ExportStatus.PENDING.value)
    path: Mapped[str] = mapped_column(String(400), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
