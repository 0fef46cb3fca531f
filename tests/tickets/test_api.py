"""The tickets API."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import api_as
from tests.factories import World


def test_list_is_scoped_and_paginated(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    body = api.get("/api/v1/tickets?limit=10").get_json()
    assert {t["tenant_id"] for t in body["data"]} == {world.alpha.id}
    assert api.get("/api/v1/tickets?status=bogus").status_code == 400


def test_create_through_the_intake_and_read_back(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.both@provider.example")
    response = api.post(
        "/api/v1/tickets",
        json={
            "tenant_id": world.beta.id,
            "subject": "Compteur bloqué",
            "body": "Bonjour, le compteur affiche une erreur depuis hier soir.",
            "email": "luc@example.fr",
            "external_id": "crm-77",
        },
    )
    assert response.status_code == 202
    created = response.get_json()
    ticket = api.get(f"/api/v1/tickets/{created['ticket_id']}").get_json()
    assert (ticket["channel"], ticket["language"], ticket["tenant_id"]) == ("api", "fr", world.beta.id)
    again = api.post(
        "/api/v1/tickets",
        json={
            "tenant_id": world.beta.id,
            "subject": "x",
            "body": "y",
            "external_id": "crm-77",
        },
    ).get_json()
    assert again["ticket_id"] == created["ticket_id"]


def test_create_for_a_client_outside_the_scope_is_404(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    response = api.post("/api/v1/tickets", json={"tenant_id": world.beta.id, "subject": "x", "body": "y"})
    assert response.status_code == 404


def test_reply_note_and_status_changes(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    path = f"/api/v1/tickets/{world.alpha_ticket.id}"
    assert api.post(f"{path}/messages", json={"kind": "note", "body": "internal"}).status_code == 201
    assert api.post(f"{path}/messages", json={"body": "Reset please.", "then": "resolve"}).status_code == 201
    ticket = api.get(path).get_json()
    assert ticket["status"] == "resolved"
    assert ticket["first_contact_resolution"] is True
    kinds = [m["kind"] for m in api.get(f"{path}/messages").get_json()["data"]]
    assert kinds == ["inbound", "system", "note", "reply"]  # system: the acknowledgement
    assert api.patch(path, json={"status": "closed"}).status_code == 200
    conflict = api.patch(path, json={"status": "open"})
    assert conflict.status_code == 409
    assert conflict.get_json()["error"]["code"] == "conflict"
    assert api.patch(path, json={"status": "weird"}).status_code == 422


def test_client_users_have_no_tickets_api_yet(client: FlaskClient, world: World) -> None:
    api = api_as(client, "admin@alpha.example")
    assert api.get("/api/v1/tickets").status_code == 403
