"""Skills-based routing: which agents a ticket is offered to, auto-assignment by load, presence,
and the supervisor's board of unassigned and unroutable tickets.

An agent is *eligible* for a ticket when they are an active agent assigned to its client and speak
its language; *available* when their presence says so (shifts from the operations issue will set it
too). Load is the number of open tickets an agent holds across all their clients, kept in
`AgentPresence.open_tickets` by listening to ticket assignments and status changes, and recounted
by a sweep so that a missed update heals itself.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import case, func, select, update

from agents.models import AgentAssignment, AgentLanguage, AgentPresence, Presence
from core import audit, scheduler
from core.auth.models import User
from core.auth.roles import Role
from core.extensions import db
from core.models_base import utcnow
from tickets import services as tickets
from tickets.models import OPEN_STATUSES, Ticket


def presence_of(user_id: int) -> AgentPresence:
    row = db.session.get(AgentPresence, user_id)
    if row is None:
        row = AgentPresence(user_id=user_id, status=Presence.OFFLINE.value, open_tickets=0)
        db.session.add(row)
        db.session.flush()
    return row


def set_presence(user: User, status: Presence) -> AgentPresence:
    row = presence_of(user.id)
    if row.status != status.value:
        audit.record("agent.presence", tenant_id=None, target=user, data={"old": row.status, "new": status})
        row.status = status.value
        row.changed_at = utcnow()
    db.session.flush()
    return row


@tickets.on_workload_change
def _count(user_id: int, delta: int) -> None:
    presence_of(user_id)
    db.session.execute(
        update(AgentPresence)
        .where(AgentPresence.user_id == user_id)
        .values(
            open_tickets=case(
                (AgentPresence.open_tickets + delta < 0, 0), else_=AgentPresence.open_tickets + delta
            )
        )
        .execution_options(synchronize_session="fetch")
    )


def serves(tenant_id: int, user_id: int) -> bool:
    """Whether this person may hold this client's tickets: active provider staff assigned to it."""
    return (
        db.session.scalar(
            select(AgentAssignment.id)
            .join(User, User.id == AgentAssignment.user_id)
            .where(
                AgentAssignment.tenant_id == tenant_id,
                AgentAssignment.user_id == user_id,
                User.role.in_([Role.AGENT.value, Role.SUPERVISOR.value]),
                User.is_active.is_(True),
            )
        )
        is not None
    )


@dataclass
class Candidate:
    user: User
    presence: AgentPresence | None

    @property
    def available(self) -> bool:
        return self.presence is not None and self.presence.status == Presence.AVAILABLE.value


def eligible(tenant_id: int, language: str) -> list[Candidate]:
    """Active agents assigned to the client who speak the language, least loaded first."""
    rows = db.session.execute(
        select(User, AgentPresence)
        .join(AgentAssignment, AgentAssignment.user_id == User.id)
        .join(AgentLanguage, (AgentLanguage.user_id == User.id) & (AgentLanguage.language == language))
        .outerjoin(AgentPresence, AgentPresence.user_id == User.id)
        .where(
            AgentAssignment.tenant_id == tenant_id, User.role == Role.AGENT.value, User.is_active.is_(True)
        )
    ).all()
    candidates = [Candidate(user, presence) for user, presence in rows]
    candidates.sort(
        key=lambda c: (
            c.presence.open_tickets if c.presence else 0,
            c.presence.last_assigned_at.timestamp() if c.presence and c.presence.last_assigned_at else 0,
            c.user.id,
        )
    )
    return candidates


def auto_assign(ticket: Ticket) -> User | None:
    """Give a new ticket to the least-loaded available agent who can take it, if there is one."""
    for candidate in eligible(ticket.tenant_id, ticket.language):
        if candidate.available:
            tickets.assign(ticket, candidate.user.id)
            presence_of(candidate.user.id).last_assigned_at = utcnow()
            tickets.record_event(ticket, "auto_assigned", user_id=candidate.user.id)
            return candidate.user
    return None


def take_next(user: User) -> Ticket | None:
    """Assign the agent the most urgent unassigned ticket offered to them (their clients and
    languages). Rows another agent is taking at the same moment are skipped, not waited for."""
    languages = list(
        db.session.scalars(select(AgentLanguage.language).where(AgentLanguage.user_id == user.id))
    )
    if not languages:
        return None
    ticket = db.session.scalar(
        select(Ticket)
        .where(
            Ticket.assignee_id.is_(None),
            Ticket.status.in_([s.value for s in OPEN_STATUSES]),
            Ticket.language.in_(languages),
        )
        .order_by(Ticket.due_at.asc().nulls_last(), Ticket.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if ticket is None:
        return None
    tickets.assign(ticket, user.id)
    presence_of(user.id).last_assigned_at = utcnow()
    return ticket


@dataclass
class BoardRow:
    ticket: Ticket
    eligible: list[User] = field(default_factory=list)
    available: list[User] = field(default_factory=list)

    @property
    def unroutable(self) -> bool:
        return not self.available


def board(limit: int = 200) -> list[BoardRow]:
    """Unassigned open tickets in scope, most urgent first, with who could take each one now.

    Unroutable tickets (nobody available speaks the language) are what a supervisor acts on at once.
    """
    rows = [
        BoardRow(ticket)
        for ticket, _tenant in tickets.inbox(tickets.InboxFilter(unassigned=True), limit=limit)
    ]
    tenant_ids = {row.ticket.tenant_id for row in rows}
    if not tenant_ids:
        return rows
    by_tenant: dict[int, list[User]] = defaultdict(list)
    for tenant_id, user in db.session.execute(
        select(AgentAssignment.tenant_id, User)
        .join(User, User.id == AgentAssignment.user_id)
        .where(
            AgentAssignment.tenant_id.in_(tenant_ids), User.role == Role.AGENT.value, User.is_active.is_(True)
        )
    ):
        by_tenant[tenant_id].append(user)
    user_ids = {user.id for users in by_tenant.values() for user in users}
    speaks: dict[int, set[str]] = defaultdict(set)
    for user_id, language in db.session.execute(
        select(AgentLanguage.user_id, AgentLanguage.language).where(AgentLanguage.user_id.in_(user_ids))
    ):
        speaks[user_id].add(language)
    available = set(
        db.session.scalars(
            select(AgentPresence.user_id).where(
                AgentPresence.user_id.in_(user_ids), AgentPresence.status == Presence.AVAILABLE.value
            )
        )
    )
    for row in rows:
        row.eligible = [u for u in by_tenant[row.ticket.tenant_id] if row.ticket.language in speaks[u.id]]
        row.available = [u for u in row.eligible if u.id in available]
    return rows


def recount() -> int:
    """Recount every agent's open tickets from the tickets themselves (system scope)."""
    counts = dict(
        db.session.execute(
            select(Ticket.assignee_id, func.count())
            .where(Ticket.assignee_id.is_not(None), Ticket.status.in_([s.value for s in OPEN_STATUSES]))
            .group_by(Ticket.assignee_id)
        ).all()
    )
    changed = 0
    for row in db.session.scalars(select(AgentPresence)):
        if row.open_tickets != counts.get(row.user_id, 0):
            row.open_tickets = counts.get(row.user_id, 0)
            changed += 1
    db.session.flush()
    return changed


@scheduler.periodic("agents.recount_load", every=timedelta(minutes=10))
def recount_load(tenant_id: None) -> int:
    return recount()
