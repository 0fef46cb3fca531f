"""How an escalation reaches its team: the portal queue (the row itself), an e-mail to the team,
the client's webhook, and at night for urgent ones the person on call."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from escalations import oncall, webhooks
from escalations.models import Escalation, Team
from escalations.notify import mail_team
from tickets.models import Message, Ticket


def payload(escalation: Escalation, ticket: Ticket | None = None) -> dict[str, Any]:
    """What the client's system is told: enough to open its own record, nothing of other teams."""
    data: dict[str, Any] = {
        "escalation_id": escalation.id,
        "ticket_id": escalation.ticket_id,
        "team_id": escalation.team_id,
        "level": escalation.level,
        "status": escalation.status,
        "urgent": escalation.urgent,
        "ack_due_at": escalation.ack_due_at.isoformat() if escalation.ack_due_at else None,
        "resolve_due_at": escalation.resolve_due_at.isoformat() if escalation.resolve_due_at else None,
    }
    if ticket is not None:
        data.update(
            subject=ticket.subject,
            priority=ticket.priority,
            category=ticket.category,
            language=ticket.language,
            packet=escalation.packet,
        )
    return data


def deliver(ticket: Ticket, escalation: Escalation, team: Team, handoff: Message, now: datetime) -> None:
    mail_team(ticket, escalation, team, handoff)
    webhooks.send(team, "escalation.created", payload(escalation, ticket), escalation_id=escalation.id)
    if oncall.should_page(escalation, now):
        oncall.page(escalation, now)


def announce(team: Team, escalation: Escalation, event: str, now: datetime) -> None:
    webhooks.send(team, event, payload(escalation), escalation_id=escalation.id)
