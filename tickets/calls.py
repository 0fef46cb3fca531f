"""Phone calls: what the telephony system reports, the agent's screen pop, and call logs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from billing import usage
from billing.models import UsageKind
from core.auth.models import User
from core.errors import ValidationFailed
from core.extensions import db
from core.models_base import utcnow
from tenants.models import Tenant
from tickets import timetrack
from tickets.contacts import normalize_phone
from tickets.models import OPEN_STATUSES, Call, CallStatus, Contact, Message, MessageKind, Ticket, TimeSource
from tickets.services import add_message, record_event, touch

ACTIVE_WINDOW = timedelta(hours=2)
MAX_CALL = timedelta(hours=12)


class Outcome(StrEnum):
    SOLVED = "solved"
    CALLBACK = "callback"
    ESCALATE = "escalate"
    INFORMATION = "information"
    NO_ANSWER = "no_answer"


@dataclass(frozen=True)
class CallEvent:
    event: str  # call.ringing, call.answered, call.ended
    call_id: str
    caller: str
    dialled: str
    direction: str = "inbound"
    agent_email: str | None = None
    duration_seconds: int | None = None


def apply_event(tenant_id: int, event: CallEvent, *, now: datetime | None = None) -> Call:
    """Record a telephony event; events may arrive twice or out of order without harm."""
    now = now or utcnow()
    caller = normalize_phone(event.caller)
    call = db.session.scalar(
        select(Call).where(Call.tenant_id == tenant_id, Call.external_id == event.call_id)
    )
    if call is None:
        contact_id = db.session.scalar(
            select(Contact.id)
            .where(Contact.tenant_id == tenant_id, Contact.phone == caller, Contact.merged_into_id.is_(None))
            .order_by(Contact.id)
            .limit(1)
        )
        call = Call(
            tenant_id=tenant_id,
            external_id=event.call_id,
            caller=caller,
            dialled=normalize_phone(event.dialled),
            direction=event.direction,
            contact_id=contact_id,
            started_at=now,
        )
        db.session.add(call)
    if event.event == "call.answered" and call.status == CallStatus.RINGING.value:
        call.status = CallStatus.ANSWERED.value
        call.answered_at = now
    if event.event == "call.answered" and event.agent_email:
        call.agent_id = db.session.scalar(
            select(User.id).where(User.email == event.agent_email.strip().lower())
        )
    if event.event == "call.ended" and call.status != CallStatus.ENDED.value:
        call.status = CallStatus.ENDED.value
        call.ended_at = now
        call.duration_seconds = (
            event.duration_seconds
            if event.duration_seconds is not None
            else int((now - (call.answered_at or call.started_at)).total_seconds())
        )
    db.session.flush()
    return call


def active_calls(now: datetime | None = None) -> list[Call]:
    """Ringing and running calls of the tenants in scope: the agents' screen pop."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(Call)
            .where(
                Call.status.in_([CallStatus.RINGING.value, CallStatus.ANSWERED.value]),
                Call.started_at >= now - ACTIVE_WINDOW,
            )
            .order_by(Call.started_at)
        )
    )


@dataclass
class ScreenPop:
    call: Call
    tenant: Tenant
    contact: Contact | None
    open_tickets: list[Ticket]
    language: str
    greeting: str
    script: str
    script_language: str


def screen_pop(call: Call) -> ScreenPop:
    tenant = db.session.get_one(Tenant, call.tenant_id)
    contact = db.session.get(Contact, call.contact_id) if call.contact_id else None
    tickets: list[Ticket] = []
    if contact is not None:
        tickets = list(
            db.session.scalars(
                select(Ticket)
                .where(
                    Ticket.tenant_id == call.tenant_id,
                    Ticket.contact_id == contact.id,
                    Ticket.status.in_([s.value for s in OPEN_STATUSES]),
                )
                .order_by(Ticket.updated_at.desc())
                .limit(10)
            )
        )
    language = (
        contact.language if contact and contact.language in tenant.languages else tenant.default_language
    )
    greeting, _lang = tenant.text_for(tenant.greetings, language)
    script, script_language = tenant.text_for(tenant.call_scripts, language)
    return ScreenPop(call, tenant, contact, tickets, language, greeting, script, script_language)


@dataclass(frozen=True)
class CallLog:
    caller: str
    dialled: str
    direction: str
    duration_seconds: int
    outcome: Outcome
    notes: str


def log_call(ticket: Ticket, author_id: int, log: CallLog) -> Message:
    """A call on a ticket: who called which number, how long, and what came of it."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {"direction": log.direction, "outcome": log.outcome.value}
    for name in ("caller", "dialled"):
        try:
            data[name] = normalize_phone(getattr(log, name))
        except ValidationFailed:
            errors[name] = _("This is not a valid phone number.")
    if log.direction not in ("inbound", "outbound"):
        errors["direction"] = _("Invalid value.")
    if not 0 <= log.duration_seconds <= MAX_CALL.total_seconds():
        errors["duration"] = _("Give the duration in minutes and seconds, at most 12 hours.")
    if errors:
        raise ValidationFailed(fields=errors)
    data["duration_seconds"] = log.duration_seconds
    message = add_message(ticket, MessageKind.CALL_LOG, log.notes.strip(), user_id=author_id)
    message.data = data
    if log.duration_seconds:
        timetrack.add(ticket, author_id, log.duration_seconds, source=TimeSource.CALL)
    touch(ticket)
    record_event(ticket, "call_logged", duration_seconds=log.duration_seconds, outcome=log.outcome.value)
    db.session.flush()
    if log.duration_seconds:
        usage.record(
            ticket.tenant_id,
            UsageKind.CALL,
            f"call:{message.id}",
            quantity=log.duration_seconds,
            ticket_id=ticket.id,
            data={"direction": log.direction},
            occurred_at=utcnow() - timedelta(seconds=log.duration_seconds),
        )
    return message


def parse_duration(raw: str) -> int:
    """`4:30`, `4`, `270s` -> seconds; anything else is a field error."""
    raw = (raw or "").strip().lower()
    try:
        if raw.endswith("s"):
            return int(raw[:-1])
        if ":" in raw:
            minutes, seconds = raw.split(":", 1)
            if not 0 <= int(seconds) < 60:
                raise ValueError
            return int(minutes) * 60 + int(seconds)
        return int(raw) * 60
    except ValueError:
        raise ValidationFailed(
            fields={"duration": _("Give the duration in minutes and seconds, at most 12 hours.")}
        ) from None
