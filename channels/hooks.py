"""Webhooks of the telephony system and the fax gateway.

The dialled number tells which tenant a call or fax is for; that tenant's secret must have signed
the request (see `channels/signing.py`). Unknown numbers are 404, bad signatures 401.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from flask import Blueprint, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, Field

from channels import signing
from core import jobs
from core.api import ApiError, Schema, endpoint
from core.boundary import enter_tenant
from core.errors import ValidationFailed
from core.extensions import db
from tenants import services as tenants
from tenants.models import ChannelKind, Tenant
from tickets import attachments, calls, contacts, intake
from tickets.models import Channel

bp = Blueprint("hooks", __name__, url_prefix="/api/v1/hooks")


class TelephonyIn(Schema):
    event: Literal["call.ringing", "call.answered", "call.ended"]
    call_id: str = Field(min_length=1, max_length=200)
    caller: str = Field(alias="from", min_length=3, max_length=40)
    dialled: str = Field(alias="to", min_length=3, max_length=40)
    direction: Literal["inbound", "outbound"] = "inbound"
    agent_email: str | None = Field(default=None, max_length=254)
    duration_seconds: int | None = Field(default=None, ge=0, le=43200)


class CallOut(BaseModel):
    call_id: int
    status: str
    contact_id: int | None


class FaxOut(BaseModel):
    inbound_id: int
    ticket_id: int | None


def _tenant_for(number: str, kind: ChannelKind) -> Tenant:
    """The tenant that owns the dialled number, once the request proves it knows its secret."""
    try:
        normalized = contacts.normalize_phone(number)
    except ValidationFailed as exc:
        raise ApiError(
            422, "validation_failed", _("Some fields are not valid."), {"to": exc.fields["phone"]}
        ) from None
    tenant_id = tenants.channel_owner(kind, normalized)
    if tenant_id is None:
        raise ApiError(404, "unknown_number", _("No client uses this number."), {"to": _("Not found.")})
    enter_tenant(tenant_id)
    tenant = db.session.get_one(Tenant, tenant_id)
    if not signing.verify(
        tenant.webhook_secret, request.headers.get(signing.HEADER), request.get_data(cache=True)
    ):
        raise ApiError(401, "invalid_signature", _("The signature is missing, wrong or too old."))
    return tenant


@endpoint(
    bp,
    "/telephony",
    methods=["POST"],
    summary=_l("Telephony events: ringing, answered, ended"),
    tag="hooks",
    body=TelephonyIn,
    response=CallOut,
    auth=False,
)
def telephony(body: TelephonyIn) -> dict[str, Any]:
    tenant = _tenant_for(body.dialled, ChannelKind.PHONE)
    try:
        call = calls.apply_event(
            tenant.id,
            calls.CallEvent(
                event=body.event,
                call_id=body.call_id,
                caller=body.caller,
                dialled=body.dialled,
                direction=body.direction,
                agent_email=body.agent_email,
                duration_seconds=body.duration_seconds,
            ),
        )
    except ValidationFailed as exc:
        raise ApiError(
            422, "validation_failed", _("Some fields are not valid."), {"from": exc.fields["phone"]}
        ) from None
    return {"call_id": call.id, "status": call.status, "contact_id": call.contact_id}


@endpoint(
    bp,
    "/fax",
    methods=["POST"],
    summary=_l("A received fax (multipart: file, from, to, id)"),
    tag="hooks",
    response=FaxOut,
    auth=False,
    status=202,
)
def fax() -> dict[str, Any]:
    request.get_data(cache=True)  # the signature covers the raw body: read it before the form
    tenant = _tenant_for(request.form.get("to", ""), ChannelKind.FAX)
    document = request.files.get("file")
    if document is None or not document.filename:
        raise ApiError(
            422, "validation_failed", _("Some fields are not valid."), {"file": _("This field is required.")}
        )
    upload = attachments.Upload(document.filename, document.mimetype or "application/pdf", document.read())
    try:
        sender = contacts.normalize_phone(request.form.get("from", ""))
        attachments.check([upload])
    except ValidationFailed as exc:
        raise ApiError(422, "validation_failed", _("Some fields are not valid."), exc.fields) from None
    stored = attachments.store(tenant.id, upload)
    db.session.flush()
    with force_locale(tenant.default_language):  # the ticket's text is the client's, not the gateway's
        subject = _("Fax from %(number)s", number=sender)
        text = _("Fax received; see the attached document.")
    record = intake.receive(
        tenant.id,
        intake.InboundContact(
            channel=Channel.FAX,
            external_id=request.form.get("id") or uuid.uuid4().hex,
            subject=subject,
            body=text,
            phone=sender,
            language=tenant.default_language,
            acknowledge=False,
            attachment_ids=[stored.id],
        ),
    )
    jobs.commit()
    return {"inbound_id": record.id, "ticket_id": record.ticket_id}
