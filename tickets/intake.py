"""The one intake that every channel calls: store the contact as it arrived, then process it.

`receive` commits nothing itself but is meant to be committed at once by the channel: the raw
record is safe before any parsing, matching or routing happens. `process` is idempotent (a record
processed twice makes one ticket) and runs as a job; a sweep retries what failed or was never
picked up, so a contact that arrives while Redis is down is processed when it comes back.

A record's job takes the tenant's other waiting records along (`process_batch`): under a backlog
one job and one transaction serve up to `BATCH` records, attempted together and written with one
INSERT per table (`_all_at_once`), or, when one of them fails, each in a savepoint of its own;
the jobs of the others are withdrawn from the queue after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import undefer
from sqlalchemy.orm.attributes import flag_modified, set_committed_value

from agents import routing
from billing import usage
from billing.models import UsageKind
from core import memo, scheduler
from core.database import ids_ahead, insert_once, rows_later
from core.errors import Conflict, NotFound
from core.extensions import db
from core.jobs import job
from core.mail import send_email
from core.models_base import utcnow
from i18n.detect import detect
from tenants import services as tenants
from tenants.models import Tenant
from tickets import contacts, numbers
from tickets.macros import fill
from tickets.models import (
    Attachment,
    Category,
    Channel,
    Contact,
    InboundRecord,
    InboundStatus,
    Message,
    MessageKind,
    Ticket,
)
from tickets.services import NewTicket, add_message, display_number, open_ticket

log = logging.getLogger(__name__)
OUTCOME_NEW = "new_ticket"
MAX_ATTEMPTS = 5
RETRY_AFTER = timedelta(seconds=60)
# What one job processes at most: records of its tenant, and their raw bytes (mail with large
# attachments is held in memory while it is parsed).
BATCH = 25
BATCH_BYTES = 16 * 1024 * 1024


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
    message_id: str | None = None  # e-mail: the Message-ID later replies refer to


def receive(tenant_id: int, contact: InboundContact, *, raw: bytes | None = None) -> InboundRecord:
    """Store the contact (and the transport's raw bytes, if any); the same external id twice
    returns the first record.

    One `INSERT ... ON CONFLICT DO NOTHING` on the idempotency key: a new contact (nearly every
    one) costs one round trip, a repeated one a second to read the first record."""
    payload = asdict(contact)
    payload["channel"] = contact.channel.value
    payload["category"] = contact.category.value
    record, new = insert_once(
        InboundRecord,
        tenant_id,
        {
            "tenant_id": tenant_id,
            "channel": contact.channel.value,
            "external_id": contact.external_id[:200],
            "payload": payload,
            "raw": raw,
        },
        key=("tenant_id", "channel", "external_id"),
    )
    if not new:
        return record
    if contact.attachment_ids:
        db.session.execute(
            update(Attachment)
            .where(Attachment.tenant_id == tenant_id, Attachment.id.in_(contact.attachment_ids))
            .values(inbound_id=record.id)
            .execution_options(synchronize_session=False)
        )
    process_inbound.enqueue(tenant_id, record.id, key=_job_key(record.id))
    return record


def _job_key(record_id: int) -> str:
    """A record's job is named after it, so that a batch that processed it can withdraw it."""
    return f"intake-{record_id}"


def ticket_of(record_id: int) -> int | None:
    """The ticket a record became, if it has been processed yet."""
    return db.session.scalar(select(InboundRecord.ticket_id).where(InboundRecord.id == record_id))


@job("default", retries=0)
def process_inbound(tenant_id: int, record_id: int) -> int | None:
    """The record's job; it takes the tenant's other waiting records along (`process_batch`)."""
    return process_batch(tenant_id, record_id)


Processor = Callable[[InboundRecord], "Ticket | None"]
Preparer = Callable[[list[InboundRecord]], None]
_processors: dict[str, Processor] = {}
_preparers: dict[str, Preparer] = {}


def processor(channel: Channel) -> Callable[[Processor], Processor]:
    """Register how a channel's records become tickets (e-mail threads, bounces, loops); the
    default opens a ticket from the stored `InboundContact`. A processor returns the ticket, or
    None when the record is deliberately not one (it sets `record.outcome` to say why)."""

    def register(fn: Processor) -> Processor:
        _processors[channel.value] = fn
        return fn

    return register


def preparer(channel: Channel) -> Callable[[Preparer], Preparer]:
    """Register what a channel does ahead of a batch of its records, inside the batch's memo
    (`core.memo`): load with one query what its processor would look up once per record (the
    senders' contacts, say). Only an optimization: the processors work without it."""

    def register(fn: Preparer) -> Preparer:
        _preparers[channel.value] = fn
        return fn

    return register


def process(record_id: int) -> int | None:
    """Turn a stored record into a ticket (once); on failure keep it, with the error, for a retry.

    The attempt runs in a savepoint, so a failure rolls back what it wrote and nothing of the
    caller's (a chat taken before the queue got to the record)."""
    record = db.session.get(
        InboundRecord, record_id, with_for_update=True, options=[undefer(InboundRecord.raw)]
    )
    return None if record is None else _attempt(record)


def process_batch(tenant_id: int, record_id: int, *, limit: int = BATCH) -> int | None:
    """The record and up to `limit - 1` more records of the tenant that wait unprocessed and
    that no other worker holds, oldest first, in one transaction: all at once (`_all_at_once`),
    or, when one of them fails, each attempt in its own savepoint; the jobs of the others are
    withdrawn once it has committed. A job's fixed cost
    (the queue's bookkeeping, a connection, the commit) and the tenant's settings (`core.memo`)
    are paid once per batch instead of once per record. Returns what `process` returns for
    `record_id`.

    Nothing changes for the guarantees: each record is still locked and processed once (a
    record another worker holds is skipped; if that worker fails, the record keeps its own job
    or the retry sweep), and a batch that fails as a whole rolls back to records still waiting
    with their jobs still queued."""
    own = db.session.get(InboundRecord, record_id, with_for_update=True, options=[undefer(InboundRecord.raw)])
    others = _claim(tenant_id, record_id, limit - 1)
    records = sorted([r for r in (own, *others) if r is not None], key=lambda r: r.id)
    # Held for the batch: the session's identity map holds unchanged rows weakly, and the
    # tenant would be read again for every record.
    tenant = db.session.get(Tenant, tenant_id) if len(records) > 1 else None
    if len(records) < 2 or not _all_at_once(records):
        with memo.batch():
            for record in records:
                _attempt(record)
                db.session.expire(record, ["raw"])  # the raw bytes are not needed any more
    del tenant
    if others:
        process_inbound.withdraw([_job_key(r.id) for r in others])
    return own.ticket_id if own is not None else None


def _all_at_once(records: list[InboundRecord]) -> bool:
    """The batch's records one after the other in a single savepoint, instead of a savepoint
    each: two round trips and a nested flush less per record, and the records' own UPDATEs
    written together at the end. True when all of them went through; when any of them fails,
    the savepoint is rolled back (everything the batch wrote is undone, the records are still
    locked) and False says to go through them one savepoint at a time, where the failing one
    is kept with its error and the others go on. A failure costs its batch a second pass;
    failures are rare. The records' usage events and acknowledgements are written together at
    the end too (`rows_later`), their ticket numbers reserved at once (`numbers.reserved`), and
    on PostgreSQL their new rows given ids ahead (`ids_ahead`), so that contacts, tickets,
    messages and history wait for one flush with one INSERT per table."""
    waiting = [
        r for r in records if r.status not in (InboundStatus.PROCESSED.value, InboundStatus.IGNORED.value)
    ]
    if not waiting:
        return True
    try:
        # A memo of its own: what the rolled-back pass read or created is not kept for the next.
        with (
            memo.batch(),
            db.session.begin_nested(),
            numbers.reserved(waiting[0].tenant_id, len(waiting)),
            ids_ahead(len(waiting)),
            rows_later(),
        ):
            for channel in dict.fromkeys(r.channel for r in waiting):
                if channel in _preparers:
                    _preparers[channel]([r for r in waiting if r.channel == channel])
            results = []
            for record in waiting:
                results.append(_processors.get(record.channel, _make_ticket)(record))
                db.session.expire(record, ["raw"])
                # The outcome the processor set waits for the records' common UPDATE below,
                # instead of riding on the next record's first flush as an UPDATE of its own.
                set_committed_value(record, "outcome", record.outcome)
            db.session.flush()  # the batch's new rows, one INSERT per table, before the records name them
            for record, ticket in zip(waiting, results, strict=True):
                _done(record, ticket)
                flag_modified(record, "outcome")
    except Exception:
        log.info("a batch of %d records falls back to one savepoint per record", len(waiting), exc_info=True)
        return False
    return True


def _claim(tenant_id: int, record_id: int, limit: int) -> list[InboundRecord]:
    """Waiting records of the tenant, oldest first, whose raw bytes add up to at most
    `BATCH_BYTES`, locked (those another worker holds are skipped)."""
    if limit <= 0:
        return []
    waiting = (
        InboundRecord.tenant_id == tenant_id,
        InboundRecord.status == InboundStatus.RECEIVED.value,
        InboundRecord.id != record_id,
    )
    ids, total = [], 0
    for other_id, size in db.session.execute(
        select(InboundRecord.id, func.coalesce(func.length(InboundRecord.raw), 0))
        .where(*waiting)
        .order_by(InboundRecord.id)
        .limit(limit)
    ):
        total += int(size)
        if total > BATCH_BYTES:
            break
        ids.append(other_id)
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(InboundRecord)
            .where(*waiting, InboundRecord.id.in_(ids))
            .order_by(InboundRecord.id)
            .with_for_update(skip_locked=True)
            .options(undefer(InboundRecord.raw))
        )
    )


def _attempt(record: InboundRecord) -> int | None:
    """One attempt at a locked record, in a savepoint."""
    if record.status in (InboundStatus.PROCESSED.value, InboundStatus.IGNORED.value):
        return record.ticket_id
    record_id = record.id
    try:
        with db.session.begin_nested():
            _done(record, _processors.get(record.channel, _make_ticket)(record))
    except Exception as exc:
        log.exception("inbound %s failed", record_id)
        memo.forget()  # it may keep a row the rollback undid (a contact the attempt created)
        record.attempts += 1
        record.status = InboundStatus.FAILED.value
        record.error = f"{type(exc).__name__}: {exc}"[:2000]
        return None
    return record.ticket_id


def _done(record: InboundRecord, ticket: Ticket | None) -> None:
    """The attempt, the outcome the processor set and the result, in the savepoint: one UPDATE
    of the record, flushed with the attempt's other writes."""
    record.attempts += 1
    record.status = InboundStatus.PROCESSED.value if ticket is not None else InboundStatus.IGNORED.value
    record.ticket_id = ticket.id if ticket is not None else None
    record.processed_at = utcnow()
    record.error = None


def listing(
    status: InboundStatus | None = None, tenant_id: int | None = None, limit: int = 100
) -> list[InboundRecord]:
    """The newest records of the scope, for the supervisors' view of what arrived."""
    query = (
        select(InboundRecord).order_by(InboundRecord.received_at.desc(), InboundRecord.id.desc()).limit(limit)
    )
    if status is not None:
        query = query.where(InboundRecord.status == status.value)
    if tenant_id is not None:
        query = query.where(InboundRecord.tenant_id == tenant_id)
    return list(db.session.scalars(query))


def get_record(record_id: int) -> InboundRecord:
    record = db.session.get(InboundRecord, record_id)
    if record is None:
        raise NotFound(_("Not found."))
    return record


def raw_of(record: InboundRecord) -> bytes | None:
    return db.session.scalar(
        select(InboundRecord.raw).where(
            InboundRecord.tenant_id == record.tenant_id, InboundRecord.id == record.id
        )
    )


def retry(record_id: int) -> None:
    """A supervisor's retry button: a failed record gets a fresh round of attempts."""
    record = get_record(record_id)
    if record.status != InboundStatus.FAILED.value:
        raise Conflict(_("Only a failed contact can be retried."))
    record.attempts = 0
    record.status = InboundStatus.RECEIVED.value
    process_inbound.enqueue(record.tenant_id, record.id, key=_job_key(record.id))


def _make_ticket(record: InboundRecord) -> Ticket:
    data = InboundContact(
        **{
            **record.payload,
            "channel": Channel(record.payload["channel"]),
            "category": Category(record.payload["category"]),
        }
    )
    ticket = open_from(record, data)[0]
    record.outcome = OUTCOME_NEW  # after the writes: set before, the first query would flush it alone
    return ticket


def open_from(record: InboundRecord, data: InboundContact) -> tuple[Ticket, Message]:
    """A new ticket for a contact: language, contact, ticket, attachments, usage, routing and
    the acknowledgement. Every channel's new tickets come through here. The ticket has its id;
    the messages and the history wait for the next flush (in a batch, with the batch's others)."""
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
            contact=contact,
            category=data.category,
            data=data.extra,
            received_at=record.received_at,
            email_message_id=data.message_id,
        ),
        flush=False,  # the message goes in with the acknowledgement's note
    )
    if data.attachment_ids:  # uploaded with the form or the API call: `receive` tied them to the record
        db.session.flush()
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
        occurred_at=record.received_at,
        language=language,
    )
    if tenant.auto_assign:
        routing.auto_assign(ticket)
    if data.acknowledge and tenant.acknowledge and contact.email and contact.email_failing_since is None:
        _acknowledge(tenant, ticket, contact, message)
    return ticket, message


def _acknowledge(tenant: Tenant, ticket: Ticket, contact: Contact, message: Message) -> None:
    number = display_number(tenant, ticket)
    own = tenant.acknowledgements.get(ticket.language) if tenant.acknowledgements else None
    with force_locale(ticket.language):
        subject = _("[%(number)s] We have received your message", number=number)
        if own:
            signature = tenant.text_for(tenant.signatures, ticket.language)[0]
            values = {"ticket_number": number, "contact_name": contact.name or "", "subject": ticket.subject}
            text = fill(own, values) + (f"\n\n-- \n{signature}" if signature else "")
        else:
            text = render_template(
                "tickets/email/acknowledgement.txt", tenant=tenant, ticket=ticket, number=number
            )
    sent = send_email(
        to=str(contact.email),
        subject=subject,
        text=text,
        tenant_id=tenant.id,
        sender=tenants.sender_of(tenant),
        headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
        dedupe_key=f"ack:{tenant.id}:{ticket.id}",
        in_reply_to=message.email_message_id,
        references=[message.email_message_id] if message.email_message_id else None,
    )
    # On the ticket's timeline, and findable by its Message-ID: a customer may answer the
    # acknowledgement, a mail server may bounce it.
    with force_locale(ticket.language):
        note = _("Acknowledgement sent to %(address)s.", address=contact.email)
    system = add_message(ticket, MessageKind.SYSTEM, note)
    system.email_message_id = sent.payload["message_id"]


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
        process_inbound.enqueue(tenant_id, record_id, key=_job_key(record_id))
    return len(rows)


@scheduler.periodic("intake.retry", every=timedelta(seconds=60))
def retry_inbound(tenant_id: None) -> int:
    return retry_due()
