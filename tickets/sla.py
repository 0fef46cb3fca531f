"""The SLA clocks of a ticket: when the first answer, the next answer and the resolution are due.

One place computes them, so the inbox (sorted by `Ticket.due_at`), the SLA board, the reports and
the breach sweep agree. Due times are stored and recomputed on each change (intake, status,
priority, category, a customer's message, a public reply), never polled:

- first_response and resolution run from the ticket's arrival; next_response from a customer's
  message after the first answer, until the next public reply;
- the targets (business minutes per priority) and the business calendar come from the ticket's
  SLA policy (`sla.policies.policy_for`); without one, the client's `Tenant.sla_targets` and the
  defaults below apply around the clock;
- while no clock runs (waiting for the customer, resolved) the ticket is paused: on resuming,
  each due time moves to `now` plus the business time that was left when it stopped;
- `due_at` is the earliest running due time; `sla_check_at` the earliest instant at which a
  warning or breach comes due, read by the sweep (`sla.sweep`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core import memo
from core.extensions import db
from core.models_base import utcnow
from escalations.models import Team
from sla import policies
from sla.calendar import Schedule, add_business_seconds, business_seconds_between, schedule_of
from sla.models import BusinessCalendar, SlaPolicy
from tenants.models import Tenant
from tickets.models import Priority, Status, Ticket

DEFAULT_TARGETS: dict[str, dict[str, int]] = {
    "first_response": {
        Priority.URGENT.value: 30,
        Priority.HIGH.value: 60,
        Priority.NORMAL.value: 4 * 60,
        Priority.LOW.value: 8 * 60,
    },
    "next_response": {
        Priority.URGENT.value: 30,
        Priority.HIGH.value: 60,
        Priority.NORMAL.value: 4 * 60,
        Priority.LOW.value: 8 * 60,
    },
    "resolution": {
        Priority.URGENT.value: 4 * 60,
        Priority.HIGH.value: 8 * 60,
        Priority.NORMAL.value: 24 * 60,
        Priority.LOW.value: 72 * 60,
    },
}
# While the ticket waits for the customer, or is done, no clock runs.
RUNNING = {Status.NEW.value, Status.OPEN.value, Status.ESCALATED.value}
FIELDS = {
    "first_response": "first_response_due_at",
    "next_response": "next_response_due_at",
    "resolution": "resolution_due_at",
}
_STORED = object()


def target_minutes(targets: dict[str, dict[str, int]], clock: str, priority: str) -> int:
    own = (targets or {}).get(clock, {}).get(priority)
    return int(own) if own else DEFAULT_TARGETS[clock][priority]


def calendar_schedule(tenant_id: int, calendar_id: int | None) -> Schedule | None:
    """A calendar of this tenant compiled for arithmetic; None (24/7) without one."""
    if calendar_id is None:
        return None
    return memo.read(("calendar_schedule", tenant_id, calendar_id), lambda: _compiled(tenant_id, calendar_id))


def _compiled(tenant_id: int, calendar_id: int) -> Schedule | None:
    calendar = db.session.get(BusinessCalendar, calendar_id)
    if calendar is None or calendar.tenant_id != tenant_id:
        return None
    return schedule_of(calendar)


@dataclass
class Terms:
    """What governs a ticket's clocks: its policy (or none), calendar and targets."""

    policy: SlaPolicy | None
    schedule: Schedule | None
    tenant_targets: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def warn_percent(self) -> int:
        return self.policy.warn_percent if self.policy else policies.DEFAULT_WARN_PERCENT

    @property
    def raise_priority(self) -> bool:
        return bool(self.policy and self.policy.raise_priority)

    def minutes(self, clock: str, priority: str) -> int:
        own = (self.policy.targets or {}).get(clock, {}).get(priority) if self.policy else None
        return int(own) if own else target_minutes(self.tenant_targets, clock, priority)

    def due(self, clock: str, priority: str, start: datetime) -> datetime:
        return add_business_seconds(self.schedule, start, self.minutes(clock, priority) * 60)

    def warn_at(self, clock: str, priority: str, due: datetime) -> datetime:
        """When `warn_percent` of the target has passed: the business time still left is the rest."""
        left = self.minutes(clock, priority) * 60 * (100 - self.warn_percent) / 100
        return add_business_seconds(self.schedule, due, -left)


def terms_for(ticket: Ticket, policy: SlaPolicy | None | object = _STORED) -> Terms:
    """The terms of the ticket's stored policy, or of `policy` when given."""
    if not isinstance(policy, SlaPolicy):
        policy = (
            db.session.get(SlaPolicy, ticket.sla_policy_id)
            if policy is _STORED and ticket.sla_policy_id
            else None
        )
    tenant = db.session.get_one(Tenant, ticket.tenant_id)
    schedule = calendar_schedule(ticket.tenant_id, policy.calendar_id) if policy else None
    return Terms(policy, schedule, tenant.sla_targets or {})


def running_clocks(ticket: Ticket) -> list[tuple[str, datetime]]:
    """The clocks that run now, with their due times."""
    if ticket.status not in RUNNING:
        return []
    clocks = []
    for clock, name in FIELDS.items():
        due = getattr(ticket, name)
        if due is None or (clock == "first_response" and ticket.first_response_at is not None):
            continue
        clocks.append((clock, due))
    return clocks


def start_clocks(ticket: Ticket, *, start: datetime | None = None, now: datetime | None = None) -> None:
    """At intake: choose the policy, and count first response and resolution from `start` (when
    the contact arrived; the ticket's creation by default)."""
    policy = policies.policy_for(ticket)
    ticket.sla_policy_id = policy.id if policy else None
    terms = terms_for(ticket, policy)
    start = start or ticket.created_at
    ticket.first_response_due_at = terms.due("first_response", ticket.priority, start)
    ticket.resolution_due_at = terms.due("resolution", ticket.priority, start)
    ticket.next_response_due_at = None
    ticket.sla_paused_at = None
    refresh(ticket, now=now, terms=terms)


def retarget(ticket: Ticket, *, previous_priority: str | None = None, now: datetime | None = None) -> None:
    """After a priority or category change: the policy is chosen again and each running clock
    keeps the business time it has used, against the new target and calendar."""
    if ticket.resolution_due_at is None:  # clocks never started (rows older than the clocks)
        start_clocks(ticket, now=now)
        return
    now = now or utcnow()
    old = terms_for(ticket)
    policy = policies.policy_for(ticket)
    new = terms_for(ticket, policy)
    ticket.sla_policy_id = policy.id if policy else None
    reference = ticket.sla_paused_at or now
    for clock, name in FIELDS.items():
        due = getattr(ticket, name)
        if due is None or (clock == "first_response" and ticket.first_response_at is not None):
            continue
        used = old.minutes(clock, previous_priority or ticket.priority) * 60 - business_seconds_between(
            old.schedule, reference, due
        )
        left = new.minutes(clock, ticket.priority) * 60 - used
        setattr(ticket, name, add_business_seconds(new.schedule, reference, left))
    refresh(ticket, now=now, terms=new)


def refresh(ticket: Ticket, now: datetime | None = None, *, terms: Terms | None = None) -> None:
    """After a status change or an answer: pause or resume, then the sort key and the next check."""
    now = now or utcnow()
    if ticket.status not in RUNNING:
        if ticket.sla_paused_at is None:
            ticket.sla_paused_at = now
        ticket.due_at = None
        ticket.sla_check_at = None
        return
    terms = terms or terms_for(ticket)
    if ticket.sla_paused_at is not None:
        paused_at, ticket.sla_paused_at = ticket.sla_paused_at, None
        for clock, due in running_clocks(ticket):
            left = business_seconds_between(terms.schedule, paused_at, due)
            setattr(ticket, FIELDS[clock], add_business_seconds(terms.schedule, now, left))
    clocks = running_clocks(ticket)
    ticket.due_at = min((due for _clock, due in clocks), default=None)
    # The earliest warning, even if it has passed: the sweep records what is not recorded yet.
    ticket.sla_check_at = min(
        (terms.warn_at(clock, ticket.priority, due) for clock, due in clocks), default=None
    )


def next_check(ticket: Ticket, terms: Terms, after: datetime) -> datetime | None:
    """The first warning or breach of a running clock strictly after `after` (for the sweep)."""
    upcoming = []
    for clock, due in running_clocks(ticket):
        warn = terms.warn_at(clock, ticket.priority, due)
        if warn > after:
            upcoming.append(warn)
        elif due > after:
            upcoming.append(due)
    return min(upcoming, default=None)


def customer_wrote(ticket: Ticket, now: datetime | None = None) -> None:
    """A customer's message after the first answer owes them the next one."""
    if ticket.status not in RUNNING or ticket.first_response_at is None or ticket.next_response_due_at:
        return
    now = now or utcnow()
    terms = terms_for(ticket)
    ticket.next_response_due_at = terms.due("next_response", ticket.priority, now)
    refresh(ticket, now=now, terms=terms)


def responded(ticket: Ticket, now: datetime | None = None) -> None:
    """A public reply: the first answer (once), and whatever next answer was owed."""
    now = now or utcnow()
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    ticket.next_response_due_at = None
    refresh(ticket, now=now)


def is_overdue(ticket: Ticket, now: datetime) -> bool:
    return ticket.due_at is not None and ticket.due_at <= now


def team_due_times(team: Team, start_utc: datetime) -> tuple[datetime, datetime]:
    """When a team must acknowledge and resolve an escalation handed to it at `start_utc`:
    `Team.ack_minutes` and `Team.resolve_minutes` in the team's calendar (None: 24/7)."""
    schedule = calendar_schedule(team.tenant_id, team.calendar_id)
    return (
        add_business_seconds(schedule, start_utc, team.ack_minutes * 60),
        add_business_seconds(schedule, start_utc, team.resolve_minutes * 60),
    )
