"""Raw RFC 822 mail from an MTA pipe: `POST /api/v1/inbound/email`.

For mail servers that deliver to a program (Postfix `pipe`, Exim `pipe_transport`, procmail)
rather than over SMTP. The MTA authenticates with `MAIL_INGEST_TOKEN` in the `X-Ingest-Token`
header and passes the envelope recipients as `?recipient=` (repeatable); without them the
addresses in the header block decide. Unknown recipients are refused (404), like at RCPT.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel

from channels import mail_inbound
from core.api import ApiError, Schema, endpoint

bp = Blueprint("mail_api", __name__, url_prefix="/api/v1/inbound")
TOKEN_HEADER = "X-Ingest-Token"  # noqa: S105 (a header name, not a secret)


class DeliveryOut(Schema):
    tenant_id: int
    inbound_id: int


class MailAccepted(BaseModel):
    deliveries: list[DeliveryOut]


@endpoint(
    bp,
    "/email",
    methods=["POST"],
    summary=_l("A raw e-mail (message/rfc822 body) from an MTA pipe; X-Ingest-Token header"),
    tag="hooks",
    response=MailAccepted,
    auth=False,
    status=202,
    query={"recipient": "envelope recipient; repeatable"},
)
def inbound_email() -> dict[str, Any]:
    expected = current_app.config["MAIL_INGEST_TOKEN"]
    given = request.headers.get(TOKEN_HEADER, "")
    if not expected:
        raise ApiError(404, "not_found", _("Not found."))
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(401, "invalid_token", _("The ingest token is not valid."))
    limit = current_app.config["MAIL_MAX_BYTES"]
    if (request.content_length or 0) > limit:
        raise ApiError(
            413, "too_large", _("The message is larger than %(size)d MB.", size=limit // (1024 * 1024))
        )
    request.max_content_length = limit  # mail may be larger than the forms' MAX_CONTENT_LENGTH
    raw = request.get_data(cache=False)
    if not raw.strip():
        raise ApiError(
            422, "validation_failed", _("Some fields are not valid."), {"body": _("The message is empty.")}
        )
    try:
        deliveries = mail_inbound.receive_raw(raw, request.args.getlist("recipient"), source="pipe")
    except mail_inbound.UnknownRecipient:
        raise ApiError(
            404, "unknown_recipient", _("No client has this address."), {"recipient": _("Not found.")}
        ) from None
    return {"deliveries": [{"tenant_id": d.tenant_id, "inbound_id": d.record_id} for d in deliveries]}
