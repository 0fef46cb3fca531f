"""The live SLA board: what breaches within the hour, or has breached and still runs.

Tickets come from their stored `due_at` (the earliest running clock; none while paused) through
the inbox's per-tenant index; escalations from their team due times (acknowledge while open,
resolve while open or acknowledged). Everything is read in the viewer's tenancy scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, text

from core.extensions import db
from escalations.models import ACTIVE_ESCALATION, Escalation, EscalationStatus, Team
from sla.models import SlaClock
from tenants.models import Tenant
from tickets import sla as clocks
from tickets.models import OPEN_PREDICATE, Ticket

HORIZON = timedelta(hours=1)
LIMIT = 500


@dataclass(frozen=True)
class Row:
    tenant: Tenant
    ticket: Ticket
    clock: str
    due: datetime
    remaining: timedelta  # negative once breached
    escalation: Escalation | None = None
    team: Team | None = None

    @property
    def breached(self) -> bool:
        return self.remaining <= timedelta(0)

    @property
    def language(self) -> str:
        return self.ticket.language


@dataclass
class Group:
    tenant: Tenant
    language: str
    rows: list[Row]

    @property
    def breached(self) -> int:
        return sum(1 for row in self.rows if row.breached)


def _ticket_clock(ticket: Ticket) -> str:
    for clock, due in clocks.running_clocks(ticket):
        if due == ticket.due_at:
            return clock
    return "resolution"


def rows(
    tenants: Iterable[Tenant],
    now: datetime,
    *,
    language: str | None = None,
    horizon: timedelta = HORIZON,
    limit: int = LIMIT,
) -> list[Row]:
    """Rows of the given (visible) tenants, the most urgent first."""
    by_id = {tenant.id: tenant for tenant in tenants}
    if not by_id:
        return []
    until = now + horizon
    query = (
        select(Ticket)
        .where(
            Ticket.tenant_id.in_(list(by_id)),
            text(OPEN_PREDICATE),
            Ticket.due_at.is_not(None),
            Ticket.due_at <= until,
        )
        .order_by(Ticket.due_at, Ticket.id)
        .limit(limit)
    )
    if language:
        query = query.where(Ticket.language == language)
    found = [
        Row(by_id[t.tenant_id], t, _ticket_clock(t), t.due_at, t.due_at - now)  # type: ignore[arg-type,operator]
        for t in db.session.scalars(query)
    ]
    found.extend(_escalation_rows(by_id, now, until, language, limit))
    found.sort(key=lambda row: (row.due, row.ticket.id))
    return found[:limit]


def _escalation_rows(
    by_id: dict[int, Tenant], now: datetime, until: datetime, language: str | None, limit: int
) -> list[Row]:
    query = (
        select(Escalation, Ticket, Team)
        .join(Ticket, Ticket.id == Escalation.ticket_id)
        .join(Team, Team.id == Escalation.team_id)
        .where(
            Escalation.tenant_id.in_(list(by_id)),
            Escalation.status.in_(ACTIVE_ESCALATION),
            or_(
                and_(Escalation.status == EscalationStatus.OPEN.value, Escalation.ack_due_at <= until),
                Escalation.resolve_due_at <= until,
            ),
        )
        .order_by(Escalation.id)
        .limit(limit)
    )
    if language:
        query = query.where(Ticket.language == language)
    found = []
    for escalation, ticket, team in db.session.execute(query):
        candidates = [(SlaClock.TEAM_RESOLVE.value, escalation.resolve_due_at)]
        if escalation.status == EscalationStatus.OPEN.value:
            candidates.append((SlaClock.TEAM_ACK.value, escalation.ack_due_at))
        clock, due = min(((c, d) for c, d in candidates if d is not None), key=lambda item: item[1])
        found.append(Row(by_id[escalation.tenant_id], ticket, clock, due, due - now, escalation, team))
    return found


def grouped(found: list[Row]) -> list[Group]:
    """Per client and language, the group with the most urgent row first."""
    groups: dict[tuple[int, str], Group] = {}
    for row in found:
        key = (row.tenant.id, row.language)
        groups.setdefault(key, Group(row.tenant, row.language, [])).rows.append(row)
    return sorted(groups.values(), key=lambda group: (group.rows[0].due, group.tenant.name, group.language))
