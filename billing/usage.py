"""Recording usage: the one service every billable piece of work calls, in the transaction of that
work. Invoices, the portal's usage to date and reports read the ledger.

Who records what (each with a key that makes a retry harmless): the intake a contact per inbound
record (`inbound:<id>`, when it arrived), the time tracker each booked entry (`time:<id>`), a
logged call its seconds (`call:<message id>`; calls are billed from the agent's call log, not from
telephony events, so a call both reported and logged bills once), a chat its seconds from
acceptance to the end (`chat:<id>`), an escalation from the desk each handoff (`escalation:<id>`).

A row is decided when the work happens: whether it was outside the client's business hours
(against the calendar of its default SLA policy; no such calendar, or a 24/7 one, means never) and
in which language. A later change of opening hours therefore never rewrites a month already
worked. Rows are never edited: `correct` adds a row naming the one it corrects.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import func, select

from billing.models import Invoice, InvoiceStatus, UsageEvent, UsageKind
from core import audit, memo
from core.database import insert_once, insert_once_later
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from core.models_base import utcnow
from sla.calendar import Schedule, is_open, schedule_of
from sla.models import BusinessCalendar, SlaPolicy
from tenants.models import Tenant
from tickets.models import Ticket

# A correction larger than this (in the row's unit: seconds or pieces) is a typing error.
MAX_CORRECTION = 10_000_000
# Invoices in these states are frozen: a correction of their month goes on the next invoice.
FROZEN = (InvoiceStatus.FINALIZED, InvoiceStatus.SENT, InvoiceStatus.PAID, InvoiceStatus.OVERDUE)


def business_schedule(tenant_id: int) -> Schedule | None:
    """The client's business hours: the calendar of its default SLA policy (the active one for
    every organisation and category, first by position). None when it has none or it is 24/7."""
    return memo.read(("business_schedule", tenant_id), lambda: _business_schedule(tenant_id))


def _business_schedule(tenant_id: int) -> Schedule | None:
    calendar = db.session.scalar(
        select(BusinessCalendar)
        .join(SlaPolicy, SlaPolicy.calendar_id == BusinessCalendar.id)
        .where(
            SlaPolicy.tenant_id == tenant_id,
            SlaPolicy.active.is_(True),
            SlaPolicy.organization_id.is_(None),
            SlaPolicy.category.is_(None),
        )
        .order_by(SlaPolicy.position, SlaPolicy.id)
        .limit(1)
    )
    return None if calendar is None else schedule_of(calendar)


def is_out_of_hours(tenant_id: int, at: datetime) -> bool:
    return not is_open(business_schedule(tenant_id), at)


def _ticket_language(ticket_id: int | None) -> str | None:
    if ticket_id is None:
        return None
    ticket = db.session.get(Ticket, ticket_id)
    return ticket.language if ticket else None


def record(
    tenant_id: int,
    kind: UsageKind,
    key: str,
    *,
    quantity: int = 1,
    ticket_id: int | None = None,
    data: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
    language: str | None = None,
) -> UsageEvent | None:
    """One billable event, once per `key` (a retried job finds its row and bills nothing more);
    None when a batch collects it to write with the others (`core.database.rows_later`).

    `language` defaults to the ticket's; `out_of_hours` is decided here from `occurred_at`. The
    row is written with `INSERT ... ON CONFLICT DO NOTHING` on the key: one round trip, and two
    concurrent recordings of one key end with one row instead of an error."""
    key = key[:120]
    occurred_at = occurred_at or utcnow()
    values = {
        "tenant_id": tenant_id,
        "kind": kind.value,
        "key": key,
        "quantity": quantity,
        "ticket_id": ticket_id,
        "data": data or {},
        "occurred_at": occurred_at,
        "out_of_hours": is_out_of_hours(tenant_id, occurred_at),
        "language": language or _ticket_language(ticket_id) or None,
    }
    if insert_once_later(UsageEvent, tenant_id, values, key=("tenant_id", "key")):
        return None  # a batch writes it with the others (`core.database.rows_later`)
    event, _new = insert_once(UsageEvent, tenant_id, values, key=("tenant_id", "key"))
    return event


def get_event(event_id: int) -> UsageEvent:
    """Through the tenancy scope: another client's row is not found."""
    event = db.session.scalar(select(UsageEvent).where(UsageEvent.id == event_id))
    if event is None:
        raise NotFound(_("This usage record does not exist."))
    return event


def _month_frozen(tenant_id: int, at: datetime) -> bool:
    """Whether the invoice of the client's month that `at` falls in is frozen already."""
    day = at.astimezone(ZoneInfo(db.session.get_one(Tenant, tenant_id).timezone)).date()
    return (
        db.session.scalar(
            select(Invoice.id)
            .where(
                Invoice.tenant_id == tenant_id,
                Invoice.period_start <= day,
                Invoice.period_end > day,
                Invoice.status.in_([s.value for s in FROZEN]),
            )
            .limit(1)
        )
        is not None
    )


def correct(
    event_id: int, quantity: int, note: str, user_id: int | None, *, now: datetime | None = None
) -> UsageEvent:
    """A correction of a ledger row: a new row naming it, never an edit. The quantity is what to add
    (negative takes away). It counts in the month of the corrected row while that month's invoice
    can still change, and in the current month once it is finalized, so nothing billed is lost."""
    errors: dict[str, str] = {}
    if quantity == 0 or abs(quantity) > MAX_CORRECTION:
        errors["quantity"] = _("Enter a whole number other than 0, such as -60 or 3.")
    note = (note or "").strip()
    if not note:
        errors["note"] = _("Say why the usage is corrected.")
    elif len(note) > 300:
        errors["note"] = _("At most %(count)d characters.", count=300)
    if errors:
        raise ValidationFailed(fields=errors)
    original = get_event(event_id)
    if original.corrects_id is not None:  # corrections of a correction name the first row
        original = get_event(original.corrects_id)
    now = now or utcnow()
    count = db.session.scalar(
        select(func.count())
        .select_from(UsageEvent)
        .where(UsageEvent.tenant_id == original.tenant_id, UsageEvent.corrects_id == original.id)
    )
    occurred_at = now if _month_frozen(original.tenant_id, original.occurred_at) else original.occurred_at
    correction = UsageEvent(
        tenant_id=original.tenant_id,
        kind=original.kind,
        key=f"correction:{original.id}:{(count or 0) + 1}",
        quantity=quantity,
        ticket_id=original.ticket_id,
        data=dict(original.data or {}),
        occurred_at=occurred_at,
        out_of_hours=original.out_of_hours,
        language=original.language,
        corrects_id=original.id,
        note=note,
        created_by_id=user_id,
    )
    db.session.add(correction)
    db.session.flush()
    audit.record(
        "usage.corrected",
        tenant_id=original.tenant_id,
        target=correction,
        data={"corrects": original.id, "kind": original.kind, "quantity": quantity, "note": note},
    )
    return correction


def totals(tenant_id: int, start: datetime, end: datetime) -> dict[str, int]:
    rows = db.session.execute(
        select(UsageEvent.kind, func.sum(UsageEvent.quantity))
        .where(
            UsageEvent.tenant_id == tenant_id, UsageEvent.occurred_at >= start, UsageEvent.occurred_at < end
        )
        .group_by(UsageEvent.kind)
    )
    return {kind: int(total or 0) for kind, total in rows}
