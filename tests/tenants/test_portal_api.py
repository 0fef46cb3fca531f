"""The portal over the JSON API: the same queue and actions as the HTML portal, the API's one
error shape, and the same 404 for a ticket that is not the caller's to see."""

from __future__ import annotations

from flask.testing import FlaskClient

from core import tenancy
from core.auth.roles import Role
from core.extensions import db
from tests.conftest import api_as
from tests.factories import PACKET, World, make_escalation, make_team, make_ticket, make_user
from tickets.models import Ticket


def _escalated(world: World) -> tuple[int, int, int]:
    """(ticket id, second-level team id, third-level team id) of alpha's."""
    with tenancy.only(world.alpha.id):
        accountant = make_user("accounting@alpha.example", Role.CLIENT_EXPERT, tenant=world.alpha)
        second = make_team(world.alpha, "Second level", (world.alpha_expert,))
        third = make_team(world.alpha, "Accounting", (accountant,), level=3)
        ticket = make_ticket(world.alpha, subject="Rechnung doppelt", email="kunde@example.ch", key="api-1")
        make_escalation(ticket, world.agent_alpha, second, urgency="critical")
        db.session.commit()
        return ticket.id, second.id, third.id


def test_the_queue_lists_my_teams_escalations_with_the_packet(client: FlaskClient, world: World) -> None:
    ticket_id, second_id, third_id = _escalated(world)
    api = api_as(client, world.alpha_expert.email)
    response = api.get("/api/v1/portal/escalations")
    assert response.status_code == 200
    [row] = response.get_json()["data"]
    assert row["ticket_id"] == ticket_id
    assert row["ticket_number"].startswith("ALPHA-")
    assert (row["team"], row["level"], row["status"], row["urgent"]) == ("Second level", 2, "open", True)
    assert row["packet"]["summary"] == PACKET["summary"]
    assert row["ack_due_at"] is not None
    assert api.get(f"/api/v1/portal/escalations?team_id={second_id}").get_json()["data"]
    missing = api.get(f"/api/v1/portal/escalations?team_id={third_id}")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"
    assert api.get("/api/v1/portal/escalations?team_id=x").status_code == 400
    assert api.get("/api/v1/portal/escalations?closed=1").get_json()["data"] == []


def test_actions_over_the_api(client: FlaskClient, world: World, smtp_to) -> None:
    ticket_id, _second_id, third_id = _escalated(world)
    api = api_as(client, world.alpha_expert.email)
    base = f"/api/v1/portal/tickets/{ticket_id}"
    assert api.get(base).get_json()["status"] == "open"
    acknowledged = api.post(f"{base}/acknowledge", json={})
    assert acknowledged.status_code == 200
    assert acknowledged.get_json()["acknowledged_by_id"] == world.alpha_expert.id

    refused = api.post(f"{base}/note", json={"body": ""})
    assert refused.status_code == 422
    assert set(refused.get_json()["error"]["fields"]) == {"body"}
    assert api.post(f"{base}/note", json={"body": "Für den Desk."}).status_code == 201
    assert api.post(f"{base}/answer", json={"body": "Wir buchen zurück."}).status_code == 201
    assert smtp_to.messages[-1]["To"] == "kunde@example.ch"

    incomplete = api.post(f"{base}/forward", json={**PACKET, "summary": " ", "team_id": third_id})
    assert incomplete.status_code == 422
    assert incomplete.get_json()["error"]["fields"] == {"summary": "Required."}
    forwarded = api.post(f"{base}/forward", json={**PACKET, "team_id": third_id})
    assert forwarded.status_code == 201
    assert (forwarded.get_json()["team"], forwarded.get_json()["level"]) == ("Accounting", 3)

    closed = api.post(f"{base}/acknowledge", json={})  # the second level's own step is closed
    assert closed.status_code == 409
    assert closed.get_json()["error"]["code"] == "conflict"

    accountant = api_as(client, "accounting@alpha.example")
    returned = accountant.post(f"{base}/return", json={"instructions": "Bitte Belegnummer erfragen."})
    assert returned.status_code == 200
    assert returned.get_json()["status"] == "returned"
    with tenancy.only(world.alpha.id):
        assert db.session.get_one(Ticket, ticket_id).level == 1


def test_resolve_over_the_api(client: FlaskClient, world: World) -> None:
    ticket_id, _second_id, _third_id = _escalated(world)
    api = api_as(client, world.alpha_admin.email)
    response = api.post(
        f"/api/v1/portal/tickets/{ticket_id}/resolve", json={"answer": "Storniert.", "tell_customer": False}
    )
    assert response.status_code == 200
    assert response.get_json()["status"] == "resolved"
    assert response.get_json()["outcome"] == "Storniert."


def test_others_get_a_404_and_the_desk_a_403(client: FlaskClient, world: World) -> None:
    ticket_id, _second_id, _third_id = _escalated(world)
    accountant = api_as(client, "accounting@alpha.example")
    response = accountant.get(f"/api/v1/portal/tickets/{ticket_id}")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert accountant.post(f"/api/v1/portal/tickets/{ticket_id}/acknowledge", json={}).status_code == 404
    beta = api_as(client, world.beta_expert.email)
    assert beta.get(f"/api/v1/portal/tickets/{ticket_id}").status_code == 404
    assert beta.get(f"/api/v1/portal/tickets/{world.beta_ticket.id}").status_code == 200
    agent = api_as(client, world.agent_alpha.email)
    assert agent.get("/api/v1/portal/escalations").status_code == 403
