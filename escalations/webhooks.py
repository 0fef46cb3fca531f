"""Webhooks to a team's own system: what happened to an escalation, signed, retried, logged.

`send` records a `WebhookDelivery` (the log the client reads) and an outbox row in the caller's
transaction, so a rolled-back escalation tells nobody and a committed one is told for certain.
The outbox job POSTs the JSON document `{"event", "id", "created_at", "data"}` with the header
`X-Firstline-Signature: t=<unix seconds>,v1=<hex>` of `channels.signing` (the scheme our inbound
webhooks use, so a client verifies ours the way it signs theirs), signed afresh on each attempt
so that a retry hours later is still within the receiver's replay tolerance. The event `id` stays
the same across retries: receivers deduplicate on it.

A delivery connects only to addresses `escalations.ssrf` checked a moment before, follows no
redirects, and waits `WEBHOOK_TIMEOUT` seconds at most. Anything but a 2xx answer raises, so the
outbox retries with its backoff, and after `OUTBOX_MAX_ATTEMPTS` the delivery is dead.
"""

from __future__ import annotations

import http.client
import json
import secrets
import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from channels import signing
from core import audit, outbox
from core.errors import Conflict, NotFound, ValidationFailed
from core.extensions import db
from core.models_base import utcnow
from core.outbox import OutboxMessage
from escalations import ssrf
from escalations.models import DeliveryStatus, Team, WebhookDelivery

EVENTS = (
    "escalation.created",
    "escalation.acknowledged",
    "escalation.resolved",
    "escalation.returned",
    "escalation.forwarded",
    "escalation.paged",
    "ping",
)
USER_AGENT = "Firstline-Webhooks/1.0"
RESPONSE_EXCERPT_BYTES = 1024
ERROR_MAX = 500


class DeliveryFailed(Exception):
    """The receiver answered, but not with a 2xx."""


def send(
    team: Team, event: str, payload: dict[str, Any], *, escalation_id: int | None = None
) -> WebhookDelivery | None:
    """Tell the team's system about `event`, after the current transaction commits.

    None when the team has no webhook (or is inactive): there is nobody to tell."""
    if not team.webhook_url or not team.active:
        return None
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    delivery = WebhookDelivery(
        tenant_id=team.tenant_id,
        team_id=team.id,
        escalation_id=escalation_id,
        event=event,
        url=team.webhook_url,
        status=DeliveryStatus.PENDING.value,
        attempts=0,
    )
    db.session.add(delivery)
    db.session.flush()
    document = {
        "event": event,
        "id": f"evt_{secrets.token_hex(12)}",
        "created_at": _iso(utcnow()),
        "data": json.loads(json.dumps(payload, default=_jsonable)),
    }
    message = outbox.add("webhook", {"delivery_id": delivery.id, "body": document}, tenant_id=team.tenant_id)
    delivery.outbox_id = message.id
    return delivery


def deliveries(team: Team, limit: int = 100) -> list[WebhookDelivery]:
    """The team's delivery log, newest first."""
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.team_id == team.id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def retry(delivery_id: int) -> WebhookDelivery:
    """Platform health's retry button: a dead delivery gets a fresh round of attempts, a failed
    one waiting for its next attempt is tried now. Same event id, so receivers deduplicate."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFound()
    retryable = (DeliveryStatus.FAILED.value, DeliveryStatus.DEAD.value)
    if delivery.status not in retryable or delivery.outbox_id is None:
        raise Conflict(_("Only a failed delivery can be retried."))
    outbox.retry(delivery.outbox_id)
    delivery.status = DeliveryStatus.PENDING.value
    audit.record("webhook.retried", tenant_id=delivery.tenant_id, target=delivery)
    return delivery


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _jsonable(value: object) -> object:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# --- delivery ---------------------------------------------------------------------------------


@outbox.handler("webhook")
def _deliver(row: OutboxMessage) -> None:
    delivery = db.session.get(WebhookDelivery, row.payload["delivery_id"])
    if delivery is None:  # its team was deleted, and the log with it
        return
    team = db.session.get(Team, delivery.team_id)
    delivery.attempts += 1
    delivery.last_attempt_at = utcnow()
    delivery.response_status = None
    try:
        if team is None or not team.webhook_url or not team.active:
            raise DeliveryFailed("the team has no webhook any more")
        body = json.dumps(row.payload["body"], separators=(",", ":"), ensure_ascii=False).encode()
        answer = post(delivery.url, body, team.webhook_secret, event=delivery.event, delivery_id=delivery.id)
        delivery.response_status = answer.status
        if not 200 <= answer.status < 300:
            detail = f"HTTP {answer.status}"
            if 300 <= answer.status < 400:
                detail += " (redirects are not followed)"
            raise DeliveryFailed(f"{detail}: {answer.excerpt}" if answer.excerpt else detail)
    except Exception as exc:
        last = row.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]
        delivery.status = (DeliveryStatus.DEAD if last else DeliveryStatus.FAILED).value
        delivery.error = _describe(exc)[:ERROR_MAX]
        if isinstance(exc, ValidationFailed):  # the address was refused: say why in the outbox too
            raise DeliveryFailed(delivery.error) from exc
        raise
    delivery.status = DeliveryStatus.DELIVERED.value
    delivery.delivered_at = utcnow()
    delivery.error = None


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationFailed):
        return str(exc.fields.get(ssrf.FIELD, exc.message))
    if isinstance(exc, DeliveryFailed):
        return str(exc)
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"timed out after {current_app.config['WEBHOOK_TIMEOUT']:g} s"
    return f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class Answer:
    status: int
    excerpt: str


def post(url: str, body: bytes, secret: str, *, event: str, delivery_id: int) -> Answer:
    """One signed POST to an address checked just now; no redirects, a short timeout."""
    target = ssrf.resolve(url)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Connection": "close",
        signing.HEADER: signing.sign(secret, body),
        "X-Firstline-Event": event,
        "X-Firstline-Delivery": str(delivery_id),
    }
    timeout = float(current_app.config["WEBHOOK_TIMEOUT"])
    error: OSError | None = None
    for address in target.addresses:
        connection = _connection(target, address, timeout)
        try:
            connection.connect()
        except OSError as exc:  # try the host's next address
            error = exc
            connection.close()
            continue
        try:
            connection.request("POST", target.path, body=body, headers=headers)
            response = connection.getresponse()
            excerpt = response.read(RESPONSE_EXCERPT_BYTES).decode("utf-8", "replace").strip()
            return Answer(response.status, " ".join(excerpt.split())[:200])
        finally:
            connection.close()
    raise error or OSError(f"no address for {target.host}")


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address, whatever the host name resolves to by now."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The same over TLS: the certificate is checked against the host name, not the address."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def _connection(target: ssrf.Target, address: str, timeout: float) -> http.client.HTTPConnection:
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    return cls(target.host, target.port, address=address, timeout=timeout)
