"""The contacts and organisations API."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from core import tenancy
from core.audit import AuditEvent
from core.errors import ValidationFailed
from core.extensions import db
from tests.conftest import Api, api_as
from tests.factories import World
from tickets import contacts
from tickets.models import Contact


def _ticket(api: Api, tenant_id: int, email: str, subject: str = "Drucker streikt", name: str = "") -> dict:
    created = api.post(
        "/api/v1/tickets",
        json={
            "tenant_id": tenant_id,
            "subject": subject,
            "body": "Er druckt nicht.",
            "email": email,
            "name": name,
        },
    )
    assert created.status_code == 202, created.get_json()
    return api.get(f"/api/v1/tickets/{created.get_json()['ticket_id']}").get_json()


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()["error"]


def test_list_is_scoped_searchable_and_paginated(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    _ticket(api, world.alpha.id, "bruno@example.ch", name="Bruno Berner")
    everyone = api.get("/api/v1/contacts").get_json()["data"]
    assert {c["tenant_id"] for c in everyone} == {world.alpha.id}
    assert {c["email"] for c in everyone} == {"anna.kunde@example.com", "bruno@example.ch"}
    found = api.get("/api/v1/contacts?q=BERNER").get_json()["data"]
    assert [c["email"] for c in found] == ["bruno@example.ch"]
    seen, cursor = [], None
    while True:
        body = api.get(
            "/api/v1/contacts", query_string={"limit": 1, **({"cursor": cursor} if cursor else {})}
        )
        seen += [c["id"] for c in body.get_json()["data"]]
        cursor = body.get_json()["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(c["id"] for c in everyone)[::-1]
    assert api.get(f"/api/v1/contacts?tenant_id={world.beta.id}").get_json()["data"] == []
    assert _error(api.get("/api/v1/contacts?tenant_id=x"), 400)["fields"] == {
        "tenant_id": "Must be a whole number."
    }


def test_read_a_contact_and_its_tickets(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    contact_id = world.alpha_ticket.contact_id
    contact = api.get(f"/api/v1/contacts/{contact_id}").get_json()
    assert contact["email"] == "anna.kunde@example.com"
    assert (contact["organization_id"], contact["merged_into_id"]) == (None, None)
    tickets = api.get(f"/api/v1/contacts/{contact_id}/tickets").get_json()["data"]
    assert [t["id"] for t in tickets] == [world.alpha_ticket.id]


def test_patch_corrects_details_and_moves_open_tickets_to_the_organisation(
    client: FlaskClient, world: World
) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    contact_id = world.alpha_ticket.contact_id
    org = api.post("/api/v1/organizations", json={"tenant_id": world.alpha.id, "name": "Kunde GmbH"})
    assert org.status_code == 201
    org_id = org.get_json()["id"]
    response = api.patch(
        f"/api/v1/contacts/{contact_id}",
        json={
            "name": "Anna Kunde",
            "phone": "079 123 45 67",
            "email": "Anna.Kunde@Example.com",
            "notes": "Calls in the morning.",
            "organization_id": org_id,
        },
    )
    assert response.status_code == 200, response.get_json()
    contact = response.get_json()
    assert (contact["name"], contact["phone"], contact["email"]) == (
        "Anna Kunde",
        "0791234567",
        "anna.kunde@example.com",
    )
    assert contact["organization_id"] == org_id
    assert api.get(f"/api/v1/tickets/{world.alpha_ticket.id}").get_json()["organization_id"] == org_id
    members = api.get(f"/api/v1/organizations/{org_id}/contacts").get_json()["data"]
    assert [m["id"] for m in members] == [contact_id]
    with tenancy.system_scope():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contact.updated")).one()
    assert event.target_id == str(contact_id)
    assert event.actor_label == "agent.alpha@provider.example"
    assert set(event.data["changes"]) == {"name", "phone", "notes", "organization_id"}

    cleared = api.patch(f"/api/v1/contacts/{contact_id}", json={"organization_id": None, "notes": None})
    assert (cleared.get_json()["organization_id"], cleared.get_json()["notes"]) == (None, None)
    assert api.get(f"/api/v1/tickets/{world.alpha_ticket.id}").get_json()["organization_id"] is None


def test_patch_validation_errors_name_the_fields(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.both@provider.example")
    path = f"/api/v1/contacts/{world.alpha_ticket.contact_id}"
    assert _error(api.patch(path, json={"email": "not-an-address"}), 422)["fields"] == {
        "email": "Must be a valid e-mail address."
    }
    assert _error(api.patch(path, json={"phone": "call me"}), 422)["fields"] == {
        "phone": "This is not a valid phone number."
    }
    assert _error(api.patch(path, json={"tenant_id": world.beta.id}), 422)["fields"] == {
        "tenant_id": "This field is not accepted."
    }
    assert set(_error(api.patch(path, json={"language": "x" * 9}), 422)["fields"]) == {"language"}
    # An organisation of another client (even one this agent serves) is not found for this contact.
    foreign = api.patch(path, json={"organization_id": world.beta_organization.id})
    assert _error(foreign, 404)["fields"] == {"organization_id": "Not found."}
    assert _error(api.patch(path, json={"organization_id": 999999}), 404)["fields"] == {
        "organization_id": "Not found."
    }
    assert api.get(path).get_json()["organization_id"] is None


def test_duplicates_and_merge_move_the_tickets(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    keep = world.alpha_ticket.contact_id
    second = _ticket(api, world.alpha.id, "anna.private@example.ch", name="Chris Customer")
    duplicate = second["contact_id"]
    assert [c["id"] for c in api.get(f"/api/v1/contacts/{keep}/duplicates").get_json()["data"]] == [duplicate]

    merged = api.post(f"/api/v1/contacts/{duplicate}/merge", json={"into": keep})
    assert merged.status_code == 200, merged.get_json()
    assert merged.get_json()["id"] == keep
    tickets = api.get(f"/api/v1/contacts/{keep}/tickets").get_json()["data"]
    assert {t["id"] for t in tickets} == {world.alpha_ticket.id, second["id"]}
    assert api.get(f"/api/v1/tickets/{second['id']}").get_json()["contact_id"] == keep
    assert api.get(f"/api/v1/contacts/{duplicate}").get_json()["merged_into_id"] == keep
    assert api.get(f"/api/v1/contacts/{keep}/duplicates").get_json()["data"] == []
    assert duplicate not in [c["id"] for c in api.get("/api/v1/contacts").get_json()["data"]]

    again = api.post(f"/api/v1/contacts/{duplicate}/merge", json={"into": keep})
    assert _error(again, 422)["fields"] == {"into": "This contact was merged already."}
    itself = api.post(f"/api/v1/contacts/{keep}/merge", json={"into": keep})
    assert _error(itself, 422)["fields"] == {"into": "A contact cannot be merged into itself."}
    assert _error(api.post(f"/api/v1/contacts/{keep}/merge", json={}), 422)["fields"] == {
        "into": "This field is required."
    }


def test_merge_refuses_a_contact_of_another_client(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.both@provider.example")
    response = api.post(
        f"/api/v1/contacts/{world.alpha_ticket.contact_id}/merge", json={"into": world.beta_contact.id}
    )
    assert _error(response, 404)["fields"] == {"into": "Not found."}
    alpha_only = api_as(client, "agent.alpha@provider.example")
    assert alpha_only.get(f"/api/v1/contacts/{world.beta_contact.id}").status_code == 404
    response = alpha_only.post(
        f"/api/v1/contacts/{world.alpha_ticket.contact_id}/merge", json={"into": world.beta_contact.id}
    )
    assert _error(response, 404)["fields"] == {"into": "Not found."}


def test_organisations_create_list_and_update(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    created = api.post(
        "/api/v1/organizations",
        json={
            "tenant_id": world.alpha.id,
            "name": "  Muster   AG ",
            "domain": "@Muster.CH",
            "notes": "Key account",
        },
    )
    assert created.status_code == 201, created.get_json()
    org = created.get_json()
    assert (org["name"], org["domain"], org["tenant_id"]) == ("Muster AG", "muster.ch", world.alpha.id)
    listed = api.get("/api/v1/organizations").get_json()["data"]
    assert [o["name"] for o in listed] == ["Muster AG"]  # beta's Durand SARL is not in scope
    assert api.get("/api/v1/organizations?q=must").get_json()["data"][0]["id"] == org["id"]

    patched = api.patch(f"/api/v1/organizations/{org['id']}", json={"contract_number": "C-17"})
    assert patched.status_code == 200
    assert (
        patched.get_json()["name"],
        patched.get_json()["notes"],
        patched.get_json()["contract_number"],
    ) == (
        "Muster AG",
        "Key account",
        "C-17",
    )
    assert api.get(f"/api/v1/organizations/{org['id']}").get_json()["contract_number"] == "C-17"
    # A new contact with an e-mail at the organisation's domain joins it.
    ticket = _ticket(api, world.alpha.id, "eva@muster.ch")
    assert ticket["organization_id"] == org["id"]


def test_organisation_validation_and_scope(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    outside = api.post("/api/v1/organizations", json={"tenant_id": world.beta.id, "name": "Nope"})
    assert _error(outside, 404)["fields"] == {"tenant_id": "Not found."}
    assert _error(api.post("/api/v1/organizations", json={"tenant_id": world.alpha.id}), 422)["fields"] == {
        "name": "This field is required."
    }
    bad_domain = api.post(
        "/api/v1/organizations", json={"tenant_id": world.alpha.id, "name": "X", "domain": "nodot"}
    )
    assert set(_error(bad_domain, 422)["fields"]) == {"domain"}
    first = api.post(
        "/api/v1/organizations", json={"tenant_id": world.alpha.id, "name": "Alpen AG"}
    ).get_json()
    clash = api.post("/api/v1/organizations", json={"tenant_id": world.alpha.id, "name": "alpen ag"})
    assert _error(clash, 422)["fields"] == {"name": "An organisation of that name exists already."}
    assert _error(api.patch(f"/api/v1/organizations/{first['id']}", json={"name": None}), 422)["fields"] == {
        "name": "Give a name of at most 200 characters."
    }
    assert api.get(f"/api/v1/organizations/{world.beta_organization.id}").status_code == 404
    # The same name at another client is fine.
    both = api_as(client, "agent.both@provider.example")
    beta_org = both.post("/api/v1/organizations", json={"tenant_id": world.beta.id, "name": "Alpen AG"})
    assert beta_org.status_code == 201


def test_client_users_have_no_contacts_api(client: FlaskClient, world: World) -> None:
    api = api_as(client, "admin@alpha.example")
    assert api.get("/api/v1/contacts").status_code == 403
    assert api.get("/api/v1/organizations").status_code == 403
    assert (
        api.post("/api/v1/organizations", json={"tenant_id": world.alpha.id, "name": "X"}).status_code == 403
    )


def test_contact_service_refuses_values_its_columns_cannot_hold(world: World) -> None:
    # The HTML contact form hands the service raw values: too long a contract number or language
    # is a field error, not a database error (PostgreSQL refuses what SQLite would store).
    with tenancy.system_scope():
        contact = db.session.get_one(Contact, world.alpha_ticket.contact_id)
        for name, value in (("contract_number", "x" * 101), ("language", "de-CH-x-long")):
            with pytest.raises(ValidationFailed) as refused:
                contacts.update_contact(contact, {name: value})
            assert set(refused.value.fields) == {name}
        assert contacts.update_contact(contact, {"contract_number": "x" * 100}) == {
            "contract_number": {"old": None, "new": "x" * 100}
        }
