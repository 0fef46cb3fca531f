"""`POST /billing/stripe/webhook`: Stripe's events, verified with the library, stored once.

The signature (`Stripe-Signature`, HMAC-SHA256 of the timestamp and the raw body under
`STRIPE_WEBHOOK_SECRET`) is checked by `stripe.Webhook.construct_event` with its default
tolerance of 300 seconds, so a request captured and replayed later is refused. Anything that does
not verify is a 400 in the API's error shape and stores nothing. A verified event is always
answered 200 once stored (ignored, duplicate or flagged alike), so that Stripe stops resending it;
only an unexpected error answers 500, and then Stripe's redelivery is the retry. The endpoint is
exempt from CSRF: the signature is its authentication.
"""

from __future__ import annotations

import json
from typing import Any

import stripe
from flask import Blueprint, Response, current_app, jsonify, request
from flask_babel import gettext as _

from billing import stripe_events
from core import audit
from core.api import error_response

bp = Blueprint("stripe_webhook", __name__, template_folder="templates")


def _document(payload: bytes) -> dict[str, Any] | None:
    """The body as an event object, or None (the library itself expects a JSON object)."""
    try:
        document = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(document, dict) or not document.get("id") or not document.get("type"):
        return None
    return document


@bp.post("/billing/stripe/webhook")
def webhook() -> Response:
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        return error_response(404, "not_configured", _("Stripe is not configured."))
    payload = request.get_data(cache=False)
    header = request.headers.get("Stripe-Signature")
    document = _document(payload)
    try:
        if document is None:  # the signature is still checked first: junk from strangers says nothing
            stripe.WebhookSignature.verify_header(payload, header, secret, stripe.Webhook.DEFAULT_TOLERANCE)
        else:
            stripe.Webhook.construct_event(payload, header, secret)
    except stripe.SignatureVerificationError:
        return error_response(400, "invalid_signature", _("The signature is missing, wrong or too old."))
    except ValueError:  # not UTF-8
        document = None
    if document is None:
        return error_response(400, "invalid_payload", _("The request body is not a Stripe event."))
    with audit.acting_as(audit.Actor(None, "stripe", request.remote_addr)):
        received = stripe_events.receive(document)
    return jsonify({"received": True, "duplicate": received.duplicate, "status": received.event.status})
