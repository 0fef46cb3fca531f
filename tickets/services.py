"""Ticket rules: numbering, the lifecycle, replies in the client's name, notes, history.

Every function works inside the caller's tenancy scope; a ticket id of another tenant is simply
not found. They flush and never commit: the request or job boundary commits once.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import render_template
from flask_babel import gettext as _
from sqlalchemy import Select, Text, cast, func, select, text, union_all

from core import audit, memo, tenancy
from core.database import assign_id
from core.errors import Conflict, NotFound, ValidationFailed
from core.extensions import db
from core.mail import send_email
from core.models_base import utcnow
from tenants import services as tenants
from tenants.models import Tenant
from tickets import sla
from tickets.labels import STATUS as STATUS_LABELS
from tickets.labels import label
from tickets.models import (
    OPEN_PREDICATE,
    OPEN_STATUSES,
    Category,
    Channel,
    Contact,
    Message,
    MessageKind,
    Priority,
    Status,
    Ticket,
    TicketEvent,
)
from tickets.numbers import next_number

# Which status may follow which; reopening goes through `reopen`.
TRANSITIONS: dict[Status, set[Status]] = {
    Status.NEW: {Status.OPEN, Status.PENDING_CUSTOMER, Status.ESCALATED, Status.RESOLVED, Status.CLOSED},
    Status.OPEN: {Status.PENDING_CUSTOMER, Status.ESCALATED, Status.RESOLVED, Status.CLOSED},
    Status.PENDING_CUSTOMER: {Status.OPEN, Status.ESCALATED, Status.RESOLVED, Status.CLOSED},
    Status.ESCALATED: {Status.OPEN, Status.PENDING_CUSTOMER, Status.RESOLVED, Status.CLOSED},
    Status.RESOLVED: {Status.CLOSED, Status.OPEN},
    Status.CLOSED: set(),
}
OPEN_VALUES = frozenset(s.value for s in OPEN_STATUSES)
TAG_RE = re.compile(r"^[\w][\w\-.:/]{0,39}$")
MAX_TAGS = 20

# How many open tickets each agent holds is the agents package's business (routing by load);
# it listens here, so this module need not know about it.
_workload_listeners: list[Callable[[int, int], None]] = []


def on_workload_change(listener: Callable[[int, int], None]) -> Callable[[int, int], None]:
    _workload_listeners.append(listener)
    return listener


# Packages that act when a ticket is resolved (a problem ticket resolves its linked tickets)
# listen here, so that every way of resolving (desk, portal, API, macro) triggers them.
_resolved_listeners: list[Callable[[Ticket, datetime], None]] = []


def on_resolved(listener: Callable[[Ticket, datetime], None]) -> Callable[[Ticket, datetime], None]:
    _resolved_listeners.append(listener)
    return listener


def _workload(user_id: int | None, delta: int) -> None:
    if user_id is not None:
        for listener in _workload_listeners:
            listener(user_id, delta)


def display_number(tenant: Tenant, ticket: Ticket) -> str:
    return f"{tenant.ticket_prefix}-{ticket.number}"


def record_event(ticket: Ticket, kind: str, **data: Any) -> TicketEvent:
    actor = audit.current_actor()
    event = TicketEvent(
        tenant_id=ticket.tenant_id,
        ticket_id=ticket.id,
        actor_id=actor.user_id,
        actor_label=actor.label,
        kind=kind,
        data=data,
    )
    db.session.add(event)
    return event


@dataclass
class NewTicket:
    tenant_id: int
    subject: str
    body: str
    channel: Channel
    language: str
    contact_id: int | None = None
    category: Category = Category.OTHER
    priority: Priority = Priority.NORMAL
    kind: MessageKind = MessageKind.INBOUND
    data: dict[str, Any] | None = None
    # When the contact arrived (the inbound record): the SLA clocks count from then.
    received_at: datetime | None = None
    # E-mail: the Message-ID later replies refer to.
    email_message_id: str | None = None
    # The contact itself, when the caller holds it: inside a batch it may not be written yet,
    # and a lookup by id would flush the batch's rows early.
    contact: Contact | None = None


def open_ticket(new: NewTicket, *, flush: bool = True) -> tuple[Ticket, Message]:
    """The ticket, its first message and its history, flushed. Everything a row holds is set
    before its INSERT (the clocks too), so each row is written once: no follow-up UPDATEs.

    `flush=False` leaves the message and the history to the caller's next flush (the ticket has
    its id: written, or given ahead inside a batch), for a caller that adds more rows of the same
    tables first: the intake's acknowledgement note goes in with the first message, and a batch's
    tickets with each other."""
    subject = " ".join(new.subject.split())[:300] or _("(no subject)")
    contact = new.contact or (db.session.get(Contact, new.contact_id) if new.contact_id else None)
    now = utcnow()
    ticket = Ticket(
        tenant_id=new.tenant_id,
        number=next_number(new.tenant_id),
        subject=subject,
        status=Status.NEW.value,
        priority=new.priority.value,
        category=new.category.value,
        channel=new.channel.value,
        language=new.language,
        contact_id=new.contact_id,
        organization_id=contact.organization_id if contact else None,
        tags=[],
        created_at=now,
        updated_at=now,
    )
    # Before the ticket joins the session: the policy's query would otherwise flush it first.
    sla.start_clocks(ticket, start=new.received_at or now, now=now)
    db.session.add(ticket)
    if not assign_id(ticket):  # its id now (a batch's, `core.database.ids_ahead`), or from the flush
        db.session.flush()
    memo.read(("opened_by_batch", ticket.tenant_id), set).add(ticket.id)
    memo.remember(("ticket_by_number", ticket.tenant_id, ticket.number), ticket)
    message = add_message(ticket, new.kind, new.body, contact_id=new.contact_id)
    message.data = new.data or {}
    message.email_message_id = new.email_message_id
    record_event(ticket, "created", channel=new.channel.value, language=new.language)
    if flush:
        db.session.flush()
    return ticket, message


def opened_by_batch(ticket: Ticket) -> bool:
    """Whether the running batch (`core.memo`) opened the ticket: then nothing else refers to
    it yet (no escalation, no merge), and the lookups for such things can be skipped."""
    return ticket.id in memo.read(("opened_by_batch", ticket.tenant_id), set)


def get_ticket(ticket_id: int) -> Ticket:
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(_("This ticket does not exist or is not yours to see."))
    return ticket


def messages_of(ticket: Ticket) -> list[Message]:
    return list(
        db.session.scalars(
            select(Message)
            .where(Message.tenant_id == ticket.tenant_id, Message.ticket_id == ticket.id)
            .order_by(Message.created_at, Message.id)
        )
    )


def history_of(ticket: Ticket) -> list[TicketEvent]:
    return list(
        db.session.scalars(
            select(TicketEvent)
            .where(TicketEvent.tenant_id == ticket.tenant_id, TicketEvent.ticket_id == ticket.id)
            .order_by(TicketEvent.created_at, TicketEvent.id)
        )
    )


def touch(ticket: Ticket, now: datetime | None = None) -> None:
    ticket.updated_at = now or utcnow()


def set_status(ticket: Ticket, status: Status, *, now: datetime | None = None) -> None:
    current = Status(ticket.status)
    if status == current:
        return
    if status not in TRANSITIONS[current]:
        raise Conflict(
            _(
                "A ticket that is %(old)s cannot become %(new)s.",
                old=label(STATUS_LABELS, current.value),
                new=label(STATUS_LABELS, status.value),
            )
        )
    now = now or utcnow()
    ticket.status = status.value
    if status is Status.PENDING_CUSTOMER:
        ticket.customer_round_trip = True
    if status is Status.ESCALATED:
        ticket.was_escalated = True
    if status is Status.RESOLVED:
        ticket.resolved_at = now
        ticket.first_contact_resolution = (
            ticket.level == 1 and not ticket.customer_round_trip and not ticket.was_escalated
        )
        # An article's answer went into a reply (knowledge.desk sets kb_article_id): deflection.
        ticket.kb_resolution = ticket.kb_article_id is not None
    if status is Status.CLOSED:
        ticket.closed_at = now
    if status is Status.OPEN and current in (Status.RESOLVED, Status.CLOSED):
        ticket.resolved_at = None
        ticket.first_contact_resolution = False
        ticket.kb_resolution = False
    was_open, is_open = current.value in OPEN_VALUES, status.value in OPEN_VALUES
    if was_open != is_open:
        _workload(ticket.assignee_id, 1 if is_open else -1)
    sla.refresh(ticket, now)
    touch(ticket, now)
    record_event(ticket, "status", old=current.value, new=status.value)
    if status is Status.RESOLVED:
        for listener in _resolved_listeners:
            listener(ticket, now)


def _required(body: str) -> str:
    body = body.strip()
    if not body:
        raise ValidationFailed(fields={"body": _("Write something first.")})
    return body


def add_message(
    ticket: Ticket, kind: MessageKind, body: str, *, user_id: int | None = None, contact_id: int | None = None
) -> Message:
    message = Message(
        tenant_id=ticket.tenant_id,
        ticket_id=ticket.id,
        kind=kind.value,
        author_user_id=user_id,
        author_contact_id=contact_id,
        body=body,
        # Every message names the same columns, so that messages flushed together are written
        # with one INSERT (a defaulted column would put them in separate statements).
        data={},
        email_message_id=None,
    )
    db.session.add(message)
    # Inside an intake batch every message has its id at once (an attachment may need it), so
    # that the batch's messages still have the same columns and go in with one INSERT.
    assign_id(message)
    return message


def add_note(ticket: Ticket, author_id: int, body: str) -> Message:
    note = add_message(ticket, MessageKind.NOTE, _required(body), user_id=author_id)
    touch(ticket)
    record_event(ticket, "note")
    db.session.flush()
    return note


def reply(ticket: Ticket, author_id: int | None, body: str, *, then: Status | None = None) -> Message:
    """A public answer, e-mailed to the customer from the client's address in the ticket's language."""
    body = _required(body)
    tenant = db.session.get_one(Tenant, ticket.tenant_id)
    message = add_message(ticket, MessageKind.REPLY, body, user_id=author_id)
    now = utcnow()
    sla.responded(ticket, now)
    contact = db.session.get(Contact, ticket.contact_id) if ticket.contact_id else None
    if contact is not None and contact.email:
        db.session.flush()
        sent = send_email(
            **_reply_mail(tenant, ticket, contact.email, body),
            dedupe_key=f"reply:{ticket.tenant_id}:{message.id}",
        )
        message.email_message_id = sent.payload["message_id"]
        message.data = {"to": contact.email}
    if then is not None:
        set_status(ticket, then, now=now)
    elif ticket.status == Status.NEW.value:
        set_status(ticket, Status.OPEN, now=now)
    touch(ticket, now)
    record_event(ticket, "reply")
    db.session.flush()
    return message


def _reply_mail(tenant: Tenant, ticket: Ticket, to: str, body: str) -> dict[str, Any]:
    """A reply as the customer's mail client threads it: in the client's name and language,
    answering the ticket's latest mail and referring to the whole conversation."""
    signature, _lang = tenant.text_for(tenant.signatures, ticket.language)
    thread = list(
        db.session.scalars(
            select(Message.email_message_id)
            .where(
                Message.tenant_id == ticket.tenant_id,
                Message.ticket_id == ticket.id,
                Message.email_message_id.is_not(None),
                Message.kind.in_((MessageKind.INBOUND.value, MessageKind.REPLY.value)),
            )
            .order_by(Message.id)
        )
    )
    text = body + (f"\n\n-- \n{signature}" if signature else "")
    html = render_template("tickets/email/reply.html", body=body, signature=signature, tenant=tenant)
    sender = tenants.sender_of(tenant)
    return {
        "to": to,
        "subject": f"[{display_number(tenant, ticket)}] {ticket.subject}",
        "text": text,
        "html": html,
        "tenant_id": ticket.tenant_id,
        "sender": sender,
        "reply_to": sender,
        "in_reply_to": thread[-1] if thread else None,
        "references": thread,
    }


def customer_wrote(
    ticket: Ticket,
    body: str,
    *,
    contact_id: int | None,
    now: datetime | None = None,
    email_message_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> Message:
    """A customer's follow-up: reopens a recently resolved ticket, marks a round trip. A mail's
    Message-ID and data are given here, so that the message is inserted with them."""
    now = now or utcnow()
    tenant = db.session.get_one(Tenant, ticket.tenant_id)
    message = add_message(ticket, MessageKind.INBOUND, body, contact_id=contact_id)
    message.email_message_id = email_message_id
    if data is not None:
        message.data = data
    if ticket.first_response_at is not None:
        ticket.customer_round_trip = True
    status = Status(ticket.status)
    if (
        status is Status.RESOLVED
        and ticket.resolved_at
        and now - ticket.resolved_at <= timedelta(days=tenant.reopen_days)
    ) or status is Status.PENDING_CUSTOMER:
        set_status(ticket, Status.OPEN, now=now)
    sla.customer_wrote(ticket, now)
    touch(ticket, now)
    return message  # written with the caller's next flush (in an intake batch, with the batch's rows)


def assign(ticket: Ticket, user_id: int | None) -> None:
    if ticket.assignee_id == user_id:
        return
    old, ticket.assignee_id = ticket.assignee_id, user_id
    if ticket.status in OPEN_VALUES:
        _workload(old, -1)
        _workload(user_id, 1)
    touch(ticket)
    record_event(ticket, "assigned", old=old, new=user_id)


def set_priority(ticket: Ticket, priority: Priority) -> None:
    """A new priority means new SLA targets; the business time already used still counts."""
    if ticket.priority == priority.value:
        return
    record_event(ticket, "priority", old=ticket.priority, new=priority.value)
    previous, ticket.priority = ticket.priority, priority.value
    sla.retarget(ticket, previous_priority=previous)
    touch(ticket)


def set_category(ticket: Ticket, category: Category) -> None:
    if ticket.category == category.value:
        return
    record_event(ticket, "category", old=ticket.category, new=category.value)
    ticket.category = category.value
    sla.retarget(ticket)  # a category may have its own SLA policy
    touch(ticket)


def clean_tags(raw: list[str] | str) -> list[str]:
    """Lower-case, unique, in the order given; a bad tag is a field error, not silently dropped."""
    items = raw.replace(",", " ").split() if isinstance(raw, str) else raw
    tags: list[str] = []
    for item in items:
        tag = item.strip().lower()
        if not tag:
            continue
        if not TAG_RE.match(tag):
            raise ValidationFailed(
                fields={"tags": _("Tags are single words of at most 40 letters, digits, - . : or /.")}
            )
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValidationFailed(fields={"tags": _("At most %(count)d tags.", count=MAX_TAGS)})
    return tags


def set_tags(ticket: Ticket, tags: list[str]) -> None:
    if tags == list(ticket.tags or []):
        return
    record_event(ticket, "tags", old=list(ticket.tags or []), new=tags)
    ticket.tags = tags
    touch(ticket)


def add_tags(ticket: Ticket, tags: list[str]) -> None:
    set_tags(ticket, clean_tags([*(ticket.tags or []), *tags]))


def find_by_number(tenant_id: int, number: int) -> Ticket | None:
    """Inside a batch (`core.memo`) read once, or from `remember_numbers`; a ticket the batch
    opens is remembered under its number by `open_ticket`, since a batch writes it late."""
    return memo.read(
        ("ticket_by_number", tenant_id, number),
        lambda: db.session.scalar(
            select(Ticket).where(Ticket.tenant_id == tenant_id, Ticket.number == number)
        ),
    )


def remember_numbers(tenant_id: int, numbers: set[int], loaded: list[Ticket]) -> None:
    """Inside a batch: these numbers were looked up ahead, and `loaded` holds the tickets found."""
    by_number = {ticket.number: ticket for ticket in loaded if ticket.tenant_id == tenant_id}
    for number in numbers:
        memo.remember(("ticket_by_number", tenant_id, number), by_number.get(number))


def link_parent(ticket: Ticket, parent: Ticket | None) -> None:
    """Relate a ticket to a problem ticket of the same client (not to itself, not in a circle)."""
    if parent is not None:
        if parent.tenant_id != ticket.tenant_id:
            raise NotFound(_("This ticket does not exist or is not yours to see."))
        seen, cursor = {ticket.id}, parent
        while cursor is not None:
            if cursor.id in seen:
                raise ValidationFailed(fields={"parent": _("A ticket cannot be its own parent.")})
            seen.add(cursor.id)
            cursor = db.session.get(Ticket, cursor.parent_id) if cursor.parent_id else None
    new = parent.id if parent else None
    if ticket.parent_id == new:
        return
    record_event(ticket, "parent", old=ticket.parent_id, new=new)
    ticket.parent_id = new
    touch(ticket)


def children_of(ticket: Ticket) -> list[Ticket]:
    return list(
        db.session.scalars(
            select(Ticket)
            .where(Ticket.tenant_id == ticket.tenant_id, Ticket.parent_id == ticket.id)
            .order_by(Ticket.id)
        )
    )


@dataclass(frozen=True)
class InboxFilter:
    tenant_id: int | None = None
    status: str | None = None  # None: every open status
    channel: str | None = None
    language: str | None = None
    level: int | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    languages: tuple[str, ...] | None = None  # the tickets offered to an agent: languages they speak
    tag: str | None = None
    overdue_before: datetime | None = None  # SLA due before this time


# Above this many tenants in scope the inbox sorts in one query instead of merging per tenant.
MERGE_TENANTS_MAX = 64


def _filtered(query: Select[Any], flt: InboxFilter) -> Select[Any]:
    for column, value in (
        (Ticket.channel, flt.channel),
        (Ticket.language, flt.language),
        (Ticket.level, flt.level),
        (Ticket.assignee_id, flt.assignee_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if flt.unassigned:
        query = query.where(Ticket.assignee_id.is_(None))
    if flt.languages is not None:
        query = query.where(Ticket.language.in_(flt.languages))
    if flt.overdue_before is not None:
        query = query.where(Ticket.due_at <= flt.overdue_before)
    if flt.tag:
        # Tags are a short JSON list; a LIKE on its text keeps this portable between backends.
        query = query.where(cast(Ticket.tags, Text).contains(f'"{flt.tag}"', autoescape=True))
    return query


@functools.lru_cache(maxsize=512)
def _running_page(tenant_ids: tuple[int, ...], flt: InboxFilter, limit: int, offset: int) -> Select[Any]:
    """Built once per agent's tenants and filter: composing twenty ordered branches costs more
    than PostgreSQL takes to run them. Statements are immutable, so sharing one is safe; the
    tenancy criteria are still added at execution."""
    depth = offset + limit
    running = union_all(
        *(
            _filtered(
                select(Ticket.id, Ticket.due_at).where(
                    Ticket.tenant_id == tenant_id, text(OPEN_PREDICATE), Ticket.due_at.is_not(None)
                ),
                flt,
            )
            .order_by(Ticket.due_at, Ticket.id)
            .limit(depth)
            .subquery()
            .select()
            for tenant_id in tenant_ids
        )
    ).subquery()
    return select(running.c.id).order_by(running.c.due_at, running.c.id).limit(limit).offset(offset)


def _open_by_due(tenant_ids: list[int], flt: InboxFilter, limit: int, offset: int) -> list[int]:
    """Ids of open tickets by due time, those without a running clock last.

    The running ones are merged from one ordered index range per tenant: each branch reads
    `ix_tickets_tenant_id_due_at_open` in order and stops after `offset + limit` rows, so the cost
    does not grow with the tenants' history or their number of open tickets. (Neither SQLite nor
    PostgreSQL merges ordered scans over an IN list by themselves; they would sort every open
    ticket of every tenant in scope.) Tickets without a clock (waiting for the customer) are
    only read when the running ones do not fill the page.
    """
    ids = list(db.session.scalars(_running_page(tuple(tenant_ids), flt, limit, offset)))
    if len(ids) == limit:
        return ids
    waiting = _filtered(
        select(Ticket.id).where(
            Ticket.tenant_id.in_(tenant_ids), text(OPEN_PREDICATE), Ticket.due_at.is_(None)
        ),
        flt,
    )
    if ids or offset == 0:
        skip = 0
    else:  # a page past the running tickets: skip as many waiting ones as pages before it showed
        counted = select(func.count()).select_from(
            _filtered(
                select(Ticket.id).where(
                    Ticket.tenant_id.in_(tenant_ids), text(OPEN_PREDICATE), Ticket.due_at.is_not(None)
                ),
                flt,
            ).subquery()
        )
        skip = max(0, offset - int(db.session.scalar(counted) or 0))
    ids += db.session.scalars(waiting.order_by(Ticket.id).limit(limit - len(ids)).offset(skip))
    return ids


def inbox(flt: InboxFilter, *, limit: int = 50, offset: int = 0) -> list[tuple[Ticket, Tenant]]:
    """Tickets of every tenant in scope, by SLA urgency: the nearest due time first."""
    scope = tenancy.require()
    tenant_ids = [flt.tenant_id] if flt.tenant_id is not None else sorted(scope.tenant_ids)
    if flt.tenant_id is not None and not scope.allows(flt.tenant_id):
        return []
    if flt.status is None and not scope.all_tenants and len(tenant_ids) <= MERGE_TENANTS_MAX:
        ids = _open_by_due(tenant_ids, flt, limit, offset) if tenant_ids else []
        by_ticket = (
            {t.id: t for t in db.session.scalars(select(Ticket).where(Ticket.id.in_(ids)))} if ids else {}
        )
        rows = [by_ticket[i] for i in ids if i in by_ticket]
    else:
        query = _filtered(select(Ticket), flt)
        query = query.where(Ticket.status == flt.status) if flt.status else query.where(text(OPEN_PREDICATE))
        if flt.tenant_id is not None:
            query = query.where(Ticket.tenant_id == flt.tenant_id)
        if flt.status and flt.status not in OPEN_VALUES:  # resolved, closed: no clock runs, newest first
            query = query.order_by(Ticket.updated_at.desc(), Ticket.id.desc())
        else:
            query = query.order_by(Ticket.due_at.is_(None), Ticket.due_at, Ticket.id)
        query = query.limit(limit).offset(offset)
        rows = list(db.session.scalars(query))
    # Tenants separately: a join makes the planner misjudge the row count under row-level security.
    tenant_set = {ticket.tenant_id for ticket in rows}
    by_id = (
        {t.id: t for t in db.session.scalars(select(Tenant).where(Tenant.id.in_(tenant_set)))}
        if tenant_set
        else {}
    )
    return [(ticket, by_id[ticket.tenant_id]) for ticket in rows]
