"""A real webhook receiver on loopback, and the escalations the on-call tests page for."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask

from channels import signing
from core.extensions import db
from escalations.models import Escalation, Team
from tickets.models import Ticket


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool


@dataclass
class Receiver:
    """Answers each POST with the next status of `answers` (the last one repeats), and checks
    its signature with the secret the test gives it, as a client's system would."""

    url: str
    secret: str = ""
    answers: list[int] = field(default_factory=lambda: [200])
    requests: list[Received] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def do_POST(self) -> None:  # noqa: N802
        receiver: Receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ok = signing.verify(receiver.secret, self.headers.get(signing.HEADER), body)
        receiver.requests.append(Received(self.path, dict(self.headers.items()), body, ok))
        status = receiver.answers.pop(0) if len(receiver.answers) > 1 else receiver.answers[0]
        reply = b"ok" if status < 300 else b"not today"
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", "/elsewhere")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.receiver = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hook")  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server.receiver  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def loopback_webhooks(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only for tests whose receiver is on loopback: the SSRF guard would refuse it otherwise."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_HTTP", True)


def make_escalation(ticket: Ticket, team: Team, *, urgent: bool = True, summary: str = "") -> Escalation:
    """An escalation as the escalation service records it (until that service has a factory)."""
    escalation = Escalation(
        tenant_id=ticket.tenant_id,
        ticket_id=ticket.id,
        team_id=team.id,
        level=team.level,
        packet={
            "summary": summary or "Printer reports E24 after the firmware update; restarting did not help.",
            "urgency": "production stopped",
        },
        urgent=urgent,
    )
    db.session.add(escalation)
    db.session.flush()
    return escalation
