"""Escalated tickets as the client's own experts see them (second and third level).

The first cut of the escalation service: experts see what the desk escalated to their company
and resolve it, answering the customer in the client's name or recording the resolution for the
desk. Teams, routing, the handoff packet and on-call come with the escalation issue.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from core.auth.models import User
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from tickets import services as tickets
from tickets.models import Message, Status, Ticket


def queue(*, resolved: bool = False, limit: int = 200) -> list[Ticket]:
    """Escalated tickets of the companies in scope, oldest first; or recently resolved ones."""
    stmt = select(Ticket).where(Ticket.was_escalated.is_(True)).limit(limit)
    if resolved:
        stmt = stmt.where(Ticket.status.in_([Status.RESOLVED.value, Status.CLOSED.value]))
        stmt = stmt.order_by(Ticket.resolved_at.desc())
    else:
        stmt = stmt.where(Ticket.status == Status.ESCALATED.value).order_by(Ticket.updated_at)
    return list(db.session.scalars(stmt))


def get(ticket_id: int) -> Ticket:
    """Only what was escalated: the client's staff do not browse the desk's other tickets."""
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None or not ticket.was_escalated:
        raise NotFound(_("This ticket does not exist or is not yours to see."))
    return ticket


def resolve(ticket: Ticket, expert: User, answer: str, *, tell_customer: bool) -> Message:
    """The expert's resolution: sent to the customer in the client's name, or kept as a note for
    the desk, and the ticket resolved either way."""
    answer = answer.strip()
    if not answer:
        raise ValidationFailed(fields={"answer": _("Write the resolution first.")})
    if ticket.status != Status.ESCALATED.value:
        raise ValidationFailed(fields={"answer": _("Only an escalated ticket can be resolved here.")})
    if tell_customer:
        return tickets.reply(ticket, expert.id, answer, then=Status.RESOLVED)
    note = tickets.add_note(ticket, expert.id, answer)
    tickets.set_status(ticket, Status.RESOLVED)
    return note
