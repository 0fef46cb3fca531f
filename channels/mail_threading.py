"""Which ticket a mail belongs to: its In-Reply-To and References against the Message-IDs we
stored (the customer's own and ours), then the ticket number in the subject, following merges.

Inside a batch of the intake (`core.memo`), `prefetch` looks up the Message-IDs and ticket
numbers of all the batch's mails with one query each, and `written` remembers the Message-IDs of
the messages the batch itself writes, so that a later mail of the batch that answers one of them
finds it. Threading then costs no query per mail, and no query flushes the batch's rows early.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from sqlalchemy import or_, select

from channels.mail_parse import TICKET_REF_RE, ParsedMail
from core import memo
from core.extensions import db
from escalations import services as escalations
from tenants.models import Tenant
from tickets import services as tickets
from tickets.models import Message, Ticket

MAX_IDS = 50  # Message-IDs of one mail looked up at most (a References header can be long)


@dataclass
class _Index:
    """A batch's Message-IDs as the database had them when it began, and those it wrote since."""

    covered: set[str]
    newest: dict[str, tuple[int, int]] = field(default_factory=dict)  # id -> (message id, ticket id)
    written: dict[str, tuple[int, Ticket]] = field(default_factory=dict)  # id -> (order, ticket)
    order: itertools.count[int] = field(default_factory=itertools.count)


def _index(tenant_id: int) -> _Index | None:
    return memo.read(("thread_index", tenant_id), lambda: None)


def lookup_ids(mail: ParsedMail) -> list[str]:
    """What a mail is looked up by: a bounce's original Message-IDs first, then its thread's."""
    originals = mail.bounce.original_message_ids if mail.bounce else []
    return [*originals, *mail.thread_ids][:MAX_IDS]


def ticket_of_messages(tenant_id: int, message_ids: list[str]) -> Ticket | None:
    """The ticket of the newest message with one of these Message-IDs (ours or the customer's)."""
    ids = message_ids[:MAX_IDS]
    if not ids:
        return None
    index = _index(tenant_id)
    if index is None or not index.covered.issuperset(ids):
        return db.session.scalar(
            select(Ticket)
            .join(Message, Message.ticket_id == Ticket.id)
            .where(Message.tenant_id == tenant_id, Message.email_message_id.in_(ids))
            .order_by(Message.id.desc())
            .limit(1)
        )
    written = [index.written[i] for i in ids if i in index.written]
    if written:  # newer than anything the database had
        return max(written, key=lambda entry: entry[0])[1]
    stored = [index.newest[i] for i in ids if i in index.newest]
    return db.session.get(Ticket, max(stored)[1]) if stored else None


def written(tenant_id: int, message_id: str | None, ticket: Ticket) -> None:
    """A message with this Message-ID was just added to the ticket (inside a batch: remembered)."""
    index = _index(tenant_id)
    if index is not None and message_id:
        index.written[message_id] = (next(index.order), ticket)
        index.covered.add(message_id)


def thread(tenant: Tenant, mail: ParsedMail) -> Ticket | None:
    ticket = ticket_of_messages(tenant.id, mail.thread_ids)
    if ticket is None:
        for prefix, number in TICKET_REF_RE.findall(mail.subject):
            if prefix == tenant.ticket_prefix:
                ticket = tickets.find_by_number(tenant.id, int(number))
                if ticket is not None:
                    break
    seen: set[int] = set()
    while ticket is not None and ticket.merged_into_id and ticket.id not in seen:
        seen.add(ticket.id)
        ticket = db.session.get(Ticket, ticket.merged_into_id)
    return ticket


def prefetch(tenant: Tenant, mails: list[ParsedMail]) -> None:
    """Inside a batch, what `thread` will look up for these mails, with one query for the
    Message-IDs, one for their tickets and those the subjects name, and one for those tickets'
    escalations. The batch's own new tickets are found by their numbers too (`open_ticket`
    remembers them), though a customer learns a number only from the acknowledgement, which is
    sent after the commit."""
    if not memo.active():
        return
    ids = {i for mail in mails for i in lookup_ids(mail)}
    numbers = {
        int(number)
        for mail in mails
        for prefix, number in TICKET_REF_RE.findall(mail.subject)
        if prefix == tenant.ticket_prefix
    }
    index = _Index(covered=set(ids))
    if ids:
        for message_id, row_id, ticket_id in db.session.execute(
            select(Message.email_message_id, Message.id, Message.ticket_id).where(
                Message.tenant_id == tenant.id, Message.email_message_id.in_(sorted(ids))
            )
        ):
            if message_id not in index.newest or index.newest[message_id][0] < row_id:
                index.newest[str(message_id)] = (row_id, ticket_id)
    memo.remember(("thread_index", tenant.id), index)
    ticket_ids = {ticket_id for _row, ticket_id in index.newest.values()}
    if not ticket_ids and not numbers:
        return
    found = db.session.scalars(
        select(Ticket).where(
            Ticket.tenant_id == tenant.id,
            or_(Ticket.id.in_(sorted(ticket_ids)), Ticket.number.in_(sorted(numbers))),
        )
    ).all()
    tickets.remember_numbers(tenant.id, numbers, list(found))
    escalations.prefetch_active(tenant.id, [t.id for t in found])
