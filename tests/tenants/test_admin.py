"""The provider admin's client pages: the list with health, each client's page, and suspension
that keeps taking contacts and tells agents and the client why."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from agents.models import AgentAssignment
from billing import plans
from channels import mail_inbound
from core import jobs, tenancy
from core.audit import AuditEvent
from core.extensions import db
from core.models_base import utcnow
from tenants.models import Tenant, TenantChannel
from tests.channels.mails import mail
from tests.conftest import SmtpServer, csrf_token, sign_in
from tests.factories import World, make_tenant, make_ticket
from tickets.models import InboundRecord, Ticket

ADMIN = "admin@provider.example"
OTHERS = [
    "supervisor@provider.example",
    "agent.both@provider.example",
    "admin@alpha.example",
    "expert@alpha.example",
]


def _text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def _admin(client: FlaskClient) -> str:
    sign_in(client, ADMIN)
    return csrf_token(client, "/profile")


def _due(ticket: Ticket, delta: timedelta) -> None:
    with tenancy.system_scope():
        db.session.get_one(Ticket, ticket.id).due_at = utcnow() + delta
        jobs.commit()


def _plan(tenant: Tenant, name: str) -> None:
    with tenancy.system_scope():
        plans.save_plan(tenant, plans.PlanInput(name=name, base_fee="900", contract_start="2026-01-01"))
        jobs.commit()


def test_the_list_shows_status_plan_languages_open_tickets_and_sla_health(
    client: FlaskClient, world: World
) -> None:
    _plan(world.alpha, "Alpha Premium")
    _due(world.beta_ticket, -timedelta(minutes=5))
    _due(world.alpha_ticket, timedelta(minutes=20))
    _admin(client)
    page = _text(client.get("/admin/tenants"))
    alpha = page.split('data-tenant="alpha"')[1].split("</tr>")[0]
    beta = page.split('data-tenant="beta"')[1].split("</tr>")[0]
    assert "Alpha Premium" in alpha
    assert "German, English" in alpha
    assert "1 at risk" in alpha
    assert "No plan" in beta
    assert "1 breached" in beta
    assert f'href="/admin/tenants/{world.beta.id}"' in beta


def test_the_list_filters_by_status_and_shows_the_reason(client: FlaskClient, world: World) -> None:
    token = _admin(client)
    client.post(
        f"/admin/tenants/{world.beta.id}/suspend", data={"csrf_token": token, "reason": "Unpaid since May"}
    )
    page = _text(client.get("/admin/tenants?status=suspended"))
    assert "Beta AG" in page
    assert "Unpaid since May" in page
    assert "Alpha AG" not in page
    assert "Beta AG" not in _text(client.get("/admin/tenants?status=active"))


def _statements(client: FlaskClient, path: str) -> int:
    count = 0

    def counted(*args: Any) -> None:
        nonlocal count
        count += 1

    event.listen(Engine, "before_cursor_execute", counted)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(Engine, "before_cursor_execute", counted)
    return count


def test_the_list_costs_the_same_queries_for_two_clients_or_five(client: FlaskClient, world: World) -> None:
    _admin(client)
    client.get("/admin/tenants")  # warm: the first request loads what every request caches
    few = _statements(client, "/admin/tenants")
    with tenancy.system_scope():
        for slug in ("gamma", "delta", "epsilon"):
            tenant = make_tenant(slug)
            jobs.commit()
            make_ticket(tenant, subject=f"{slug} question")
            _plan(tenant, f"{slug} plan")
    many = _statements(client, "/admin/tenants")
    assert many == few


@pytest.mark.parametrize("email", OTHERS)
def test_only_provider_admins_administer_clients(client: FlaskClient, world: World, email: str) -> None:
    sign_in(client, email)
    token = csrf_token(client, "/profile")
    for path in ("/admin/tenants", "/admin/tenants/new", f"/admin/tenants/{world.alpha.id}"):
        assert client.get(path).status_code == 403, path
    refused = client.post(
        f"/admin/tenants/{world.alpha.id}/suspend", data={"csrf_token": token, "reason": "x"}
    )
    assert refused.status_code == 403


def test_the_nav_leads_provider_admins_to_the_client_administration(
    client: FlaskClient, world: World
) -> None:
    _admin(client)
    assert 'href="/admin/tenants"' in client.get("/").get_data(as_text=True)
    fresh = client.application.test_client()
    sign_in(fresh, "agent.both@provider.example")
    home = fresh.get("/").get_data(as_text=True)
    assert 'href="/tenants"' in home
    assert 'href="/admin/tenants"' not in home


def test_an_unknown_client_is_not_found(client: FlaskClient, world: World) -> None:
    _admin(client)
    assert client.get("/admin/tenants/999999").status_code == 404


# --- the client's page ------------------------------------------------------------------------


def test_the_page_edits_settings_texts_and_channels(client: FlaskClient, world: World) -> None:
    token = _admin(client)
    base = f"/admin/tenants/{world.alpha.id}"
    page = _text(client.get(base))
    assert "support@alpha.example" in page
    assert f'href="/portal/clients/{world.alpha.id}/teams"' in page  # its escalation paths
    refused = client.post(
        f"{base}/basics",
        data={
            "csrf_token": token,
            "name": "",
            "languages": ["de"],
            "default_language": "fr",
            "timezone": "Mars/Olympus",
            "currency": "CHF",
        },
    )
    assert refused.status_code == 422
    shown = _text(refused)
    assert "This field is required." in shown
    assert "Unknown time zone." in shown
    saved = client.post(
        f"{base}/basics",
        data={
            "csrf_token": token,
            "name": "Alpha Holding AG",
            "languages": ["de", "fr"],
            "default_language": "fr",
            "timezone": "Europe/Berlin",
            "currency": "eur",
        },
    )
    assert saved.status_code == 302
    client.post(
        f"{base}/texts",
        data={"csrf_token": token, "greeting_fr": "Bonjour, Alpha Holding!", "call_script_de": "Grüezi"},
    )
    client.post(
        f"{base}/channels", data={"csrf_token": token, "kind": "phone", "address": "+41 44 555 66 77"}
    )
    client.post(f"{base}/channels", data={"csrf_token": token, "kind": "chat", "address": ""})
    taken = client.post(
        f"{base}/channels", data={"csrf_token": token, "kind": "email", "address": "support@beta.example"}
    )
    assert taken.status_code == 422
    assert "support@beta.example belongs to another client already." in _text(taken)
    with tenancy.system_scope():
        tenant = db.session.get_one(Tenant, world.alpha.id)
        db.session.refresh(tenant)
        assert (tenant.name, tenant.languages, tenant.timezone, tenant.currency) == (
            "Alpha Holding AG",
            ["de", "fr"],
            "Europe/Berlin",
            "EUR",
        )
        assert tenant.greetings == {"fr": "Bonjour, Alpha Holding!"}
        assert tenant.call_scripts == {"de": "Grüezi"}
        kinds = {
            c.kind: c.address
            for c in db.session.scalars(select(TenantChannel).where(TenantChannel.tenant_id == tenant.id))
        }
        assert kinds["phone"] == "+41445556677"
        assert kinds["chat"].startswith("alpha-")
        phone_id = db.session.scalar(select(TenantChannel.id).where(TenantChannel.address == "+41445556677"))
    client.post(f"{base}/channels", data={"csrf_token": token, "remove": str(phone_id)})
    assert "+41445556677" not in _text(client.get(base))
    # Another client's channel id under this client removes nothing.
    with tenancy.system_scope():
        beta_channel = db.session.scalar(
            select(TenantChannel.id).where(TenantChannel.tenant_id == world.beta.id)
        )
    assert (
        client.post(f"{base}/channels", data={"csrf_token": token, "remove": str(beta_channel)}).status_code
        == 404
    )


def test_an_agent_is_given_the_client_on_its_page(client: FlaskClient, world: World) -> None:
    token = _admin(client)
    response = client.post(
        f"/admin/tenants/{world.beta.id}/agents", data={"csrf_token": token, "user_id": world.agent_alpha.id}
    )
    assert response.status_code == 302
    with tenancy.system_scope():
        assert db.session.scalar(
            select(AgentAssignment).where(
                AgentAssignment.user_id == world.agent_alpha.id, AgentAssignment.tenant_id == world.beta.id
            )
        )
    refused = client.post(
        f"/admin/tenants/{world.beta.id}/agents", data={"csrf_token": token, "user_id": world.alpha_admin.id}
    )
    assert refused.status_code == 422


# --- suspension -------------------------------------------------------------------------------


def test_suspension_needs_a_reason(client: FlaskClient, world: World) -> None:
    token = _admin(client)
    refused = client.post(
        f"/admin/tenants/{world.beta.id}/suspend", data={"csrf_token": token, "reason": "  "}
    )
    assert refused.status_code == 422
    assert "Say why the client is suspended" in _text(refused)


def test_a_suspended_client_keeps_taking_contacts_and_everyone_is_told_why(
    client: FlaskClient, world: World, smtp_to: SmtpServer
) -> None:
    token = _admin(client)
    reason = "Contract under review until 30 June"
    assert (
        client.post(
            f"/admin/tenants/{world.beta.id}/suspend", data={"csrf_token": token, "reason": reason}
        ).status_code
        == 302
    )
    # The client's admin (French) is mailed, in French.
    [notice] = [m for m in smtp_to.messages if m["To"] == "admin@beta.example"]
    assert notice.get_content().startswith("Bonjour Admin,")
    assert reason in notice.get_content()
    # Customers still reach the desk: mail to the support address becomes a ticket.
    assert mail_inbound.accepting_tenant("support@beta.example") == world.beta.id
    [delivery] = mail_inbound.receive_raw(
        mail(to="support@beta.example", sender="Nina <nouveau@example.fr>", subject="Compteur bloqué"),
        None,
        source="test",
    )
    with tenancy.only(world.beta.id):
        record = db.session.get_one(InboundRecord, delivery.record_id)
        ticket = db.session.get_one(Ticket, record.ticket_id)
    # The agent serving beta sees why, in the inbox and on the ticket.
    agent = client.application.test_client()
    sign_in(agent, "agent.both@provider.example")
    inbox = _text(agent.get("/agent/"))
    assert "Beta AG is suspended." in inbox
    assert reason in inbox
    assert "Compteur bloqué" in inbox
    assert reason in _text(agent.get(f"/agent/tickets/{ticket.id}"))
    assert reason not in _text(agent.get(f"/agent/tickets/{world.alpha_ticket.id}"))
    # The client's staff see it in the portal; the other client does not.
    portal = client.application.test_client()
    sign_in(portal, "expert@beta.example")
    assert reason in _text(portal.get("/portal/"))
    other = client.application.test_client()
    sign_in(other, "expert@alpha.example")
    assert reason not in _text(other.get("/portal/"))
    with tenancy.system_scope():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "tenant.suspended"))
        assert event is not None
        assert event.data["reason"] == reason


def test_reactivation_lifts_the_banner_and_tells_the_client(
    client: FlaskClient, world: World, smtp_to: SmtpServer
) -> None:
    token = _admin(client)
    client.post(f"/admin/tenants/{world.beta.id}/suspend", data={"csrf_token": token, "reason": "Audit"})
    assert (
        client.post(f"/admin/tenants/{world.beta.id}/reactivate", data={"csrf_token": token}).status_code
        == 302
    )
    again = client.post(f"/admin/tenants/{world.beta.id}/reactivate", data={"csrf_token": token})
    assert again.status_code == 409
    assert "This client is not suspended." in _text(again)
    assert len([m for m in smtp_to.messages if m["To"] == "admin@beta.example"]) == 2
    agent = client.application.test_client()
    sign_in(agent, "agent.both@provider.example")
    assert "is suspended" not in _text(agent.get("/agent/"))
