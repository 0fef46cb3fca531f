"""Phone calls over the JSON API: what the telephony system reported, and call logs on tickets."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask import Blueprint, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlalchemy import select

from core.api import ApiError, Schema, cursor_id, dump, endpoint, page, page_params
from core.errors import Conflict, NotFound
from core.extensions import db
from tickets import calls
from tickets import services as tickets
from tickets.api import STAFF, MessageOut, fields_renamed, tenant_filter
from tickets.models import Call, CallStatus, Status

bp = Blueprint("calls_api", __name__, url_prefix="/api/v1")


class CallOut(BaseModel):
    id: int
    tenant_id: int
    external_id: str
    caller: str
    dialled: str
    direction: str
    status: str
    contact_id: int | None
    agent_id: int | None
    ticket_id: int | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    duration_seconds: int | None


class CallLogIn(Schema):
    caller: str = Field(min_length=1, max_length=40)
    dialled: str = Field(min_length=1, max_length=40)
    direction: Literal["inbound", "outbound"] = "inbound"
    duration_seconds: int = Field(ge=0, le=int(calls.MAX_CALL.total_seconds()))
    outcome: calls.Outcome
    notes: str = Field(default="", max_length=50000)


class CallLogOut(MessageOut):
    """The call-log message; `data` holds caller, dialled, direction, duration_seconds, outcome."""

    data: dict[str, Any]


@endpoint(
    bp,
    "/calls",
    methods=["GET"],
    summary=_l("Phone calls of the clients you serve, newest first"),
    tag="calls",
    response=CallOut,
    roles=STAFF,
    paginated=True,
    query={"status": "ringing, answered or ended", "tenant_id": "one client"},
)
def list_calls() -> dict[str, Any]:
    limit, cursor = page_params()
    query = select(Call).order_by(Call.id.desc()).limit(limit + 1)
    before = cursor_id(cursor)
    if before is not None:
        query = query.where(Call.id < before)
    status = request.args.get("status")
    if status:
        if status not in {s.value for s in CallStatus}:
            raise ApiError(400, "invalid_filter", _("Invalid value."), {"status": _("Invalid value.")})
        query = query.where(Call.status == status)
    tenant_id = tenant_filter()
    if tenant_id is not None:
        query = query.where(Call.tenant_id == tenant_id)
    return page(list(db.session.scalars(query)), limit, lambda c: {"id": c.id}, lambda c: dump(CallOut, c))


@endpoint(
    bp,
    "/calls/<int:call_id>",
    methods=["GET"],
    summary=_l("One phone call"),
    tag="calls",
    response=CallOut,
    roles=STAFF,
)
def get_call(call_id: int) -> dict[str, Any]:
    call = db.session.get(Call, call_id)
    if call is None:
        raise NotFound(_("Not found."))
    return dump(CallOut, call)


@endpoint(
    bp,
    "/tickets/<int:ticket_id>/calls",
    methods=["POST"],
    summary=_l("Log a phone call on a ticket (its duration is booked as time spent)"),
    tag="calls",
    body=CallLogIn,
    response=CallLogOut,
    roles=STAFF,
    status=201,
)
def log_call(ticket_id: int, body: CallLogIn) -> dict[str, Any]:
    ticket = tickets.get_ticket(ticket_id)
    if ticket.status == Status.CLOSED.value:
        raise Conflict(_("This ticket is closed."))
    log = calls.CallLog(
        caller=body.caller,
        dialled=body.dialled,
        direction=body.direction,
        duration_seconds=body.duration_seconds,
        outcome=body.outcome,
        notes=body.notes,
    )
    with fields_renamed(duration="duration_seconds"):
        message = calls.log_call(ticket, current_user.id, log)
    return dump(CallLogOut, message)
