"""The client portal over the JSON API: the queue of the caller's teams and the actions on an
escalation, for client admins and experts (bearer tokens).

The same rules as the HTML portal: a ticket is reached through `escalations.services.for_user`,
so a ticket never escalated to the caller's teams is a 404 like another client's; service errors
come back in the API's one error shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask import Blueprint, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, Field

from core.api import ApiError, Schema, endpoint
from core.auth.roles import CLIENT_ROLES
from core.extensions import db
from escalations import services, teams
from escalations.models import Escalation
from tenants.models import Tenant
from tickets import services as tickets
from tickets.models import Ticket

bp = Blueprint("portal_api", __name__, url_prefix="/api/v1/portal")
CLIENT = tuple(CLIENT_ROLES)
MAX_TEXT = 50000


class EscalationOut(BaseModel):
    id: int
    ticket_id: int
    ticket_number: str
    subject: str
    language: str
    team_id: int
    team: str
    level: int
    status: str
    urgent: bool
    packet: dict[str, Any]
    created_at: datetime
    ack_due_at: datetime | None
    resolve_due_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by_id: int | None
    closed_at: datetime | None
    outcome: str | None


class NoteIn(Schema):
    body: str = Field(min_length=1, max_length=MAX_TEXT)


class ResolveIn(Schema):
    answer: str = Field(min_length=1, max_length=MAX_TEXT)
    tell_customer: bool = True


class ReturnIn(Schema):
    instructions: str = Field(min_length=1, max_length=MAX_TEXT)


class ForwardIn(Schema):
    team_id: int
    summary: str = Field(max_length=MAX_TEXT)
    reported: str = Field(max_length=MAX_TEXT)
    tried: str = Field(max_length=MAX_TEXT)
    urgency: Literal["low", "medium", "high", "critical"]
    impact: Literal["one", "several", "organisation", "many"]
    availability: str = Field(max_length=MAX_TEXT)
    articles: list[int] = Field(default_factory=list, max_length=50)


def _out(escalation: Escalation, ticket: Ticket) -> dict[str, Any]:
    tenant = db.session.get_one(Tenant, ticket.tenant_id)
    return EscalationOut(
        id=escalation.id,
        ticket_id=ticket.id,
        ticket_number=tickets.display_number(tenant, ticket),
        subject=ticket.subject,
        language=ticket.language,
        team_id=escalation.team_id,
        team=teams.get_team(escalation.team_id).name,
        level=escalation.level,
        status=escalation.status,
        urgent=escalation.urgent,
        packet=escalation.packet or {},
        created_at=escalation.created_at,
        ack_due_at=escalation.ack_due_at,
        resolve_due_at=escalation.resolve_due_at,
        acknowledged_at=escalation.acknowledged_at,
        acknowledged_by_id=escalation.acknowledged_by_id,
        closed_at=escalation.closed_at,
        outcome=escalation.outcome,
    ).model_dump(mode="json")


def _load(ticket_id: int) -> tuple[Ticket, Escalation]:
    return services.ticket_for(current_user, ticket_id)


@endpoint(
    bp,
    "/escalations",
    methods=["GET"],
    summary=_l("The escalations of your teams, most urgent first (or the recently closed ones)"),
    tag="portal",
    response=EscalationOut,
    roles=CLIENT,
    query={"team_id": "one of your teams", "closed": "1: the recently closed ones"},
)
def queue() -> dict[str, Any]:
    raw = request.args.get("team_id", "")
    if raw and not raw.isdigit():
        raise ApiError(400, "invalid_filter", _("Invalid value."), {"team_id": _("Must be a whole number.")})
    team_id = teams.team_for(current_user, int(raw)).id if raw else None
    closed = request.args.get("closed") == "1"
    rows = services.queue(current_user, team_id=team_id, closed=closed, limit=200)
    return {"data": [_out(escalation, ticket) for escalation, ticket in rows], "next_cursor": None}


@endpoint(
    bp,
    "/tickets/<int:ticket_id>",
    methods=["GET"],
    summary=_l("The escalation of a ticket that is yours to act on"),
    tag="portal",
    response=EscalationOut,
    roles=CLIENT,
)
def get_escalation(ticket_id: int) -> dict[str, Any]:
    ticket, escalation = _load(ticket_id)
    return _out(escalation, ticket)


@endpoint(
    bp,
    "/tickets/<int:ticket_id>/acknowledge",
    methods=["POST"],
    summary=_l("Acknowledge: your team is on it"),
    tag="portal",
    response=EscalationOut,
    roles=CLIENT,
)
def acknowledge(ticket_id: int) -> dict[str, Any]:
    ticket, escalation = _load(ticket_id)
    services.acknowledge(escalation, current_user)
    return _out(escalation, ticket)


@endpoint(
    bp,
    "/tickets/<int:ticket_id>/note",
    methods=["POST"],
    summary=_l("An internal note to the first-level desk"),
    tag="portal",
    body=NoteIn,
    response=EscalationOut,
    roles=CLIENT,
    status=201,
)
def note(ticket_id: int, body: NoteIn) -> dict[str, Any]:
    ticket, escalation = _load(ticket_id)
    services.note_to_desk(escalation, current_user, body.body)
    return _out(escalation, ticket)


@endpoint(
    bp,
    "/tickets/<int:ticket_id>/answer",
    methods=["POST"],
    summary=_l("Answer the customer in the client's name; the ticket stays with your team"),
    tag="portal",
    body=NoteIn,
    response=EscalationOut,
    roles=CLIENT,
    status=201,
)
def answer(ticket_id: int, body: NoteIn) -> dict[str, Any]:
    ticket, escalation = _load(ticket_id)
    services.answer_customer(escalation, current_user, body.body)
    return _out(escalation, ticket)


@endpoint(
    bp,
    "/tickets/<int:ticket_id>/resolve",
    methods=["POST"],
    summary=_l("Resolve, with the answer sent to the customer or kept for the desk"),
    tag="portal",
    body=ResolveIn,
    response=EscalationOut,
    roles=CLIENT,
)
def resolve(ticket_id: int, body: ResolveIn) -> dict[str, Any]:
    ticket, escalation = _load(ticket_id)
    services.resolve(escalation, current_user, body.answer, tell_customer=body.tell_customer)
    return _out(escalation, ticket)


@endpoint(
    bp,
    "/tickets/<int:ticket_id>/return",
    methods=["POST"],
    summary=_l("Return the ticket to the first level with instructions"),
    tag="portal",
    body=ReturnIn,
    response=EscalationOut,
    roles=CLIENT,
)
def return_to_desk(ticket_id: int, body: ReturnIn) -> dict[str, Any]:
    ticket, escalation = _load(ticket_id)
    services.return_to_desk(escalation, current_user, body.instructions)
    return _out(escalation, ticket)


@endpoint(
    bp,
    "/tickets/<int:ticket_id>/forward",
    methods=["POST"],
    summary=_l("Escalate further to another team, with a handoff packet of its own"),
    tag="portal",
    body=ForwardIn,
    response=EscalationOut,
    roles=CLIENT,
    status=201,
)
def forward(ticket_id: int, body: ForwardIn) -> dict[str, Any]:
    ticket, escalation = _load(ticket_id)
    packet = body.model_dump(exclude={"team_id"})
    new = services.forward(escalation, current_user, body.team_id, packet)
    return _out(new, ticket)
