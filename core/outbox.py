"""The transactional outbox: every outbound side effect is a row first, a delivery second.

A row is written in the same transaction as the change that causes it, so a rollback sends
nothing and a commit loses nothing. Delivery jobs claim a row before working on it, so a row
enqueued twice (by the commit and by the relay after a Redis outage) is delivered once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Index, Integer, String, Text, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from core.database import insert_once, insert_once_later
from core.errors import Conflict, NotFound
from core.extensions import db
from core.jobs import job
from core.models_base import utcnow
from core.tenancy import SharedOrTenantScoped

log = logging.getLogger(__name__)

PENDING, SENDING, SENT, DEAD = "pending", "sending", "sent", "dead"
KIND_QUEUES = {"email": "mail", "webhook": "webhooks", "stripe": "billing"}
CLAIM_TTL = timedelta(minutes=5)
# How long an enqueued row may wait before the relay assumes Redis lost it.
REENQUEUE_AFTER = timedelta(seconds=60)

Handler = Callable[["OutboxMessage"], None]
_handlers: dict[str, Handler] = {}


class OutboxMessage(SharedOrTenantScoped, db.Model):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_tenant_id_status", "tenant_id", "status"),
        # The relay sweeps across all tenants by due time.
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that performs deliveries of one kind (it raises on failure)."""

    def register(fn: Handler) -> Handler:
        _handlers[kind] = fn
        return fn

    return register


def add(
    kind: str,
    payload: dict[str, Any],
    *,
    tenant_id: int | None,
    dedupe_key: str | None = None,
) -> OutboxMessage:
    """Record an outbound side effect in the current transaction; delivered after commit.

    The row is written at once with `INSERT ... RETURNING` (`ON CONFLICT DO NOTHING` on a dedupe
    key): one round trip; a key recorded before returns its row and enqueues nothing. Inside a
    batch that collects rows (`core.database.rows_later`) a row with a dedupe key is written with
    the batch's others, and enqueued then; what is returned is the unsaved row (no id yet)."""
    values = {
        "kind": kind,
        "payload": payload,
        "tenant_id": tenant_id,
        "dedupe_key": dedupe_key,
        "enqueued_at": utcnow(),
    }
    queue = KIND_QUEUES.get(kind, "default")
    key = ("dedupe_key",)  # NULL never conflicts: a message without a key is always new
    if insert_once_later(
        OutboxMessage,
        tenant_id,
        values,
        key,
        then=lambda row_id: deliver.enqueue(tenant_id, row_id, queue=queue),
    ):
        return OutboxMessage(**values)
    message, new = insert_once(OutboxMessage, tenant_id, values, key)
    if new:
        deliver.enqueue(tenant_id, message.id, queue=queue)
    return message


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


@job("default", retries=0)
def deliver(tenant_id: int | None, outbox_id: int, now: datetime | None = None) -> str:
    """Claim, deliver and record one row; failures are rescheduled here, not by RQ."""
    now = now or utcnow()
    claimed = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == outbox_id,
            or_(
                (OutboxMessage.status == PENDING) & (OutboxMessage.next_attempt_at <= now),
                (OutboxMessage.status == SENDING) & (OutboxMessage.claimed_until < now),
            ),
        )
        .values(
            status=SENDING,
            claimed_until=now + CLAIM_TTL,
            attempts=OutboxMessage.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        return "skipped"
    db.session.commit()
    message = db.session.get_one(OutboxMessage, outbox_id, populate_existing=True)
    try:
        _handlers[message.kind](message)
    except Exception as exc:
        log.warning("outbox %s (%s) failed: %s", message.id, message.kind, exc)
        message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        message.claimed_until = None
        if message.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
            message.status = DEAD
        else:
            message.status = PENDING
            message.next_attempt_at = now + backoff(message.attempts)
        return message.status
    message.status = SENT
    message.sent_at = utcnow()
    message.claimed_until = None
    message.last_error = None
    return SENT


def relay(now: datetime | None = None, limit: int = 500) -> int:
    """Re-enqueue due rows nobody is working on: Redis lost them, or their retry is due."""
    now = now or utcnow()
    due = db.session.scalars(
        select(OutboxMessage)
        .where(
            or_(
                (OutboxMessage.status == PENDING)
                & (OutboxMessage.next_attempt_at <= now)
                & or_(
                    OutboxMessage.enqueued_at.is_(None),
                    OutboxMessage.enqueued_at <= now - REENQUEUE_AFTER,
                    OutboxMessage.enqueued_at < OutboxMessage.next_attempt_at,
                ),
                (OutboxMessage.status == SENDING) & (OutboxMessage.claimed_until < now),
            )
        )
        .order_by(OutboxMessage.next_attempt_at)
        .limit(limit)
    ).all()
    for message in due:
        message.enqueued_at = now
        deliver.enqueue(message.tenant_id, message.id, queue=KIND_QUEUES.get(message.kind, "default"))
    return len(due)


def retry(outbox_id: int) -> OutboxMessage:
    """The retry button: a dead row gets a fresh round of attempts; a row that failed and waits
    for its next attempt is tried now. The caller audits who pressed it."""
    message = db.session.get(OutboxMessage, outbox_id)
    if message is None:
        raise NotFound()
    if message.status == DEAD:
        message.attempts = 0
    elif not (message.status == PENDING and message.attempts > 0):
        raise Conflict(_l("Only a message whose delivery failed can be retried."))
    message.status = PENDING
    message.next_attempt_at = utcnow()
    message.enqueued_at = utcnow()
    deliver.enqueue(message.tenant_id, message.id, queue=KIND_QUEUES.get(message.kind, "default"))
    return message
