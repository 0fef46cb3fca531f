"""Escalations over the JSON API, for the desk's own tools: which teams a ticket may go to (and
which one the client's rules propose), and the escalation itself with its handoff packet."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask import Blueprint
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, Field

from core.api import Schema, dump, endpoint
from core.auth.roles import PROVIDER_ROLES
from escalations import routing
from escalations import services as escalations
from tickets import services as tickets

bp = Blueprint("escalations_api", __name__, url_prefix="/api/v1/tickets")
STAFF = tuple(PROVIDER_ROLES)


class TeamOut(BaseModel):
    id: int
    name: str
    level: int
    proposed: bool


class EscalationIn(Schema):
    team_id: int
    summary: str = Field(max_length=5000)
    reported: str = Field(max_length=5000)
    tried: str = Field(max_length=5000)
    urgency: Literal["low", "medium", "high", "critical"]
    impact: Literal["one", "several", "organisation", "many"]
    availability: str = Field(max_length=5000)
    articles: list[int] = Field(default_factory=list, max_length=50)
    tell_customer: bool = True


class EscalationOut(BaseModel):
    id: int
    ticket_id: int
    team_id: int
    level: int
    status: str
    urgent: bool
    packet: dict[str, Any]
    created_at: datetime
    ack_due_at: datetime | None
    resolve_due_at: datetime | None
    acknowledged_at: datetime | None
    closed_at: datetime | None


@endpoint(
    bp,
    "/<int:ticket_id>/escalation-targets",
    methods=["GET"],
    summary=_l("The teams a ticket may be escalated to, and the one the client's rules propose"),
    tag="escalations",
    response=TeamOut,
    roles=STAFF,
)
def targets(ticket_id: int) -> dict[str, Any]:
    ticket = tickets.get_ticket(ticket_id)
    proposed = routing.propose(ticket)
    data = [
        {
            "id": team.id,
            "name": team.name,
            "level": team.level,
            "proposed": proposed is not None and team.id == proposed.id,
        }
        for team in routing.allowed_targets(ticket)
    ]
    return {"data": data, "next_cursor": None}


@endpoint(
    bp,
    "/<int:ticket_id>/escalations",
    methods=["GET"],
    summary=_l("A ticket's escalations, oldest first"),
    tag="escalations",
    response=EscalationOut,
    roles=STAFF,
)
def list_escalations(ticket_id: int) -> dict[str, Any]:
    ticket = tickets.get_ticket(ticket_id)
    return {"data": [dump(EscalationOut, e) for e in escalations.history_of(ticket)], "next_cursor": None}


@endpoint(
    bp,
    "/<int:ticket_id>/escalations",
    methods=["POST"],
    summary=_l("Escalate a ticket to one of the client's teams, with the handoff packet"),
    tag="escalations",
    body=EscalationIn,
    response=EscalationOut,
    roles=STAFF,
    status=201,
)
def escalate(ticket_id: int, body: EscalationIn) -> dict[str, Any]:
    ticket = tickets.get_ticket(ticket_id)
    packet = body.model_dump(exclude={"team_id", "tell_customer"})
    escalation = escalations.escalate(
        ticket, current_user, body.team_id, packet, tell_customer=body.tell_customer
    )
    return dump(EscalationOut, escalation)
