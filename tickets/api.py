"""Tickets over the JSON API (provider staff; the client portal API comes with escalations)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal, TypeVar

from flask import Blueprint, current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlalchemy import select

from agents import bulk, routing
from core import jobs, tenancy
from core.api import ApiError, Schema, cursor_id, dump, endpoint, page, page_params
from core.auth.roles import PROVIDER_ROLES
from core.errors import Conflict, NotFound, ServiceError, ValidationFailed
from core.extensions import db
from tenants.models import Tenant
from tickets import intake, satisfaction, timetrack
from tickets import services as tickets
from tickets.models import (
    Category,
    Channel,
    Message,
    Priority,
    SatisfactionSurvey,
    Status,
    Ticket,
    TimeEntry,
)

bp = Blueprint("tickets_api", __name__, url_prefix="/api/v1/tickets")
STAFF = tuple(PROVIDER_ROLES)
T = TypeVar("T")


@contextmanager
def fields_renamed(**renames: str) -> Iterator[None]:
    """Services name the fields of the HTML forms; the API answers with the names of its body."""
    try:
        yield
    except ServiceError as exc:
        exc.fields = {renames.get(name, name): message for name, message in exc.fields.items()}
        raise


def found(lookup: Callable[[int], T], value: int, field: str) -> T:
    """An id given in the body that is not found (or not in the caller's scope): 404 naming it."""
    try:
        return lookup(value)
    except NotFound:
        raise ApiError(404, "not_found", _("Not found."), {field: _("Not found.")}) from None


def tenant_in_scope(tenant_id: int) -> Tenant:
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        raise ApiError(404, "not_found", _("Not found."), {"tenant_id": _("Not found.")})
    return tenant


def tenant_id_in_scope(tenant_id: int) -> int:
    """`tenant_in_scope` without a query where the scope alone answers: a scoped actor's tenants
    exist (assignments reference them), so only provider admins need the row looked up."""
    scope = tenancy.require()
    if scope.all_tenants:
        return tenant_in_scope(tenant_id).id
    if not scope.allows(tenant_id):
        raise ApiError(404, "not_found", _("Not found."), {"tenant_id": _("Not found.")})
    return tenant_id


def tenant_filter() -> int | None:
    """The optional `?tenant_id=` of a listing (the scope still decides what is visible)."""
    raw = request.args.get("tenant_id", "")
    if not raw:
        return None
    if not raw.isdigit():
        raise ApiError(
            400, "invalid_filter", _("Invalid value."), {"tenant_id": _("Must be a whole number.")}
        )
    return int(raw)


def listed(items: list[Any], serialize: Callable[[Any], Mapping[str, Any]]) -> dict[str, Any]:
    """A complete (unpaginated) list in the same envelope as a page."""
    return {"data": [serialize(item) for item in items], "next_cursor": None}


class SatisfactionOut(BaseModel):
    rating: int = Field(ge=1, le=5, description="1 = very dissatisfied ... 5 = very satisfied")
    comment: str | None
    answered_at: datetime


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
    organization_id: int | None
    parent_id: int | None
    merged_into_id: int | None
    tags: list[str]
    time_spent_seconds: int
    first_contact_resolution: bool
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    team_id: int | None
    first_response_due_at: datetime | None
    next_response_due_at: datetime | None
    resolution_due_at: datetime | None
    due_at: datetime | None
    sla_paused_at: datetime | None
    satisfaction: SatisfactionOut | None = Field(
        default=None, description="The customer's answer to the satisfaction survey; null until answered."
    )


def ticket_out(ticket: Ticket, survey: SatisfactionSurvey | None = None) -> dict[str, Any]:
    """A ticket as the API shows it, with the customer's rating once they answered."""
    out = TicketOut.model_validate(ticket, from_attributes=True)
    if survey is not None and survey.answered_at is not None:
        out.satisfaction = SatisfactionOut.model_validate(survey, from_attributes=True)
    return out.model_dump(mode="json")


def tickets_out(rows: list[Ticket]) -> Callable[[Ticket], dict[str, Any]]:
    """`ticket_out` for a page of tickets, their surveys read in one query."""
    answered = satisfaction.answered_of(rows)
    return lambda ticket: ticket_out(ticket, answered.get(ticket.id))


def one_ticket_out(ticket: Ticket) -> dict[str, Any]:
    return ticket_out(ticket, satisfaction.survey_of(ticket))


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
    tags: list[str] | None = Field(default=None, max_length=100)
    parent_id: int | None = None


class TimeEntryOut(BaseModel):
    id: int
    ticket_id: int
    user_id: int | None
    source: str
    started_at: datetime
    seconds: int | None
    note: str
    created_at: datetime


class TimeIn(Schema):
    seconds: int = Field(ge=1, le=int(timetrack.MAX_ENTRY.total_seconds()))
    note: str = Field(default="", max_length=300)


class TimerIn(Schema):
    action: Literal["start", "stop"]
    note: str = Field(default="", max_length=300, description="Kept with the time booked on stop.")


class BulkIn(Schema):
    ticket_ids: list[int] = Field(min_length=1, max_length=500)
    action: bulk.BulkAction
    value: str = Field(default="", max_length=1000)


class BulkOut(BaseModel):
    done: list[int]
    failed: dict[int, str]
    merged_into: int | None


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
    tenant_id = tenant_filter()
    if tenant_id is not None:
        query = query.where(Ticket.tenant_id == tenant_id)
    rows = list(db.session.scalars(query))
    return page(rows, limit, lambda t: {"id": t.id}, tickets_out(rows[:limit]))


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
    tenant_id = tenant_id_in_scope(body.tenant_id)
    record = intake.receive(
        tenant_id,
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
    # Read before the commit expires them: with a queue the answer needs no second transaction.
    received = {"inbound_id": record.id, "ticket_id": record.ticket_id}
    jobs.commit()
    if received["ticket_id"] is None and current_app.config["JOBS_INLINE"]:
        received["ticket_id"] = intake.ticket_of(received["inbound_id"])
    return received


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
    return one_ticket_out(tickets.get_ticket(ticket_id))


@endpoint(
    bp,
    "/<int:ticket_id>",
    methods=["PATCH"],
    summary=_l("Change status, priority, category, assignee, tags or parent ticket"),
    tag="tickets",
    body=TicketPatch,
    response=TicketOut,
    roles=STAFF,
)
def patch_ticket(ticket_id: int, body: TicketPatch) -> dict[str, Any]:
    ticket = tickets.get_ticket(ticket_id)
    if body.status is not None:
        tickets.set_status(ticket, body.status)
    if body.priority is not None:
        tickets.set_priority(ticket, body.priority)
    if body.category is not None:
        tickets.set_category(ticket, body.category)
    if "assignee_id" in body.model_fields_set:
        if body.assignee_id is not None and not routing.serves(ticket.tenant_id, body.assignee_id):
            raise ValidationFailed(fields={"assignee_id": _("This person does not serve this client.")})
        tickets.assign(ticket, body.assignee_id)
    if "tags" in body.model_fields_set:
        tickets.set_tags(ticket, tickets.clean_tags(body.tags or []))
    if "parent_id" in body.model_fields_set:
        parent = None if body.parent_id is None else found(tickets.get_ticket, body.parent_id, "parent_id")
        try:
            with fields_renamed(parent="parent_id"):
                tickets.link_parent(ticket, parent)
        except NotFound:
            # A parent of another client the caller also serves is as unknown as a foreign one.
            raise ApiError(404, "not_found", _("Not found."), {"parent_id": _("Not found.")}) from None
    db.session.flush()
    return one_ticket_out(ticket)


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


@endpoint(
    bp,
    "/<int:ticket_id>/time",
    methods=["GET"],
    summary=_l("Time spent on a ticket: booked entries and running timers"),
    tag="time",
    response=TimeEntryOut,
    roles=STAFF,
)
def list_time(ticket_id: int) -> dict[str, Any]:
    ticket = tickets.get_ticket(ticket_id)
    return listed(timetrack.entries_of(ticket), lambda e: dump(TimeEntryOut, e))


@endpoint(
    bp,
    "/<int:ticket_id>/time",
    methods=["POST"],
    summary=_l("Book time spent on a ticket by hand"),
    tag="time",
    body=TimeIn,
    response=TimeEntryOut,
    roles=STAFF,
    status=201,
)
def add_time(ticket_id: int, body: TimeIn) -> dict[str, Any]:
    ticket = tickets.get_ticket(ticket_id)
    with fields_renamed(duration="seconds"):
        entry = timetrack.add(ticket, current_user.id, body.seconds, note=body.note)
    return dump(TimeEntryOut, entry)


@endpoint(
    bp,
    "/<int:ticket_id>/timer",
    methods=["POST"],
    summary=_l("Start or stop your timer on a ticket"),
    tag="time",
    body=TimerIn,
    response=TimeEntryOut,
    roles=STAFF,
)
def timer(ticket_id: int, body: TimerIn) -> dict[str, Any]:
    ticket = tickets.get_ticket(ticket_id)
    entry: TimeEntry
    if body.action == "start":
        entry = timetrack.start_timer(ticket, current_user.id)
    else:
        entry = timetrack.stop_timer(ticket, current_user.id, note=body.note)
    return dump(TimeEntryOut, entry)


@endpoint(
    bp,
    "/bulk",
    methods=["POST"],
    summary=_l("Assign, change the status of, tag or merge many tickets at once"),
    tag="tickets",
    body=BulkIn,
    response=BulkOut,
    roles=STAFF,
)
def bulk_action(body: BulkIn) -> dict[str, Any]:
    with fields_renamed(tickets="ticket_ids", tags="value"):
        result = bulk.apply(body.ticket_ids, body.action, body.value)
    return dump(BulkOut, result)
