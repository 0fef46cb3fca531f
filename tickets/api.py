"""Tickets over the JSON API (provider staff; the client portal API comes with escalations)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from flask import Blueprint, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlalchemy import select

from core import jobs
from core.api import ApiError, Schema, cursor_id, dump, endpoint, page, page_params
from core.auth.roles import PROVIDER_ROLES
from core.errors import Conflict
from core.extensions import db
from tenants.models import Tenant
from tickets import intake
from tickets import services as tickets
from tickets.models import Category, Channel, Message, Priority, Status, Ticket

bp = Blueprint("tickets_api", __name__, url_prefix="/api/v1/tickets")
STAFF = tuple(PROVIDER_ROLES)


class TicketOut(BaseModel):
    id: int
    tenant_id: int
    number: int
    subject: str
    status: str
    priority: str
    category: str
    channel: str
    language: str
    level: int
    assignee_id: int | None
    contact_id: int | None
    tags: list[str]
    first_contact_resolution: bool
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None


class MessageOut(BaseModel):
    id: int
    kind: str
    body: str
    author_user_id: int | None
    author_contact_id: int | None
    created_at: datetime


class TicketIn(Schema):
    tenant_id: int
    subject: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=50000)
    name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    category: Category = Category.OTHER
    language: str | None = Field(default=None, max_length=8)
    external_id: str | None = Field(default=None, min_length=1, max_length=200)


class TicketCreated(BaseModel):
    inbound_id: int
    ticket_id: int | None


class TicketPatch(Schema):
    status: Status | None = None
    priority: Priority | None = None
    category: Category | None = None
    assignee_id: int | None = None


class MessageIn(Schema):
    kind: Literal["reply", "note"] = "reply"
    body: str = Field(min_length=1, max_length=50000)
    then: Literal["resolve", "pending"] | None = None


@endpoint(
    bp,
    "",
    methods=["GET"],
    summary=_l("Tickets of the clients you serve, newest first"),
    tag="tickets",
    response=TicketOut,
    roles=STAFF,
    paginated=True,
    query={"status": "new, open, pending_customer, escalated, resolved or closed", "tenant_id": "one client"},
)
def list_tickets() -> dict[str, Any]:
    limit, cursor = page_params()
    query = select(Ticket).order_by(Ticket.id.desc()).limit(limit + 1)
    before = cursor_id(cursor)
    if before is not None:
        query = query.where(Ticket.id < before)
    status = request.args.get("status")
    if status:
        if status not in {s.value for s in Status}:
            raise ApiError(400, "invalid_filter", _("Invalid value."), {"status": _("Invalid value.")})
        query = query.where(Ticket.status == status)
    tenant = request.args.get("tenant_id", "")
    if tenant:
        if not tenant.isdigit():
            raise ApiError(
                400, "invalid_filter", _("Invalid value."), {"tenant_id": _("Must be a whole number.")}
            )
        query = query.where(Ticket.tenant_id == int(tenant))
    return page(list(db.session.scalars(query)), limit, lambda t: {"id": t.id}, lambda t: dump(TicketOut, t))


@endpoint(
    bp,
    "",
    methods=["POST"],
    summary=_l("Create a ticket through the intake (channel api)"),
    tag="tickets",
    body=TicketIn,
    response=TicketCreated,
    roles=STAFF,
    status=202,
)
def create_ticket(body: TicketIn) -> dict[str, Any]:
    tenant = db.session.get(Tenant, body.tenant_id)
    if tenant is None:
        raise ApiError(404, "not_found", _("Not found."), {"tenant_id": _("Not found.")})
    record = intake.receive(
        tenant.id,
        intake.InboundContact(
            channel=Channel.API,
            external_id=body.external_id or uuid.uuid4().hex,
            subject=body.subject,
            body=body.body,
            name=body.name,
            email=body.email,
            phone=body.phone,
            category=body.category,
            language=body.language,
            acknowledge=False,
        ),
    )
    jobs.commit()
    return {"inbound_id": record.id, "ticket_id": record.ticket_id}


@endpoint(
    bp,
    "/<int:ticket_id>",
    methods=["GET"],
    summary=_l("One ticket"),
    tag="tickets",
    response=TicketOut,
    roles=STAFF,
)
def get_ticket(ticket_id: int) -> dict[str, Any]:
    return dump(TicketOut, tickets.get_ticket(ticket_id))


@endpoint(
    bp,
    "/<int:ticket_id>",
    methods=["PATCH"],
    summary=_l("Change status, priority, category or assignee"),
    tag="tickets",
    body=TicketPatch,
    response=TicketOut,
    roles=STAFF,
)
def patch_ticket(ticket_id: int, body: TicketPatch) -> dict[str, Any]:
    ticket = tickets.get_ticket(ticket_id)
    if body.status is not None:
        tickets.set_status(ticket, body.status)
    if body.priority is not None and body.priority.value != ticket.priority:
        tickets.record_event(ticket, "priority", old=ticket.priority, new=body.priority.value)
        ticket.priority = body.priority.value
    if body.category is not None and body.category.value != ticket.category:
        tickets.record_event(ticket, "category", old=ticket.category, new=body.category.value)
        ticket.category = body.category.value
    if "assignee_id" in body.model_fields_set:
        tickets.assign(ticket, body.assignee_id)
    db.session.flush()
    return dump(TicketOut, ticket)


@endpoint(
    bp,
    "/<int:ticket_id>/messages",
    methods=["GET"],
    summary=_l("The conversation of a ticket"),
    tag="tickets",
    response=MessageOut,
    roles=STAFF,
)
def list_messages(ticket_id: int) -> dict[str, Any]:
    ticket = tickets.get_ticket(ticket_id)
    return {"data": [dump(MessageOut, m) for m in tickets.messages_of(ticket)], "next_cursor": None}


@endpoint(
    bp,
    "/<int:ticket_id>/messages",
    methods=["POST"],
    summary=_l("Reply in the client's name, or add a note"),
    tag="tickets",
    body=MessageIn,
    response=MessageOut,
    roles=STAFF,
    status=201,
)
def add_message(ticket_id: int, body: MessageIn) -> dict[str, Any]:
    ticket = tickets.get_ticket(ticket_id)
    if ticket.status == Status.CLOSED.value:
        raise Conflict(_("This ticket is closed."))
    message: Message
    if body.kind == "note":
        message = tickets.add_note(ticket, current_user.id, body.body)
    else:
        then = {"resolve": Status.RESOLVED, "pending": Status.PENDING_CUSTOMER}.get(body.then or "")
        message = tickets.reply(ticket, current_user.id, body.body, then=then)
    return dump(MessageOut, message)
