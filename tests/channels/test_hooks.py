"""Signed telephony and fax webhooks, and the agent's screen pop."""

from __future__ import annotations

import io
import json
import time

from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import EnvironBuilder

from channels import signing
from core import tenancy
from core.extensions import db
from tests.conftest import csrf_token, sign_in
from tests.factories import ALPHA_FAX, ALPHA_PHONE, BETA_PHONE, World
from tickets.models import Attachment, Call, Contact, Ticket


def _post(
    client: FlaskClient,
    world: World,
    payload: dict,
    *,
    secret: str | None = None,
    timestamp: int | None = None,
):
    body = json.dumps(payload).encode()
    header = signing.sign(secret if secret is not None else world.alpha.webhook_secret, body, timestamp)
    return client.post(
        "/api/v1/hooks/telephony",
        data=body,
        content_type="application/json",
        headers={signing.HEADER: header},
    )


def _event(event: str = "call.ringing", **extra: object) -> dict:
    return {"event": event, "call_id": "c-1", "from": "+41 79 555 12 12", "to": ALPHA_PHONE, **extra}


def test_ringing_call_pops_up_for_the_clients_agents_with_the_caller(
    client: FlaskClient, world: World
) -> None:
    with tenancy.only(world.alpha.id):
        contact = db.session.scalars(select(Contact)).first()
        contact.phone = "+41795551212"
        db.session.commit()
    response = _post(client, world, _event())
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["contact_id"] == contact.id
    sign_in(client, "agent.alpha@provider.example")
    page = client.get("/agent/calls").get_data(as_text=True)
    assert "+41795551212" in page
    assert f"ALPHA-{world.alpha_ticket.number}" in page  # the caller's open ticket
    assert "+33611223344" not in page  # beta's call is not this agent's


def test_events_are_idempotent_and_order_tolerant(client: FlaskClient, world: World) -> None:
    _post(client, world, _event("call.ended", duration_seconds=95))
    _post(client, world, _event("call.answered", agent_email="agent.alpha@provider.example"))
    response = _post(client, world, _event("call.ringing"))
    assert response.get_json()["status"] == "ended"
    with tenancy.only(world.alpha.id):
        [call] = db.session.scalars(select(Call).where(Call.external_id == "c-1")).all()
    assert call.duration_seconds == 95


def test_unsigned_wrongly_signed_and_old_requests_are_refused(client: FlaskClient, world: World) -> None:
    body = json.dumps(_event()).encode()
    response = client.post("/api/v1/hooks/telephony", data=body, content_type="application/json")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_signature"
    assert _post(client, world, _event(), secret=world.beta.webhook_secret).status_code == 401
    assert _post(client, world, _event(), timestamp=int(time.time()) - 3600).status_code == 401


def test_unknown_number_and_bad_input_are_clear_errors(client: FlaskClient, world: World) -> None:
    response = _post(client, world, _event(to="+41990000000"))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_number"
    assert _post(client, world, _event("call.exploded")).status_code == 422
    assert _post(client, world, _event(**{"from": "not a number"})).status_code == 422


def test_a_number_signed_by_its_own_tenant_lands_there_only(client: FlaskClient, world: World) -> None:
    response = _post(client, world, {**_event(), "to": BETA_PHONE}, secret=world.beta.webhook_secret)
    assert response.status_code == 200
    with tenancy.only(world.alpha.id):
        assert db.session.scalars(select(Call).where(Call.external_id == "c-1")).all() == []


def test_agent_makes_a_ticket_from_the_call_and_logs_it(client: FlaskClient, world: World) -> None:
    _post(client, world, _event())
    with tenancy.only(world.alpha.id):
        call = db.session.scalars(select(Call).where(Call.external_id == "c-1")).one()
    sign_in(client, "agent.alpha@provider.example")
    token = csrf_token(client, "/agent/calls")
    response = client.post(
        f"/agent/calls/{call.id}/ticket", data={"csrf_token": token, "subject": "Kein Strom"}
    )
    assert response.status_code == 302
    ticket_path = response.headers["Location"]
    with tenancy.only(world.alpha.id):
        ticket = db.session.scalars(select(Ticket).where(Ticket.subject == "Kein Strom")).one()
    assert (ticket.channel, ticket.assignee_id) == ("phone", world.agent_alpha.id)
    response = client.post(
        f"/agent/tickets/{ticket.id}/calls",
        data={
            "csrf_token": token,
            "caller": "+41795551212",
            "dialled": ALPHA_PHONE,
            "direction": "inbound",
            "duration": "4:30",
            "outcome": "solved",
            "notes": "Sicherung ersetzt.",
        },
    )
    assert response.status_code == 302
    page = client.get(ticket_path).get_data(as_text=True)
    assert "Sicherung ersetzt." in page
    with tenancy.only(world.alpha.id):
        assert db.session.get(Ticket, ticket.id, populate_existing=True).time_spent_seconds == 270
    bad = client.post(
        f"/agent/tickets/{ticket.id}/calls",
        data={
            "csrf_token": token,
            "caller": "+41795551212",
            "dialled": "x",
            "direction": "inbound",
            "duration": "4:75",
            "outcome": "solved",
        },
    )
    assert bad.status_code == 422


def test_fax_becomes_a_ticket_with_the_pdf(client: FlaskClient, world: World) -> None:
    fields = {"from": "+41 44 999 88 77", "to": ALPHA_FAX, "id": "fax-1"}
    request = EnvironBuilder(
        method="POST", data={**fields, "file": (io.BytesIO(b"%PDF-1.4 fax"), "fax.pdf")}
    ).get_request()
    body = request.get_data()
    content_type = request.headers["Content-Type"]
    response = client.post(
        "/api/v1/hooks/fax",
        data=body,
        content_type=content_type,
        headers={signing.HEADER: signing.sign(world.alpha.webhook_secret, body)},
    )
    assert response.status_code == 202, response.get_json()
    ticket_id = response.get_json()["ticket_id"]
    with tenancy.only(world.alpha.id):
        ticket = db.session.get(Ticket, ticket_id)
        [attachment] = db.session.scalars(
            select(Attachment).where(Attachment.content_type == "application/pdf")
        ).all()
    assert (ticket.channel, ticket.language) == ("fax", "de")
    assert attachment.filename == "fax.pdf"
    unsigned = client.post("/api/v1/hooks/fax", data=body, content_type=content_type)
    assert unsigned.status_code == 401
