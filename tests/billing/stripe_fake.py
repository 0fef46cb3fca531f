"""A small stand-in for Stripe's API on loopback: just the endpoints the push uses.

It answers with Stripe-shaped JSON, records every request with its `Idempotency-Key`, and, as
Stripe does, answers a repeated key with the response it gave the first time (and refuses the
same key with other parameters). It can be started late (Stripe down, then up) and told to act
but lose its answer (`drop_after`), which is how a push that crashed half-way looks.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
import stripe
from flask import Flask
from flask.testing import FlaskClient

from billing import invoices
from billing.models import Invoice, InvoiceLine
from core.extensions import db
from tenants.models import Tenant
from tests.conftest import free_port

SECRET_KEY = "sk_test_firstline_fake"


@dataclass
class Call:
    method: str
    path: str
    idempotency_key: str | None
    params: dict[str, str]
    replayed: bool


@dataclass
class FakeStripe:
    port: int
    calls: list[Call] = field(default_factory=list)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    # parts of paths whose next request is carried out but answered by a dropped connection
    drop_after: list[str] = field(default_factory=list)
    _answers: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        server.fake = self  # type: ignore[attr-defined]
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        thread.start()
        self._server = server

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def keys(self) -> list[str | None]:
        return [call.idempotency_key for call in self.calls]

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):05d}"

    # --- the API ------------------------------------------------------------------------------

    def handle(self, method: str, path: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["v1", "customers"]:
            return 200, self._customer(params)
        if method == "POST" and parts == ["v1", "invoices"]:
            return self._invoice(params)
        if method == "POST" and parts == ["v1", "invoiceitems"]:
            return self._item(params)
        if (
            method == "POST"
            and len(parts) == 4
            and parts[:2] == ["v1", "invoices"]
            and parts[3] == "finalize"
        ):
            return self._finalize(parts[2])
        if (
            method == "GET"
            and len(parts) == 3
            and parts[:2] == ["v1", "invoices"]
            and parts[2] in self.invoices
        ):
            return 200, self.invoices[parts[2]]
        return 404, _error("invalid_request_error", f"Unrecognized request URL ({method}: {path})")

    def _customer(self, params: dict[str, str]) -> dict[str, Any]:
        customer = {
            "id": self.new_id("cus"),
            "object": "customer",
            "name": params.get("name"),
            "email": params.get("email"),
            "preferred_locales": [v for k, v in params.items() if k.startswith("preferred_locales[")],
            "metadata": _nested(params, "metadata"),
            "livemode": False,
        }
        self.customers[customer["id"]] = customer
        return customer

    def _invoice(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if params.get("customer") not in self.customers:
            return 400, _error("invalid_request_error", "No such customer", param="customer")
        invoice = {
            "id": self.new_id("in"),
            "object": "invoice",
            "customer": params["customer"],
            "currency": params.get("currency"),
            "status": "draft",
            "number": None,
            "auto_advance": params.get("auto_advance") == "true",
            "collection_method": params.get("collection_method"),
            "description": params.get("description"),
            "metadata": _nested(params, "metadata"),
            "total": 0,
            "lines": {"object": "list", "data": []},
            "hosted_invoice_url": None,
            "livemode": False,
        }
        self.invoices[invoice["id"]] = invoice
        return 200, invoice

    def _item(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        invoice = self.invoices.get(params.get("invoice", ""))
        if invoice is None or invoice["status"] != "draft":
            return 400, _error("invalid_request_error", "The invoice is not a draft", param="invoice")
        item = {
            "id": self.new_id("ii"),
            "object": "invoiceitem",
            "customer": params.get("customer"),
            "invoice": invoice["id"],
            "amount": int(params["amount"]),
            "currency": params.get("currency"),
            "description": params.get("description"),
            "metadata": _nested(params, "metadata"),
        }
        self.items[item["id"]] = item
        invoice["lines"]["data"].append({"id": item["id"], "amount": item["amount"]})
        invoice["total"] += item["amount"]
        return 200, item

    def _finalize(self, invoice_id: str) -> tuple[int, dict[str, Any]]:
        invoice = self.invoices.get(invoice_id)
        if invoice is None:
            return 404, _error("invalid_request_error", "No such invoice")
        if invoice["status"] != "draft":
            return 400, _error("invalid_request_error", "This invoice is already finalized")
        invoice["status"] = "open"
        invoice["number"] = f"FAKE-{len([i for i in self.invoices.values() if i['number']]) + 1:04d}"
        invoice["hosted_invoice_url"] = f"{self.url}/i/{invoice_id}"
        return 200, invoice

    def answer(self, method: str, path: str, key: str | None, raw: str) -> tuple[int, dict[str, Any], bool]:
        """Replays a known key; otherwise acts and remembers the answer under the key."""
        params = dict(parse_qsl(raw, keep_blank_values=True))
        with self._lock:
            if key is not None and key in self._answers:
                first_raw, status, body = self._answers[key]
                replayed = True
                if first_raw != raw:
                    status, body = (
                        400,
                        _error(
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same parameters "
                            "they were first used with.",
                        ),
                    )
            else:
                replayed = False
                status, body = self.handle(method, path, params)
                if key is not None and method == "POST":
                    self._answers[key] = (raw, status, json.loads(json.dumps(body)))
            self.calls.append(Call(method, path, key, params, replayed))
            return status, body, replayed


def _nested(params: dict[str, str], name: str) -> dict[str, str]:
    prefix = f"{name}["
    return {k[len(prefix) : -1]: v for k, v in params.items() if k.startswith(prefix) and k.endswith("]")}


def _error(kind: str, message: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message, **({"param": param} if param else {})}}


class _Handler(BaseHTTPRequestHandler):
    server: Any
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        fake: FakeStripe = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        if self.headers.get("Authorization") != f"Bearer {SECRET_KEY}":
            self._send(401, _error("invalid_request_error", "Invalid API Key provided"), False)
            return
        path = self.path.split("?", 1)[0]
        status, body, replayed = fake.answer(self.command, path, self.headers.get("Idempotency-Key"), raw)
        drop = next((part for part in fake.drop_after if part in path), None)
        if drop is not None and not replayed:
            fake.drop_after.remove(drop)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)  # acted, but the caller never hears of it
            return
        self._send(status, body, replayed)

    def _send(self, status: int, body: dict[str, Any], replayed: bool) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", "req_fake")
        if replayed:
            self.send_header("Idempotent-Replayed", "true")
        self.end_headers()
        self.wfile.write(data)

    do_POST = _serve  # noqa: N815
    do_GET = _serve  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


# --- fixtures and helpers the Stripe and dunning tests share ------------------------------------

WEBHOOK_SECRET = "whsec_firstline_test"  # noqa: S105


@pytest.fixture(name="fake_stripe")
def _fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe(port=free_port())
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(name="stripe_on")
def _stripe_on(app: Flask, fake_stripe: FakeStripe, monkeypatch: pytest.MonkeyPatch) -> FakeStripe:
    """The app configured for Stripe, its API at the fake."""
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", SECRET_KEY)
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", fake_stripe.url)
    monkeypatch.setitem(app.config, "STRIPE_TIMEOUT", 3.0)
    return fake_stripe


_numbers = itertools.count(1)


def make_invoice(
    tenant: Tenant,
    amounts: tuple[int, ...] = (12000, 3450),
    *,
    vat_rate_bp: int = 810,
    finalize: bool = True,
) -> Invoice:
    """A month's invoice as the invoice run would leave it (lines in minor units), finalized."""
    subtotal = sum(amounts)
    vat = round(subtotal * vat_rate_bp / 10000)
    number = next(_numbers)
    invoice = Invoice(
        tenant_id=tenant.id,
        number=f"{tenant.ticket_prefix}-2026-{number:03d}",
        period_start=date(2026, number % 12 + 1, 1),
        period_end=date(2026 + (number % 12 + 1) // 12, (number % 12 + 1) % 12 + 1, 1),
        currency=tenant.currency,
        locale=tenant.default_language,
        vat_rate_bp=vat_rate_bp,
        subtotal=subtotal,
        vat_amount=vat,
        total=subtotal + vat,
    )
    db.session.add(invoice)
    db.session.flush()
    for position, amount in enumerate(amounts):
        db.session.add(
            InvoiceLine(
                tenant_id=tenant.id,
                invoice_id=invoice.id,
                position=position,
                kind="contacts" if position == 0 else "call_minutes",
                quantity=Decimal(1),
                unit="month",
                unit_price=amount,
                amount=amount,
                data={"label": f"Line {position + 1}"},
            )
        )
    db.session.flush()
    if finalize:
        invoices.finalize(invoice)
    return invoice


def event(kind: str, obj: dict[str, Any], *, created: int | None = None, event_id: str | None = None) -> str:
    """A Stripe event document, as the body Stripe posts."""
    return json.dumps(
        {
            "id": event_id or f"evt_test_{next(_numbers):06d}",
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": created if created is not None else int(time.time()),
            "livemode": False,
            "type": kind,
            "data": {"object": obj},
        }
    )


def signature(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header, made by the library's own helper."""
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)


def post_event(client: FlaskClient, payload: str, header: str | None = "sign") -> Any:
    headers = {"Content-Type": "application/json"}
    if header == "sign":
        headers["Stripe-Signature"] = signature(payload)
    elif header is not None:
        headers["Stripe-Signature"] = header
    return client.post("/billing/stripe/webhook", data=payload, headers=headers)
