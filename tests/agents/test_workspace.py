"""The agent workspace: one inbox across the agent's clients, the client's context, replies."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient

from core import jobs, tenancy
from core.models_base import utcnow
from tests.conftest import csrf_token, sign_in
from tests.factories import World, make_ticket


def test_inbox_spans_the_agents_clients_only(client: FlaskClient, world: World) -> None:
    sign_in(client, "agent.both@provider.example")
    page = client.get("/agent/").get_data(as_text=True)
    assert f"ALPHA-{world.alpha_ticket.number}" in page
    assert f"BETA-{world.beta_ticket.number}" in page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    sign_in(client, "agent.alpha@provider.example")
    page = client.get("/agent/").get_data(as_text=True)
    assert f"ALPHA-{world.alpha_ticket.number}" in page
    assert "BETA-" not in page


def test_inbox_filters_by_client_and_language(client: FlaskClient, world: World) -> None:
    sign_in(client, "agent.both@provider.example")
    page = client.get(f"/agent/?tenant={world.beta.id}").get_data(as_text=True)
    assert "BETA-" in page
    assert "ALPHA-" not in page
    page = client.get("/agent/?language=fr").get_data(as_text=True)
    assert "BETA-" in page
    assert "ALPHA-" not in page


def test_resolved_filter_lists_the_latest_resolved_first(client: FlaskClient, world: World) -> None:
    with tenancy.system_scope():
        older = make_ticket(world.alpha, "Solved long ago", key="older")
        newer = make_ticket(world.alpha, "Solved just now", key="newer")
        for ticket, days in ((older, 30), (newer, 0)):
            ticket.status = "resolved"
            ticket.updated_at = utcnow() - timedelta(days=days)
        jobs.commit()
    sign_in(client, "agent.alpha@provider.example")
    page = client.get("/agent/?status=resolved").get_data(as_text=True)
    assert page.index("Solved just now") < page.index("Solved long ago")


def test_ticket_view_shows_the_clients_script_in_the_tickets_language(
    client: FlaskClient, world: World
) -> None:
    with tenancy.system_scope():
        world.beta.greetings = {
            "fr": "Bonjour, service client Beta.",
            "it": "Buongiorno, servizio clienti Beta.",
        }
        world.beta.call_scripts = {"fr": "Demandez le numéro de contrat."}
        jobs.commit()
        italian = make_ticket(
            world.beta, subject="Fattura", body="Buongiorno, la fattura è sbagliata.", language="it"
        )
    sign_in(client, "agent.both@provider.example")
    page = client.get(f"/agent/tickets/{world.beta_ticket.id}").get_data(as_text=True)
    assert "Bonjour, service client Beta." in page
    page = client.get(f"/agent/tickets/{italian.id}").get_data(as_text=True)
    assert "Buongiorno, servizio clienti Beta." in page
    # No Italian call script: the French one, marked as a fallback.
    assert "Demandez le numéro de contrat." in page
    assert 'class="fallback"' in page


def test_agent_replies_and_resolves_from_the_ticket_view(client: FlaskClient, world: World, smtp_to) -> None:
    sign_in(client, "agent.alpha@provider.example")
    path = f"/agent/tickets/{world.alpha_ticket.id}"
    token = csrf_token(client, path)
    response = client.post(
        f"{path}/reply", data={"csrf_token": token, "body": "Bitte Reset drücken.", "then": "resolve"}
    )
    assert response.status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert "Bitte Reset drücken." in page
    assert world.alpha_ticket.status == "resolved" or "resolved" in page
    assert smtp_to.messages[-1]["To"] == "anna.kunde@example.com"


def test_empty_reply_is_a_422_with_a_message(client: FlaskClient, world: World) -> None:
    sign_in(client, "agent.alpha@provider.example")
    path = f"/agent/tickets/{world.alpha_ticket.id}"
    response = client.post(f"{path}/reply", data={"csrf_token": csrf_token(client, path), "body": " "})
    assert response.status_code == 422


def test_agent_updates_the_contact_during_the_call(client: FlaskClient, world: World) -> None:
    sign_in(client, "agent.alpha@provider.example")
    path = f"/agent/tickets/{world.alpha_ticket.id}"
    token = csrf_token(client, path)
    response = client.post(
        f"{path}/contact", data={"csrf_token": token, "phone": "044 123 45 67", "name": "Anna Kunde"}
    )
    assert response.status_code == 302
    assert 'value="0441234567"' in client.get(path).get_data(as_text=True)
    response = client.post(f"{path}/contact", data={"csrf_token": token, "phone": "not a number"})
    assert response.status_code == 422


def test_client_users_cannot_open_the_workspace(client: FlaskClient, world: World) -> None:
    sign_in(client, "admin@alpha.example")
    assert client.get("/agent/").status_code == 403
    assert client.get(f"/agent/tickets/{world.alpha_ticket.id}").status_code == 403
