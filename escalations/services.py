"""The one escalation service: up from the desk to a team, across to another department, and back
down (returned with instructions, or resolved), with every party told.

A ticket has at most one active escalation. Its team holds the ticket (`Ticket.team_id`,
`Ticket.level`) until it returns or resolves it; each handoff keeps its own packet and clocks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from billing import usage
from billing.models import UsageKind
from core import memo
from core.auth.models import User
from core.auth.roles import Role
from core.errors import Conflict, NotFound, ValidationFailed
from core.extensions import db
from core.models_base import utcnow
from escalations import delivery, handoff, notify
from escalations.models import ACTIVE_ESCALATION, Escalation, EscalationStatus, Team
from escalations.routing import target
from escalations.teams import get_team, may_act, member_team_ids, members_of, sees_all_teams
from tickets import services as tickets
from tickets import sla
from tickets.models import Message, MessageKind, Priority, Status, Ticket

CLOSED_TICKET = (Status.RESOLVED.value, Status.CLOSED.value)


def _not_yours() -> NotFound:
    return NotFound(_("This ticket does not exist or is not yours to see."))


def active_of(ticket: Ticket) -> Escalation | None:
    """Inside an intake batch read from what `prefetch_active` loaded (an intake batch opens no
    escalation, and the one it acknowledges stays active and is the same object)."""
    if tickets.opened_by_batch(ticket):
        return None  # nothing refers to a ticket the running intake batch opened
    return memo.read(
        ("active_escalation", ticket.tenant_id, ticket.id),
        lambda: db.session.scalar(
            select(Escalation)
            .where(
                Escalation.tenant_id == ticket.tenant_id,
                Escalation.ticket_id == ticket.id,
                Escalation.status.in_(ACTIVE_ESCALATION),
            )
            .order_by(Escalation.id.desc())
            .limit(1)
        ),
    )


def prefetch_active(tenant_id: int, ticket_ids: list[int]) -> None:
    """Inside a batch, the active escalations of these tickets (or that there is none) with one
    query, for the `active_of` calls that follow."""
    if not memo.active() or not ticket_ids:
        return
    active: dict[int, Escalation] = {}
    for escalation in db.session.scalars(
        select(Escalation)
        .where(
            Escalation.tenant_id == tenant_id,
            Escalation.ticket_id.in_(sorted(ticket_ids)),
            Escalation.status.in_(ACTIVE_ESCALATION),
        )
        .order_by(Escalation.id)
    ):
        active[escalation.ticket_id] = escalation  # the newest wins, as in active_of
    for ticket_id in ticket_ids:
        memo.remember(("active_escalation", tenant_id, ticket_id), active.get(ticket_id))


def history_of(ticket: Ticket) -> list[Escalation]:
    return list(
        db.session.scalars(
            select(Escalation)
            .where(Escalation.tenant_id == ticket.tenant_id, Escalation.ticket_id == ticket.id)
            .order_by(Escalation.id)
        )
    )


def _is_urgent(ticket: Ticket, packet: dict[str, Any]) -> bool:
    return ticket.priority == Priority.URGENT.value or packet.get("urgency") == "critical"


def _open(
    ticket: Ticket,
    actor: User,
    team: Team,
    packet: dict[str, Any],
    now: datetime,
    previous: Escalation | None,
) -> Escalation:
    escalation = Escalation(
        tenant_id=ticket.tenant_id,
        ticket_id=ticket.id,
        team_id=team.id,
        level=team.level,
        packet=packet,
        urgent=_is_urgent(ticket, packet),
        created_by_id=actor.id,
        previous_id=previous.id if previous else None,
        created_at=now,
    )
    escalation.ack_due_at, escalation.resolve_due_at = sla.team_due_times(team, now)
    db.session.add(escalation)
    db.session.flush()
    ticket.team_id, ticket.level = team.id, team.level
    message = notify.handoff_message(ticket, escalation, team, actor.id)
    tickets.record_event(ticket, "escalated", team_id=team.id, team=team.name, level=team.level)
    delivery.deliver(ticket, escalation, team, message, now)
    return escalation


def escalate(
    ticket: Ticket,
    actor: User,
    team_id: int | None,
    raw_packet: dict[str, Any],
    *,
    tell_customer: bool = True,
    now: datetime | None = None,
) -> Escalation:
    """From the desk to a team of the ticket's client, with a complete packet."""
    now = now or utcnow()
    if ticket.status in CLOSED_TICKET:
        raise Conflict(_("A resolved or closed ticket cannot be escalated; reopen it first."))
    if active_of(ticket) is not None:
        raise Conflict(_("This ticket is already with a team."))
    team = target(ticket, team_id)
    packet = handoff.clean(ticket, raw_packet)
    if tell_customer:
        tickets.reply(ticket, actor.id, notify.customer_text(ticket, "escalated"), then=Status.ESCALATED)
    else:
        tickets.set_status(ticket, Status.ESCALATED, now=now)
    escalation = _open(ticket, actor, team, packet, now, None)
    usage.record(
        ticket.tenant_id,
        UsageKind.ESCALATION,
        f"escalation:{escalation.id}",
        ticket_id=ticket.id,
        data={"team_id": team.id, "level": team.level},
        occurred_at=now,
    )
    return escalation


def get(escalation_id: int) -> Escalation:
    escalation = db.session.scalar(select(Escalation).where(Escalation.id == escalation_id))
    if escalation is None:
        raise _not_yours()
    return escalation


def for_user(user: User, ticket: Ticket) -> Escalation:
    """The escalation of this ticket that the user may act on (the latest one for their teams):
    the ticket of another team is, for an expert, a ticket that does not exist."""
    mine = None if sees_all_teams(user) else member_team_ids(user)
    for escalation in reversed(history_of(ticket)):
        if mine is None or escalation.team_id in mine:
            return escalation
    raise _not_yours()


def ticket_for(user: User, ticket_id: int) -> tuple[Ticket, Escalation]:
    """A ticket of the portal (HTML or API) with the escalation this user acts on."""
    ticket = tickets.get_ticket(ticket_id)
    return ticket, for_user(user, ticket)


def _require_active(escalation: Escalation, actor: User) -> Team:
    team = get_team(escalation.team_id)
    if not may_act(actor, team):
        raise _not_yours()
    if escalation.status not in ACTIVE_ESCALATION:
        raise Conflict(_("This escalation is closed; nothing more can be done on it here."))
    return team


def acknowledge(escalation: Escalation, actor: User, now: datetime | None = None) -> bool:
    """Someone of the team is on it: the acknowledge clock stops and nobody else is paged.
    False when it already was acknowledged."""
    team = _require_active(escalation, actor)
    if escalation.status == EscalationStatus.ACKNOWLEDGED.value:
        return False
    now = now or utcnow()
    escalation.status = EscalationStatus.ACKNOWLEDGED.value
    escalation.acknowledged_at, escalation.acknowledged_by_id = now, actor.id
    escalation.page_due_at = None
    ticket = tickets.get_ticket(escalation.ticket_id)
    tickets.record_event(ticket, "escalation_acknowledged", team=team.name)
    delivery.announce(team, escalation, "escalation.acknowledged", now)
    db.session.flush()
    return True


def note_to_desk(escalation: Escalation, actor: User, body: str, now: datetime | None = None) -> Message:
    """An internal answer to the first level; the agent holding the ticket is told."""
    acknowledge(escalation, actor, now)
    ticket = tickets.get_ticket(escalation.ticket_id)
    note = tickets.add_note(ticket, actor.id, body)
    notify.tell_desk(ticket, _("The specialists wrote a note"), note.body, f"esc-note:{note.id}")
    return note


def answer_customer(escalation: Escalation, actor: User, body: str, now: datetime | None = None) -> Message:
    """The specialist writes to the customer directly, in the client's name; the ticket stays
    with the team."""
    acknowledge(escalation, actor, now)
    ticket = tickets.get_ticket(escalation.ticket_id)
    return tickets.reply(ticket, actor.id, body)


def _close(
    escalation: Escalation, actor: User, status: EscalationStatus, outcome: str, now: datetime
) -> None:
    escalation.status = status.value
    escalation.closed_at, escalation.closed_by_id = now, actor.id
    escalation.outcome = outcome
    escalation.page_due_at = None
    if escalation.acknowledged_at is None:
        escalation.acknowledged_at, escalation.acknowledged_by_id = now, actor.id


def _required(text: str, field: str) -> str:
    text = text.strip()
    if not text:
        raise ValidationFailed(fields={field: _("Write something first.")})
    return text


def return_to_desk(
    escalation: Escalation, actor: User, instructions: str, now: datetime | None = None
) -> None:
    """Back to the first level with what to tell or ask the customer."""
    team = _require_active(escalation, actor)
    instructions = _required(instructions, "instructions")
    now = now or utcnow()
    ticket = tickets.get_ticket(escalation.ticket_id)
    _close(escalation, actor, EscalationStatus.RETURNED, instructions, now)
    note = tickets.add_message(ticket, MessageKind.NOTE, instructions, user_id=actor.id)
    note.data = {"returned_by_team": team.name}
    ticket.team_id, ticket.level = None, 1
    tickets.set_status(ticket, Status.OPEN, now=now)
    tickets.record_event(ticket, "escalation_returned", team=team.name)
    notify.tell_desk(
        ticket,
        _("Returned by %(team)s with instructions", team=team.name),
        instructions,
        f"esc-return:{escalation.id}",
    )
    delivery.announce(team, escalation, "escalation.returned", now)
    db.session.flush()


def forward(
    escalation: Escalation,
    actor: User,
    team_id: int | None,
    raw_packet: dict[str, Any],
    now: datetime | None = None,
) -> Escalation:
    """On to another team or department (L2 to L3, usually), with a packet of its own."""
    team = _require_active(escalation, actor)
    now = now or utcnow()
    ticket = tickets.get_ticket(escalation.ticket_id)
    to = target(ticket, team_id, exclude=team.id)
    packet = handoff.clean(ticket, raw_packet)
    _close(escalation, actor, EscalationStatus.FORWARDED, packet["summary"], now)
    delivery.announce(team, escalation, "escalation.forwarded", now)
    return _open(ticket, actor, to, packet, now, escalation)


def resolve(
    escalation: Escalation, actor: User, answer: str, *, tell_customer: bool, now: datetime | None = None
) -> Message:
    """The specialist's resolution: sent to the customer in the client's name, or kept for the
    desk while the customer gets the client's "resolved" notice in their language. The desk is
    told either way, and the linked tickets of a problem are resolved with it."""
    team = _require_active(escalation, actor)
    answer = _required(answer, "answer")
    now = now or utcnow()
    ticket = tickets.get_ticket(escalation.ticket_id)
    _close(escalation, actor, EscalationStatus.RESOLVED, answer, now)
    if tell_customer:
        message = tickets.reply(ticket, actor.id, answer, then=Status.RESOLVED)
    else:
        message = tickets.add_note(ticket, actor.id, answer)
        tickets.reply(ticket, actor.id, notify.customer_text(ticket, "resolved"), then=Status.RESOLVED)
    notify.tell_desk(
        ticket, _("Resolved by %(team)s", team=team.name), answer, f"esc-resolved:{escalation.id}"
    )
    delivery.announce(team, escalation, "escalation.resolved", now)
    db.session.flush()
    return message


def expert_mail(ticket: Ticket, address: str | None, body: str) -> Message | None:
    """A reply by e-mail from the team handling the ticket: a note for the desk, not a customer
    message. None when the sender is not of that team (then it is the customer's mail)."""
    escalation = active_of(ticket)
    if escalation is None or not address:
        return None
    team = get_team(escalation.team_id)
    address = address.lower()
    sender = db.session.scalar(
        select(User).where(
            User.email == address, User.tenant_id == ticket.tenant_id, User.is_active.is_(True)
        )
    )
    from_team = team.email is not None and team.email.lower() == address
    if not from_team and (sender is None or not may_act(sender, team)):
        return None
    author = sender or _first_member(team)
    if author is not None and escalation.status == EscalationStatus.OPEN.value:
        acknowledge(escalation, author)
    note = tickets.add_message(ticket, MessageKind.NOTE, body, user_id=author.id if author else None)
    note.data = {"by_email_from_team": team.name}
    tickets.touch(ticket)
    tickets.record_event(ticket, "team_mail", team=team.name)
    db.session.flush()
    notify.tell_desk(ticket, _("The specialists wrote a note"), body, f"esc-mail:{note.id}")
    return note


def _first_member(team: Team) -> User | None:
    members = members_of(team)
    return members[0] if members else None


def queue(
    user: User, *, team_id: int | None = None, closed: bool = False, limit: int = 200
) -> list[tuple[Escalation, Ticket]]:
    """The escalations of the user's teams (every team for the client's admin), the most urgent
    first; or the recently closed ones."""
    stmt = select(Escalation, Ticket).join(Ticket, Ticket.id == Escalation.ticket_id).limit(limit)
    if user.role in (Role.CLIENT_ADMIN.value, Role.CLIENT_EXPERT.value):
        stmt = stmt.where(Escalation.tenant_id == user.tenant_id)
    if not sees_all_teams(user):
        stmt = stmt.where(Escalation.team_id.in_(member_team_ids(user) or {0}))
    if team_id is not None:
        stmt = stmt.where(Escalation.team_id == team_id)
    if closed:
        stmt = stmt.where(Escalation.status.not_in(ACTIVE_ESCALATION)).order_by(Escalation.closed_at.desc())
    else:
        stmt = stmt.where(Escalation.status.in_(ACTIVE_ESCALATION)).order_by(
            Escalation.resolve_due_at, Escalation.id
        )
    return [(escalation, ticket) for escalation, ticket in db.session.execute(stmt)]
