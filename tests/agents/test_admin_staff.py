"""Staff administration: the list with workload, invitations, deactivation (signed out at once,
tickets back in the queue), languages and clients, and who may see or change what."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, select

from agents import routing, staff
from agents import services as assignments
from agents.models import AgentAssignment, AgentLanguage, Presence
from core import tenancy
from core.audit import AuditEvent
from core.auth.models import User
from core.auth.roles import Role
from core.extensions import db
from core.models_base import utcnow
from tests.conftest import SmtpServer, api_as, csrf_token, sign_in
from tests.factories import World, make_ticket, make_user
from tickets import services as tickets
from tickets import timetrack
from tickets.models import Status, Ticket, TicketEvent


def _admin(client: FlaskClient) -> str:
    sign_in(client, "admin@provider.example")
    return csrf_token(client, "/profile")


def _row(page: str, user: User) -> str:
    match = re.search(rf'<tr id="member-{user.id}">(.*?)</tr>', page, re.S)
    assert match, f"{user.email} is not listed"
    return " ".join(match.group(1).split())


def _audited(action: str, user: User) -> list[AuditEvent]:
    with tenancy.system_scope():
        return list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == action, AuditEvent.target_id == str(user.id))
            )
        )


def _give_work(world: World) -> None:
    """agent.both: two open tickets, one resolved this week, 90 minutes booked; agent.alpha: one
    resolved three weeks ago (outside the window)."""
    with tenancy.system_scope():
        assignments.set_languages(world.agent_both, {"fr": "native", "de": "basic"})
        tickets.assign(world.beta_ticket, world.agent_both.id)
        tickets.assign(world.alpha_ticket, world.agent_both.id)
        done = make_ticket(world.alpha, subject="Done this week", key="done-week")
        tickets.assign(done, world.agent_both.id)
        tickets.set_status(done, Status.RESOLVED)
        old = make_ticket(world.alpha, subject="Done long ago", key="done-old")
        tickets.assign(old, world.agent_alpha.id)
        tickets.set_status(old, Status.RESOLVED, now=utcnow() - timedelta(days=21))
        timetrack.add(world.alpha_ticket, world.agent_both.id, 90 * 60)
        timetrack.add(old, world.agent_alpha.id, 600, started_at=utcnow() - timedelta(days=20))
        routing.set_presence(world.agent_both, Presence.AVAILABLE)
        db.session.flush()


# --- the list ---------------------------------------------------------------------------------


def test_the_list_shows_role_languages_clients_status_presence_and_workload(
    client: FlaskClient, world: World
) -> None:
    _give_work(world)
    sign_in(client, "agent.alpha@provider.example")  # has signed in: active, no longer invited
    client.post("/logout", data={"csrf_token": csrf_token(client, "/profile")})
    _admin(client)
    page = client.get("/admin/agents").get_data(as_text=True)

    both = _row(page, world.agent_both)
    assert "Agent.Both" in both
    assert "Agent</td>" in both
    assert "Invited" in both  # never signed in
    assert "French (native), German (basic)" in both
    assert "Alpha AG, Beta AG" in both
    assert "Available" in both
    assert "<td>2</td> <td>1</td> <td>1 hr, 30 min</td>" in both

    alpha = _row(page, world.agent_alpha)
    assert "Active" in alpha
    assert "<td>0</td> <td>0</td> <td>0 min</td>" in alpha  # old work is outside the 7 days
    assert "Supervisor" in _row(page, world.supervisor)
    assert "Provider admin" in _row(page, world.admin)
    assert "admin@alpha.example" not in page  # client staff are not provider staff


def test_the_list_filters_by_role_status_and_client(client: FlaskClient, world: World) -> None:
    _admin(client)
    agents = client.get("/admin/agents?role=agent").get_data(as_text=True)
    assert "agent.alpha@provider.example" in agents
    assert "supervisor@provider.example" not in agents
    beta = client.get(f"/admin/agents?tenant={world.beta.id}").get_data(as_text=True)
    assert "agent.beta@provider.example" in beta
    assert "agent.alpha@provider.example" not in beta
    active = client.get("/admin/agents?status=active").get_data(as_text=True)
    assert "admin@provider.example" in active  # signed in just now
    assert "agent.beta@provider.example" not in active


@contextmanager
def _statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_list_costs_the_same_queries_for_ten_people_as_for_one(world: World, system: None) -> None:
    _give_work(world)
    with _statements() as few:
        staff.listing(world.admin)
    for n in range(10):
        user = make_user(f"extra{n}@provider.example", Role.AGENT, assigned=(world.alpha, world.beta))
        assignments.set_languages(user, {"en": "fluent"})
    db.session.flush()
    with _statements() as many:
        rows = staff.listing(world.admin)
    assert len(rows) == 15
    assert len(many) == len(few) == 7  # staff, languages, clients, presence, three workload figures


# --- invitations ------------------------------------------------------------------------------


def _invite(client: FlaskClient, token: str, **fields: object) -> object:
    data = {
        "csrf_token": token,
        "name": "Nora Neu",
        "email": "nora@provider.example",
        "role": "agent",
        "locale": "de",
        "timezone": "Europe/Berlin",
        "lang_de": "native",
        "lang_fr": "basic",
        "lang_other": "es",
        "lang_other_level": "fluent",
        "tenant": [str(world_id) for world_id in fields.pop("tenants", [])],
        **fields,
    }
    return client.post("/admin/agents/invite", data=data)


def test_an_invitation_creates_the_account_with_languages_and_clients_and_mails_the_link(
    client: FlaskClient, world: World, smtp_to: SmtpServer
) -> None:
    token = _admin(client)
    answer = _invite(client, token, tenants=[world.alpha.id, world.beta.id])
    assert answer.status_code == 302
    [mail] = smtp_to.messages
    assert mail["To"] == "nora@provider.example"
    assert "/invite/" in mail.get_content()
    with tenancy.system_scope():
        nora = db.session.scalar(select(User).where(User.email == "nora@provider.example"))
        assert (nora.role, nora.locale, nora.timezone) == ("agent", "de", "Europe/Berlin")
        skills = dict(
            db.session.execute(
                select(AgentLanguage.language, AgentLanguage.level).where(AgentLanguage.user_id == nora.id)
            ).all()
        )
        assert skills == {"de": "native", "fr": "basic", "es": "fluent"}
        assert sorted(assignments.assigned_tenant_ids(nora.id)) == sorted([world.alpha.id, world.beta.id])
    assert _audited("user.invited", nora)
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Nora Neu" in page
    assert "Invited" in page


def test_a_refused_invitation_shows_every_error_and_creates_nobody(
    client: FlaskClient, world: World, smtp_to: SmtpServer
) -> None:
    token = _admin(client)
    answer = _invite(
        client, token, email="not-an-address", lang_other="x1", tenants=[987654], timezone="Mars/Base"
    )
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "Must be a valid e-mail address." in page
    assert "Give a two-letter language code." in page
    assert "Choose clients from the list." in page
    assert "Unknown time zone." in page
    assert 'value="Nora Neu"' in page  # what was typed stays
    assert smtp_to.messages == []
    with tenancy.system_scope():
        assert db.session.scalar(select(User).where(User.name == "Nora Neu")) is None


def test_a_provider_admin_is_not_assigned_to_clients(client: FlaskClient, world: World) -> None:
    token = _admin(client)
    answer = _invite(
        client, token, role="provider_admin", lang_de="", lang_fr="", lang_other="", tenants=[world.alpha.id]
    )
    assert answer.status_code == 422
    assert "Only agents and supervisors are assigned to clients." in answer.get_data(as_text=True)


def test_the_invitation_is_sent_again_only_to_someone_who_never_signed_in(
    client: FlaskClient, world: World, smtp_to: SmtpServer
) -> None:
    token = _admin(client)
    assert (
        client.post(f"/admin/agents/{world.beta_agent.id}/resend", data={"csrf_token": token}).status_code
        == 302
    )
    [mail] = smtp_to.messages
    assert mail["To"] == "agent.beta@provider.example"
    assert _audited("user.invitation_resent", world.beta_agent)
    answer = client.post(
        f"/admin/agents/{world.admin.id}/resend", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Only someone who has never signed in is sent the invitation again." in answer.get_data(
        as_text=True
    )
    assert len(smtp_to.messages) == 1


# --- deactivation -----------------------------------------------------------------------------


def test_a_deactivated_agent_is_signed_out_at_once_and_their_open_tickets_go_back_to_the_queue(
    app, client: FlaskClient, world: World
) -> None:
    with tenancy.system_scope():
        tickets.assign(world.alpha_ticket, world.agent_alpha.id)
        db.session.flush()
    agent = app.test_client()
    sign_in(agent, "agent.alpha@provider.example")
    assert agent.get("/agent/").status_code == 200
    api = api_as(app.test_client(), "agent.alpha@provider.example")
    assert api.get("/api/v1/tenants").status_code == 200

    token = _admin(client)
    answer = client.post(
        f"/admin/agents/{world.agent_alpha.id}/deactivate", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Deactivated and signed out; 1 open ticket went back to the queue." in answer.get_data(
        as_text=True
    )

    assert agent.get("/agent/").status_code == 302  # the open session ends at its next request
    assert api.get("/api/v1/tenants").status_code == 401
    assert sign_in(app.test_client(), "agent.alpha@provider.example").status_code != 302
    with tenancy.system_scope():
        ticket = db.session.get(Ticket, world.alpha_ticket.id, populate_existing=True)
        assert ticket.assignee_id is None
        assert ticket.status in {s.value for s in tickets.OPEN_STATUSES}
        history = db.session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "assigned")
        ).all()
        assert history[-1].data == {"old": world.agent_alpha.id, "new": None}
        assert routing.presence_of(world.agent_alpha.id).status == Presence.OFFLINE.value
    [audited] = _audited("user.deactivated", world.agent_alpha)
    assert audited.data == {"tickets_returned": 1, "chats_returned": 0}
    assert audited.actor_label == "admin@provider.example"

    page = client.get("/admin/agents?status=deactivated").get_data(as_text=True)
    assert "Deactivated" in _row(page, world.agent_alpha)
    client.post(f"/admin/agents/{world.agent_alpha.id}/reactivate", data={"csrf_token": token})
    assert sign_in(app.test_client(), "agent.alpha@provider.example").status_code == 302
    assert _audited("user.reactivated", world.agent_alpha)


def test_an_admin_cannot_deactivate_themselves(client: FlaskClient, world: World) -> None:
    token = _admin(client)
    answer = client.post(
        f"/admin/agents/{world.admin.id}/deactivate", data={"csrf_token": token}, follow_redirects=True
    )
    assert "You cannot deactivate your own account." in answer.get_data(as_text=True)
    with tenancy.system_scope():
        assert db.session.get(User, world.admin.id, populate_existing=True).is_active


def test_the_last_provider_admin_stays_active(world: World, system: None) -> None:
    other = make_user("boss@provider.example", Role.PROVIDER_ADMIN)
    staff.deactivate(other, world.admin)
    from core.errors import Conflict

    with pytest.raises(Conflict):
        staff.deactivate(world.admin, other)


# --- languages and clients --------------------------------------------------------------------


def test_languages_and_clients_are_edited_and_a_dropped_clients_tickets_go_back(
    client: FlaskClient, world: World
) -> None:
    with tenancy.system_scope():
        tickets.assign(world.beta_ticket, world.agent_both.id)
        tickets.assign(world.alpha_ticket, world.agent_both.id)
        db.session.flush()
    token = _admin(client)
    answer = client.post(
        f"/admin/agents/{world.agent_both.id}/skills",
        data={"csrf_token": token, "lang_it": "fluent", "lang_en": "native", "tenant": [str(world.alpha.id)]},
    )
    assert answer.status_code == 302
    with tenancy.system_scope():
        skills = dict(
            db.session.execute(
                select(AgentLanguage.language, AgentLanguage.level).where(
                    AgentLanguage.user_id == world.agent_both.id
                )
            ).all()
        )
        assert skills == {"it": "fluent", "en": "native"}
        assert assignments.assigned_tenant_ids(world.agent_both.id) == [world.alpha.id]
        beta_ticket = db.session.get(Ticket, world.beta_ticket.id, populate_existing=True)
        alpha_ticket = db.session.get(Ticket, world.alpha_ticket.id, populate_existing=True)
        assert beta_ticket.assignee_id is None  # beta is no longer served by them
        assert alpha_ticket.assignee_id == world.agent_both.id
    [dropped] = _audited("agent.unassigned", world.agent_both)
    assert (dropped.tenant_id, dropped.data) == (world.beta.id, {"tickets": 1, "chats": 0})
    page = client.get(f"/admin/agents/{world.agent_both.id}").get_data(as_text=True)
    assert 'name="lang_it"' in page
    assert re.search(r'<option value="fluent" selected>fluent</option>', page)
    assert f'href="/agent/shifts#staff-{world.agent_both.id}"' in page


def test_unknown_clients_and_levels_are_refused(client: FlaskClient, world: World) -> None:
    token = _admin(client)
    answer = client.post(
        f"/admin/agents/{world.agent_both.id}/skills",
        data={"csrf_token": token, "lang_de": "expert", "tenant": ["987654", "x"]},
    )
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "Unknown level." in page
    assert "Choose clients from the list." in page
    with tenancy.system_scope():
        assert sorted(assignments.assigned_tenant_ids(world.agent_both.id)) == sorted(
            [world.alpha.id, world.beta.id]
        )


# --- who may do what --------------------------------------------------------------------------


def test_supervisors_read_the_staff_of_their_clients_only(client: FlaskClient, world: World) -> None:
    sign_in(client, "supervisor@provider.example")
    token = csrf_token(client, "/profile")
    page = client.get("/admin/agents").get_data(as_text=True)
    assert "agent.alpha@provider.example" in page
    assert "agent.both@provider.example" in page
    assert "agent.beta@provider.example" not in page  # serves beta only
    assert "admin@provider.example" not in page
    assert "Invite someone" not in page
    detail = client.get(f"/admin/agents/{world.agent_alpha.id}").get_data(as_text=True)
    assert "Deactivate" not in detail
    assert 'name="lang_de"' not in detail  # read-only
    assert client.get(f"/admin/agents/{world.beta_agent.id}").status_code == 404
    assert client.get("/admin/agents/invite").status_code == 403
    assert (
        client.post(
            f"/admin/agents/{world.agent_alpha.id}/deactivate", data={"csrf_token": token}
        ).status_code
        == 403
    )
    with tenancy.system_scope():
        assert db.session.get(User, world.agent_alpha.id, populate_existing=True).is_active


@pytest.mark.parametrize(
    "email", ["agent.alpha@provider.example", "admin@alpha.example", "expert@beta.example"]
)
def test_agents_and_client_staff_get_403(client: FlaskClient, world: World, email: str) -> None:
    sign_in(client, email)
    assert client.get("/admin/agents").status_code == 403
    assert client.get(f"/admin/agents/{world.agent_alpha.id}").status_code == 403
    assert client.get("/admin/health").status_code == 403


def test_only_agents_and_supervisors_are_assignable(world: World, system: None) -> None:
    from core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        staff.set_skills(world.admin, {"de": "native"}, [world.alpha.id])
    assert set(refused.value.fields) == {"tenants", "languages"}
    assert db.session.scalar(select(AgentAssignment).where(AgentAssignment.user_id == world.admin.id)) is None
