"""The SLA sweep: once a minute, across all clients, record each warning and breach once.

Tickets: `Ticket.sla_check_at` holds the next instant one of a ticket's clocks reaches its warning
or breach (tickets.sla keeps it with the due times), so the sweep reads only the tickets whose
instant has come, through a partial index, and moves each one's instant on. Escalations: the
active ones (open: acknowledge and resolve clocks; acknowledged: resolve) are few, and their
warnings come from the team's targets, so they are read by status.

Each warning or breach is an `SlaEvent` with a unique key (ticket, clock, kind, due time),
inserted in a savepoint: a second run, or a run on a second scheduler at the same time, finds
it there (or hits the key) and neither records nor mails it again. A clock warns and breaches
once per ticket even when a pause or a new priority moves its due time; the next response once
per answer owed. With `raise_priority`, a ticket's first breach raises its priority one step.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from core.auth.models import User
from core.extensions import db
from core.models_base import utcnow
from core.scheduler import periodic
from escalations.models import ACTIVE_ESCALATION, Escalation, EscalationStatus, Team
from sla import notices, policies
from sla.calendar import Schedule, add_business_seconds
from sla.models import SlaClock, SlaEvent, SlaEventKind
from tenants.models import Tenant
from tickets import services as tickets
from tickets import sla as clocks
from tickets.models import Message, MessageKind, Priority, Ticket

log = logging.getLogger(__name__)
BATCH = 500
# A run stays well inside its minute: after a scheduler outage the backlog takes a few runs.
MOST_PER_RUN = 2_000
# A ticket whose clocks cannot be computed (a broken calendar) is looked at again after this.
RETRY_BROKEN = timedelta(minutes=15)
RAISE = {
    Priority.LOW.value: Priority.NORMAL,
    Priority.NORMAL.value: Priority.HIGH,
    Priority.HIGH.value: Priority.URGENT,
}


@dataclass
class SweepResult:
    checked: int = 0
    escalations: int = 0
    warnings: int = 0
    breaches: int = 0
    mails: int = 0
    raised: int = 0


@dataclass
class _Run:
    """What one run looks up once: terms per policy, supervisors per client, teams."""

    now: datetime
    result: SweepResult = field(default_factory=SweepResult)
    terms: dict[tuple[int, int | None], clocks.Terms] = field(default_factory=dict)
    supervisors: dict[int, list[User]] = field(default_factory=dict)
    tenants: dict[int, Tenant] = field(default_factory=dict)
    teams: dict[int, tuple[Team, Schedule | None, list[User] | None]] = field(default_factory=dict)

    def terms_of(self, ticket: Ticket) -> clocks.Terms:
        key = (ticket.tenant_id, ticket.sla_policy_id)
        if key not in self.terms:
            self.terms[key] = clocks.terms_for(ticket)
        return self.terms[key]

    def tenant(self, tenant_id: int) -> Tenant:
        if tenant_id not in self.tenants:
            self.tenants[tenant_id] = db.session.get_one(Tenant, tenant_id)
        return self.tenants[tenant_id]

    def supervisors_of(self, tenant_id: int) -> list[User]:
        if tenant_id not in self.supervisors:
            self.supervisors[tenant_id] = notices.supervisors_of(tenant_id)
        return self.supervisors[tenant_id]

    def team(self, team_id: int) -> tuple[Team, Schedule | None]:
        if team_id not in self.teams:
            team = db.session.get_one(Team, team_id)
            self.teams[team_id] = (team, clocks.calendar_schedule(team.tenant_id, team.calendar_id), None)
        team, schedule, _members = self.teams[team_id]
        return team, schedule

    def members(self, team: Team) -> list[User]:
        team_, schedule, members = self.teams[team.id]
        if members is None:
            members = notices.members_of(team)
            self.teams[team.id] = (team_, schedule, members)
        return members


def sweep(now: datetime | None = None, *, batch: int = BATCH, most: int = MOST_PER_RUN) -> SweepResult:
    """Record and announce the warnings and breaches that have come by `now`, the oldest first
    and at most `most` tickets' worth (a backlog is worked off over the next runs); flushes."""
    run = _Run(now or utcnow())
    while run.result.checked < most:
        due = list(
            db.session.scalars(
                select(Ticket)
                .where(Ticket.sla_check_at <= run.now)
                .order_by(Ticket.sla_check_at, Ticket.id)
                .limit(min(batch, most - run.result.checked))
            )
        )
        # One flush per batch: the events are inserted directly, and nothing read while checking
        # depends on the tickets' or mails' pending rows.
        with db.session.no_autoflush:
            for ticket in due:
                _check_ticket(run, ticket)
        db.session.flush()
        if len(due) < min(batch, most):
            break
    with db.session.no_autoflush:
        _check_escalations(run, batch)
    db.session.flush()
    return run.result


@periodic("sla_sweep", timedelta(minutes=1))
def sla_sweep(tenant_id: None) -> dict[str, Any]:
    return asdict(sweep())


# --- tickets ----------------------------------------------------------------------------------


def _check_ticket(run: _Run, ticket: Ticket) -> None:
    run.result.checked += 1
    try:
        terms = run.terms_of(ticket)
        history: _History | None = None
        raised = False
        for clock, due in clocks.running_clocks(ticket):
            if due <= run.now:
                kind = SlaEventKind.BREACH
            elif terms.warn_at(clock, ticket.priority, due) <= run.now:
                kind = SlaEventKind.WARNING
            else:
                continue
            history = history or _History(ticket)
            if not history.recorded(clock, kind):
                raised = _ticket_event(run, ticket, terms, history, clock, kind, due) or raised
        if raised:
            # New, shorter targets: another clock may have warned or breached already. Only a
            # ticket's first breach raises, so this looks once more at most.
            _check_ticket(run, ticket)
            return
        ticket.sla_check_at = clocks.next_check(ticket, terms, run.now)
    except (ValueError, LookupError):
        log.exception("SLA clocks of ticket %s (tenant %s) cannot be computed", ticket.id, ticket.tenant_id)
        ticket.sla_check_at = run.now + RETRY_BROKEN


class _History:
    """A ticket's own SLA events, read once when one of its clocks crosses a line."""

    def __init__(self, ticket: Ticket) -> None:
        self.ticket = ticket
        self.events = list(
            db.session.execute(
                select(SlaEvent.clock, SlaEvent.kind, SlaEvent.created_at).where(
                    SlaEvent.tenant_id == ticket.tenant_id,
                    SlaEvent.ticket_id == ticket.id,
                    SlaEvent.escalation_id.is_(None),
                )
            )
        )

    def recorded(self, clock: str, kind: SlaEventKind) -> bool:
        """Whether this clock already warned or breached: once per ticket (first response,
        resolution), or since the last public reply (next response: once per answer owed)."""
        times = [at for c, k, at in self.events if (c, k) == (clock, kind.value)]
        if not times or clock != SlaClock.NEXT_RESPONSE.value:
            return bool(times)
        last_reply = db.session.scalar(
            select(func.max(Message.created_at)).where(
                Message.tenant_id == self.ticket.tenant_id,
                Message.ticket_id == self.ticket.id,
                Message.kind == MessageKind.REPLY.value,
            )
        )
        return last_reply is None or max(times) > last_reply

    @property
    def breached(self) -> bool:
        return any(k == SlaEventKind.BREACH.value for _c, k, _at in self.events)

    def add(self, clock: str, kind: SlaEventKind, at: datetime) -> None:
        self.events.append((clock, kind.value, at))


def _recorded_for(escalation_id: int, clock: str, kind: SlaEventKind) -> bool:
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    SlaEvent.escalation_id == escalation_id,
                    SlaEvent.clock == clock,
                    SlaEvent.kind == kind.value,
                )
            )
        )
    )


def _insert(
    run: _Run, ticket: Ticket, clock: str, kind: SlaEventKind, due: datetime, **extra: Any
) -> SlaEvent | None:
    """The new event, or None when its key is taken (a concurrent run recorded it first): the
    insert does nothing then, on PostgreSQL after waiting for the other transaction."""
    values = {
        "tenant_id": ticket.tenant_id,
        "ticket_id": ticket.id,
        "escalation_id": extra.pop("escalation_id", None),
        "clock": clock,
        "kind": kind.value,
        "due_at": due,
        "data": extra,
        "created_at": run.now,
    }
    dialect = db.session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        event = db.session.scalar(
            insert(SlaEvent).values(**values).on_conflict_do_nothing().returning(SlaEvent)
        )
    else:  # any other database: a savepoint around an ORM insert
        db.session.flush()
        event = SlaEvent(**values)
        try:
            with db.session.begin_nested():
                db.session.add(event)
        except IntegrityError:
            event = None
    if event is None:
        return None
    if kind is SlaEventKind.BREACH:
        run.result.breaches += 1
    else:
        run.result.warnings += 1
    return event


def _ticket_event(
    run: _Run,
    ticket: Ticket,
    terms: clocks.Terms,
    history: _History,
    clock: str,
    kind: SlaEventKind,
    due: datetime,
) -> bool:
    """Record one ticket clock's warning or breach; returns whether the priority was raised."""
    first_breach = kind is SlaEventKind.BREACH and not history.breached
    event = _insert(run, ticket, clock, kind, due, priority=ticket.priority)
    if event is None:
        return False
    history.add(clock, kind, run.now)
    tickets.record_event(ticket, f"sla_{kind.value}", clock=clock, due_at=due.isoformat())
    raised_to = None
    if first_breach and terms.raise_priority and ticket.priority in RAISE:
        raised_to = RAISE[ticket.priority].value
        event.data = {**event.data, "raised_to": raised_to}
        tickets.set_priority(ticket, RAISE[ticket.priority])
        run.result.raised += 1
    people = notices.recipients(ticket, run.supervisors_of(ticket.tenant_id))
    run.result.mails += notices.send(event, ticket, run.tenant(ticket.tenant_id), people, raised_to=raised_to)
    return raised_to is not None


# --- escalations ------------------------------------------------------------------------------


def _team_clocks(escalation: Escalation, team: Team) -> list[tuple[str, datetime, int]]:
    """(clock, due, target minutes) of an active escalation's running team clocks."""
    running = []
    if escalation.status == EscalationStatus.OPEN.value and escalation.ack_due_at is not None:
        running.append((SlaClock.TEAM_ACK.value, escalation.ack_due_at, team.ack_minutes))
    if escalation.resolve_due_at is not None:
        running.append((SlaClock.TEAM_RESOLVE.value, escalation.resolve_due_at, team.resolve_minutes))
    return running


def _check_escalations(run: _Run, batch: int) -> None:
    last_id = 0
    while True:
        rows = list(
            db.session.scalars(
                select(Escalation)
                .where(Escalation.status.in_(ACTIVE_ESCALATION), Escalation.id > last_id)
                .order_by(Escalation.id)
                .limit(batch)
            )
        )
        if not rows:
            return
        last_id = rows[-1].id
        done = {
            (escalation_id, clock, kind)
            for escalation_id, clock, kind in db.session.execute(
                select(SlaEvent.escalation_id, SlaEvent.clock, SlaEvent.kind).where(
                    SlaEvent.escalation_id.in_([row.id for row in rows])
                )
            )
        }
        for escalation in rows:
            run.result.escalations += 1
            try:
                _check_escalation(run, escalation, done)
            except (ValueError, LookupError):
                log.exception("team clocks of escalation %s cannot be computed", escalation.id)


def _check_escalation(run: _Run, escalation: Escalation, done: set[tuple[int | None, str, str]]) -> None:
    team, schedule = run.team(escalation.team_id)
    for clock, due, target in _team_clocks(escalation, team):
        if (escalation.id, clock, SlaEventKind.BREACH.value) in done:
            continue
        if due <= run.now:
            kind = SlaEventKind.BREACH
        else:
            left = target * 60 * (100 - policies.DEFAULT_WARN_PERCENT) / 100
            if (escalation.id, clock, SlaEventKind.WARNING.value) in done:
                continue
            if add_business_seconds(schedule, due, -left) > run.now:
                continue
            kind = SlaEventKind.WARNING
        if _recorded_for(escalation.id, clock, kind):
            continue
        ticket = db.session.get_one(Ticket, escalation.ticket_id)
        event = _insert(run, ticket, clock, kind, due, escalation_id=escalation.id, team_id=team.id)
        if event is None:
            continue
        tickets.record_event(
            ticket, f"sla_{kind.value}", clock=clock, due_at=due.isoformat(), escalation_id=escalation.id
        )
        people = notices.recipients(ticket, [], run.members(team))
        run.result.mails += notices.send(event, ticket, run.tenant(ticket.tenant_id), people, team=team)
