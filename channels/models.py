"""Mailboxes a client keeps at its own provider, which the desk polls over IMAP."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models_base import utcnow
from core.tenancy import TenantScoped


class Mailbox(TenantScoped, db.Model):
    __tablename__ = "mailboxes"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "host", "username", "folder", name="uq_mailboxes_tenant_id_host_username"
        ),
        # The poll sweep looks across tenants for enabled mailboxes.
        Index("ix_mailboxes_enabled_last_polled_at", "enabled", "last_polled_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(253))
    port: Mapped[int] = mapped_column(Integer, default=993)
    use_ssl: Mapped[bool] = mapped_column(Boolean, default=True)
    username: Mapped[str] = mapped_column(String(254))
    password_encrypted: Mapped[str] = mapped_column(Text)  # core.secretbox
    folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Where the last poll stopped: UIDs only grow within one UIDVALIDITY (both up to 2**32 - 1).
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_polled_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
