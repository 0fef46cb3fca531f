"""Time spent on tickets, entered by hand, by a running timer, or from a logged call.

`Ticket.time_spent_seconds` is the sum of the ticket's finished entries; billing reads the entries
(who, when, how long) and reports read the sum. One running timer per agent and ticket.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from billing import usage
from billing.models import UsageKind
from core.errors import Conflict, ValidationFailed
from core.extensions import db
from core.models_base import utcnow
from tickets.models import Ticket, TimeEntry, TimeSource
from tickets.services import record_event, touch

MAX_ENTRY = timedelta(hours=12)


def entries_of(ticket: Ticket) -> list[TimeEntry]:
    return list(
        db.session.scalars(
            select(TimeEntry)
            .where(TimeEntry.tenant_id == ticket.tenant_id, TimeEntry.ticket_id == ticket.id)
            .order_by(TimeEntry.started_at, TimeEntry.id)
        )
    )


def running_timer(ticket: Ticket, user_id: int) -> TimeEntry | None:
    return db.session.scalar(
        select(TimeEntry).where(
            TimeEntry.tenant_id == ticket.tenant_id,
            TimeEntry.ticket_id == ticket.id,
            TimeEntry.user_id == user_id,
            TimeEntry.seconds.is_(None),
        )
    )


def _book(ticket: Ticket, entry: TimeEntry) -> None:
    ticket.time_spent_seconds += entry.seconds or 0
    touch(ticket)
    record_event(ticket, "time", seconds=entry.seconds, source=entry.source)
    db.session.flush()
    usage.record(
        ticket.tenant_id,
        UsageKind.TIME,
        f"time:{entry.id}",
        quantity=entry.seconds or 0,
        ticket_id=ticket.id,
        data={"user_id": entry.user_id, "source": entry.source},
    )


def add(
    ticket: Ticket,
    user_id: int | None,
    seconds: int,
    *,
    source: TimeSource = TimeSource.MANUAL,
    note: str = "",
    started_at: datetime | None = None,
) -> TimeEntry:
    if not 0 < seconds <= MAX_ENTRY.total_seconds():
        raise ValidationFailed(fields={"duration": _("Give a time between one second and 12 hours.")})
    now = utcnow()
    entry = TimeEntry(
        tenant_id=ticket.tenant_id,
        ticket_id=ticket.id,
        user_id=user_id,
        source=source.value,
        started_at=started_at or now - timedelta(seconds=seconds),
        seconds=seconds,
        note=note.strip()[:300],
    )
    db.session.add(entry)
    _book(ticket, entry)
    db.session.flush()
    return entry


def start_timer(ticket: Ticket, user_id: int, *, now: datetime | None = None) -> TimeEntry:
    if running_timer(ticket, user_id) is not None:
        raise Conflict(_("Your timer on this ticket is already running."))
    entry = TimeEntry(
        tenant_id=ticket.tenant_id,
        ticket_id=ticket.id,
        user_id=user_id,
        source=TimeSource.TIMER.value,
        started_at=now or utcnow(),
        seconds=None,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def stop_timer(ticket: Ticket, user_id: int, *, now: datetime | None = None, note: str = "") -> TimeEntry:
    """Book the elapsed time; a timer forgotten overnight is capped, not billed for 14 hours."""
    entry = running_timer(ticket, user_id)
    if entry is None:
        raise Conflict(_("No timer of yours is running on this ticket."))
    elapsed = (now or utcnow()) - entry.started_at
    entry.seconds = max(1, min(int(elapsed.total_seconds()), int(MAX_ENTRY.total_seconds())))
    entry.note = note.strip()[:300]
    _book(ticket, entry)
    db.session.flush()
    return entry
