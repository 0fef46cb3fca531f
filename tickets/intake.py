"""The one intake that every channel calls: store the contact as it arrived, then process it.

`receive` commits nothing itself but is meant to be committed at once by the channel: the raw
record is safe before any parsing, matching or routing happens. `process` is idempotent (a record
processed twice makes one ticket) and runs as a job; a sweep retries what failed or was never
picked up, so a contact that arrives while Redis is down is processed when it comes back.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from agents import routing
from billing import usage
from billing.models import UsageKind
from core import scheduler
from core.extensions import db
from core.jobs import job
from core.mail import send_email
from core.models_base import utcnow
from i18n.detect import detect
from tenants import services as tenants
from tenants.models import Tenant
from tickets import contacts
from tickets.models import Attachment, Category, Channel, InboundRecord, InboundStatus, Ticket
from tickets.services import NewTicket, display_number, open_ticket

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
RETRY_AFTER = timedelta(seconds=60)


@dataclass
class InboundContact:
    """What a channel hands over, already translated from its transport."""

    channel: Channel
    external_id: str  # the channel's idempotency key (form submission id, call id, Message-ID)
    subject: str
    body: str
    name: str = ""
    email: str | None = None
    phone: str | None = None
    category: Category = Category.OTHER
    language: str | None = None  # what the customer chose, if anything
    acknowledge: bool = True  # send the customer a confirmation with the ticket number
    attachment_ids: list[int] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def receive(tenant_id: int, contact: InboundContact) -> InboundRecord:
    """Store the contact; the same external id twice returns the first record."""
    existing = db.session.scalar(
        select(InboundRecord).where(
            InboundRecord.tenant_id == tenant_id,
            InboundRecord.channel == contact.channel.value,
            InboundRecord.external_id == contact.external_id,
        )
    )
    if existing is not None:
        return existing
    payload = asdict(contact)
    payload["channel"] = contact.channel.value
    payload["category"] = contact.category.value
    record = InboundRecord(
        tenant_id=tenant_id,
        channel=contact.channel.value,
        external_id=contact.external_id[:200],
        payload=payload,
    )
    db.session.add(record)
    db.session.flush()
    if contact.attachment_ids:
        db.session.execute(
            update(Attachment)
            .where(Attachment.tenant_id == tenant_id, Attachment.id.in_(contact.attachment_ids))
            .values(inbound_id=record.id)
            .execution_options(synchronize_session=False)
        )
    process_inbound.enqueue(tenant_id, record.id)
    return record


@job("default", retries=0)
def process_inbound(tenant_id: int, record_id: int) -> int | None:
    return process(record_id)


def process(record_id: int) -> int | None:
    """Turn a stored record into a ticket (once); on failure keep it, with the error, for a retry."""
    record = db.session.get(InboundRecord, record_id, with_for_update=True)
    if record is None:
        return None
    if record.status == InboundStatus.PROCESSED.value:
        return record.ticket_id
    record.attempts += 1
    try:
        with db.session.begin_nested():
            ticket = _make_ticket(record)
    except Exception as exc:
        log.exception("inbound %s failed", record.id)
        record.status = InboundStatus.FAILED.value
        record.error = f"{type(exc).__name__}: {exc}"[:2000]
        return None
    record.status = InboundStatus.PROCESSED.value
    record.ticket_id = ticket.id
    record.processed_at = utcnow()
    record.error = None
    return ticket.id


def _make_ticket(record: InboundRecord) -> Ticket:
    data = InboundContact(
        **{
            **record.payload,
            "channel": Channel(record.payload["channel"]),
            "category": Category(record.payload["category"]),
        }
    )
    tenant = db.session.get_one(Tenant, record.tenant_id)
    language = (
        data.language
        if data.language in tenant.languages
        else detect(f"{data.subject}\n{data.body}", tenant.languages, tenant.default_language)
    )
    contact = contacts.find_or_create(
        record.tenant_id, email=data.email, phone=data.phone, name=data.name, language=language
    )
    ticket, message = open_ticket(
        NewTicket(
            tenant_id=record.tenant_id,
            subject=data.subject,
            body=data.body,
            channel=data.channel,
            language=language,
            contact_id=contact.id,
            category=data.category,
            data=data.extra,
        )
    )
    db.session.execute(
        update(Attachment)
        .where(Attachment.tenant_id == record.tenant_id, Attachment.inbound_id == record.id)
        .values(message_id=message.id)
        .execution_options(synchronize_session=False)
    )
    usage.record(
        record.tenant_id,
        UsageKind.CONTACT,
        f"inbound:{record.id}",
        ticket_id=ticket.id,
        data={"channel": data.channel.value},
    )
    if tenant.auto_assign:
        routing.auto_assign(ticket)
    if data.acknowledge and contact.email:
        _acknowledge(tenant, ticket, contact.email)
    return ticket


def _acknowledge(tenant: Tenant, ticket: Ticket, email: str) -> None:
    number = display_number(tenant, ticket)
    with force_locale(ticket.language):
        subject = _("[%(number)s] We have received your message", number=number)
        text = render_template(
            "tickets/email/acknowledgement.txt", tenant=tenant, ticket=ticket, number=number
        )
    send_email(
        to=email,
        subject=subject,
        text=text,
        tenant_id=tenant.id,
        sender=tenants.sender_of(tenant),
        headers={"Auto-Submitted": "auto-replied"},
        dedupe_key=f"ack:{tenant.id}:{ticket.id}",
    )


def retry_due(now: datetime | None = None, limit: int = 200) -> int:
    """Re-enqueue records that were never processed (Redis lost the job) or failed (retry)."""
    now = now or utcnow()
    rows = db.session.execute(
        select(InboundRecord.id, InboundRecord.tenant_id)
        .where(
            or_(
                InboundRecord.status == InboundStatus.RECEIVED.value,
                InboundRecord.status == InboundStatus.FAILED.value,
            ),
            InboundRecord.attempts < MAX_ATTEMPTS,
            InboundRecord.received_at <= now - RETRY_AFTER,
        )
        .order_by(InboundRecord.received_at)
        .limit(limit)
    ).all()
    for record_id, tenant_id in rows:
        process_inbound.enqueue(tenant_id, record_id)
    return len(rows)


@scheduler.periodic("intake.retry", every=timedelta(seconds=60))
def retry_inbound(tenant_id: None) -> int:
    return retry_due()
