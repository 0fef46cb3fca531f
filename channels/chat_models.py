"""Live chat: a visitor's session with the desk, and every line said in it.

Both are tenant data. A session is found by the visitor through its public token (only ever
within the tenant its widget key names) and by agents through the tenancy scope, like tickets.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models_base import utcnow
from core.tenancy import TenantScoped


class ChatStatus(StrEnum):
    QUEUED = "queued"  # waiting for an agent
    ACTIVE = "active"  # an agent has accepted it
    ENDED = "ended"
    OFFLINE = "offline"  # nobody was online: the visitor left a message instead


class ChatAuthor(StrEnum):
    VISITOR = "visitor"
    AGENT = "agent"
    SYSTEM = "system"


class ChatSession(TenantScoped, db.Model):
    __tablename__ = "chat_sessions"
    __table_args__ = (
        UniqueConstraint("token", name="uq_chat_sessions_token"),
        # The agents' queue: waiting chats of a tenant in a language, oldest first.
        Index("ix_chat_sessions_tenant_id_status_language", "tenant_id", "status", "language", "created_at"),
        Index("ix_chat_sessions_tenant_id_agent_id_status", "tenant_id", "agent_id", "status"),
        # The idle sweep looks across tenants for open chats without activity.
        Index("ix_chat_sessions_status_last_activity_at", "status", "last_activity_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The visitor's only credential: unguessable, sent with every widget request.
    token: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_urlsafe(32))
    visitor_name: Mapped[str] = mapped_column(String(200))
    visitor_email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(8))
    topic: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(10), default=ChatStatus.QUEUED.value)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The intake record the chat arrived as, and the ticket that record became.
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_records.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    transcript_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    transcript_sent_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(10))  # visitor, agent or idle
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_open(self) -> bool:
        return self.status in (ChatStatus.QUEUED.value, ChatStatus.ACTIVE.value)


class ChatMessage(TenantScoped, db.Model):
    """One line of a chat. Its id is the server-sent event id: a reconnecting client names the
    last one it saw and gets the rest from here."""

    __tablename__ = "chat_messages"
    __table_args__ = (Index("ix_chat_messages_tenant_id_session_id_id", "tenant_id", "session_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("chat_sessions.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(10))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # System lines say what happened (accepted, ended ...) so clients can follow the status.
    event: Mapped[str | None] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
