"""The macros API: supervisors and admins write macros, agents read them filled in for a ticket."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import api_as
from tests.factories import World

DANKE = (
    "Guten Tag {contact_name}\n\nIhr Ticket {ticket_number} ({ticket_subject}) ist erledigt.\n"
    "{agent_name}, {client_name}"
)


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()["error"]


def _macro(world: World, **changes: object) -> dict:
    return {"tenant_id": world.alpha.id, "name": "Erledigt", "language": "de", "body": DANKE, **changes}


def test_supervisor_creates_changes_and_deletes_a_macro(client: FlaskClient, world: World) -> None:
    api = api_as(client, "supervisor@provider.example")
    response = api.post(
        "/api/v1/macros", json=_macro(world, set_status="resolved", add_tags=["Printer", "printer", "done"])
    )
    assert response.status_code == 201, response.get_json()
    macro = response.get_json()
    assert (macro["name"], macro["language"], macro["set_status"], macro["add_tags"]) == (
        "Erledigt",
        "de",
        "resolved",
        ["printer", "done"],
    )
    path = f"/api/v1/macros/{macro['id']}"
    assert api.get(path).get_json()["body"] == DANKE

    patched = api.patch(path, json={"body": "Danke, {contact_name}!", "set_status": None})
    assert patched.status_code == 200, patched.get_json()
    assert (patched.get_json()["body"], patched.get_json()["set_status"], patched.get_json()["add_tags"]) == (
        "Danke, {contact_name}!",
        None,
        ["printer", "done"],
    )
    assert api.get("/api/v1/macros").get_json()["data"] == [api.get(path).get_json()]

    assert api.delete(path).get_json() == {"deleted": True}
    assert api.get(path).status_code == 404


def test_agents_read_but_do_not_write_macros(client: FlaskClient, world: World) -> None:
    admin = api_as(client, "admin@provider.example")
    macro = admin.post("/api/v1/macros", json=_macro(world)).get_json()
    agent = api_as(client, "agent.both@provider.example")
    names = [(m["tenant_id"], m["name"]) for m in agent.get("/api/v1/macros").get_json()["data"]]
    assert names == [(world.alpha.id, "Erledigt"), (world.beta.id, "Merci")]
    assert [m["name"] for m in agent.get(f"/api/v1/macros?tenant_id={world.beta.id}").get_json()["data"]] == [
        "Merci"
    ]
    assert agent.get(f"/api/v1/macros/{macro['id']}").status_code == 200
    for response in (
        agent.post("/api/v1/macros", json=_macro(world, name="Other")),
        agent.patch(f"/api/v1/macros/{macro['id']}", json={"name": "Renamed"}),
        agent.delete(f"/api/v1/macros/{macro['id']}"),
    ):
        assert _error(response, 403)["code"] == "forbidden"
    assert agent.get(f"/api/v1/macros/{macro['id']}").get_json()["name"] == "Erledigt"
    assert api_as(client, "admin@alpha.example").get("/api/v1/macros").status_code == 403


def test_macro_validation(client: FlaskClient, world: World) -> None:
    api = api_as(client, "supervisor@provider.example")
    unknown = _error(api.post("/api/v1/macros", json=_macro(world, body="Hallo {customer}")), 422)
    assert set(unknown["fields"]) == {"body"}
    assert "{customer}" in unknown["fields"]["body"]
    language = _error(api.post("/api/v1/macros", json=_macro(world, language="fr")), 422)
    assert language["fields"] == {"language": "This client does not serve customers in that language."}
    status = _error(api.post("/api/v1/macros", json=_macro(world, set_status="closed")), 422)
    assert set(status["fields"]) == {"set_status"}
    tags = _error(api.post("/api/v1/macros", json=_macro(world, add_tags=["two words"])), 422)
    assert set(tags["fields"]) == {"add_tags"}
    missing = _error(api.post("/api/v1/macros", json={"tenant_id": world.alpha.id}), 422)
    assert set(missing["fields"]) == {"name", "language", "body"}
    assert api.post("/api/v1/macros", json=_macro(world)).status_code == 201
    twice = _error(api.post("/api/v1/macros", json=_macro(world)), 422)
    assert twice["fields"] == {"name": "This client already has a macro of that name in that language."}
    # The same name in another language is another macro.
    assert api.post("/api/v1/macros", json=_macro(world, language="en", body="Done.")).status_code == 201


def test_macros_of_another_client_are_not_found(client: FlaskClient, world: World) -> None:
    api = api_as(client, "supervisor@provider.example")  # serves alpha only
    outside = api.post("/api/v1/macros", json=_macro(world, tenant_id=world.beta.id, language="fr"))
    assert _error(outside, 404)["fields"] == {"tenant_id": "Not found."}
    assert api.get(f"/api/v1/macros/{world.beta_macro.id}").status_code == 404
    assert api.patch(f"/api/v1/macros/{world.beta_macro.id}", json={"name": "X"}).status_code == 404
    assert api.delete(f"/api/v1/macros/{world.beta_macro.id}").status_code == 404
    assert api.get("/api/v1/macros").get_json()["data"] == []
    assert api.get(f"/api/v1/tickets/{world.beta_ticket.id}/macros").status_code == 404


def test_macros_for_a_ticket_are_filled_in_for_it(client: FlaskClient, world: World) -> None:
    admin = api_as(client, "admin@provider.example")
    for body in (
        _macro(world),
        _macro(world, language="en", body="Hello {contact_name}"),  # the ticket is in German
        _macro(world, name="Nur Englisch", language="en", body="Only English"),
    ):
        assert admin.post("/api/v1/macros", json=body).status_code == 201
    agent = api_as(client, "agent.alpha@provider.example")
    ticket = agent.get(f"/api/v1/tickets/{world.alpha_ticket.id}").get_json()
    assert ticket["language"] == "de"
    macros = agent.get(f"/api/v1/tickets/{world.alpha_ticket.id}/macros").get_json()["data"]
    assert [(m["name"], m["language"]) for m in macros] == [("Erledigt", "de")]
    assert macros[0]["text"] == (
        f"Guten Tag Chris Customer\n\nIhr Ticket ALPHA-{ticket['number']} (Printer on fire) ist erledigt.\n"
        "Agent.Alpha, Alpha AG"
    )
    beta = api_as(client, "agent.both@provider.example")
    merci = beta.get(f"/api/v1/tickets/{world.beta_ticket.id}/macros").get_json()["data"]
    assert [m["text"] for m in merci] == ["Merci Chris Customer !"]
