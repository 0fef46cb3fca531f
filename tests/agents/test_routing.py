"""Skills-based routing: offered by language, auto-assigned by load, unroutable shown at once."""

from __future__ import annotations

from flask.testing import FlaskClient

from agents import routing
from agents import services as agents
from agents.models import AgentPresence, Presence
from core import jobs, tenancy
from core.extensions import db
from tests.conftest import csrf_token, sign_in
from tests.factories import World, make_ticket
from tickets import services as tickets
from tickets.models import Priority, Status


def _staff(world: World, *, alpha_available: bool = True, both_available: bool = True) -> None:
    with tenancy.system_scope():
        agents.set_languages(world.agent_alpha, {"de": "native", "en": "fluent"})
        agents.set_languages(world.agent_both, {"de": "fluent", "fr": "native"})
        for user, on in ((world.agent_alpha, alpha_available), (world.agent_both, both_available)):
            routing.set_presence(user, Presence.AVAILABLE if on else Presence.OFFLINE)
        world.alpha.auto_assign = True
        world.beta.auto_assign = True
        jobs.commit()


def test_new_tickets_go_to_the_least_loaded_available_agent_who_speaks_the_language(world: World) -> None:
    _staff(world)
    with tenancy.system_scope():
        first = make_ticket(world.alpha, subject="Kaputt eins", key="r1")
        second = make_ticket(world.alpha, subject="Kaputt zwei", key="r2")
        third = make_ticket(world.alpha, subject="Kaputt drei", key="r3")
        owners = [first.assignee_id, second.assignee_id, third.assignee_id]
        assert set(owners) == {world.agent_alpha.id, world.agent_both.id}
        assert abs(owners.count(world.agent_alpha.id) - owners.count(world.agent_both.id)) == 1
        french = make_ticket(world.beta, subject="Facture", body="Bonjour", key="r4", language="fr")
        assert french.assignee_id == world.agent_both.id  # the only one on beta who speaks French
        loads = {p.user_id: p.open_tickets for p in db.session.query(AgentPresence)}
        assert sum(loads.values()) == 4


def test_nobody_available_leaves_the_ticket_unassigned_and_the_board_shows_it_unroutable(
    client: FlaskClient, world: World
) -> None:
    _staff(world, both_available=False)
    with tenancy.system_scope():
        italian = make_ticket(world.beta, subject="Fattura", body="Buongiorno", key="r5", language="it")
        assert italian.assignee_id is None
        agents.assign(world.supervisor, world.beta.id)
        jobs.commit()
    sign_in(client, "supervisor@provider.example")
    page = client.get("/agent/routing").get_data(as_text=True)
    assert f"BETA-{italian.number}" in page
    assert "unroutable" in page
    assert "nobody speaks Italian" in page


def test_only_shift_leads_see_the_routing_board(client: FlaskClient, world: World) -> None:
    sign_in(client, "agent.alpha@provider.example")
    assert client.get("/agent/routing").status_code == 403


def test_load_follows_assignment_and_resolution_and_a_recount_heals_it(world: World) -> None:
    _staff(world)
    with tenancy.system_scope():
        ticket = make_ticket(world.alpha, subject="Load", key="r6")
        owner = ticket.assignee_id
        assert routing.presence_of(owner).open_tickets == 1
        tickets.set_status(ticket, Status.RESOLVED)
        db.session.flush()
        db.session.expire_all()
        assert routing.presence_of(owner).open_tickets == 0
        routing.presence_of(owner).open_tickets = 7
        assert routing.recount() >= 1
        assert routing.presence_of(owner).open_tickets == 0


def test_take_next_gives_the_most_urgent_ticket_in_a_language_the_agent_speaks(
    client: FlaskClient, world: World
) -> None:
    with tenancy.system_scope():
        agents.set_languages(world.agent_both, {"fr": "native"})
        calm = make_ticket(world.beta, subject="Question", body="Bonjour", key="r7", language="fr")
        urgent = make_ticket(world.beta, subject="Panne", body="Bonjour", key="r8", language="fr")
        tickets.set_priority(urgent, Priority.URGENT)
        jobs.commit()
    sign_in(client, "agent.both@provider.example")
    page = client.get("/agent/?view=offered").get_data(as_text=True)
    assert f"BETA-{calm.number}" in page
    assert "ALPHA-" not in page  # alpha's tickets are German; this agent speaks only French now
    response = client.post("/agent/next", data={"csrf_token": csrf_token(client, "/agent/")})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/agent/tickets/{urgent.id}")


def test_presence_is_switched_from_the_inbox(client: FlaskClient, world: World) -> None:
    sign_in(client, "agent.alpha@provider.example")
    token = csrf_token(client, "/agent/")
    client.post(
        "/agent/presence", data={"csrf_token": token, "status": "available", "next": "//evil.example"}
    )
    with tenancy.system_scope():
        assert routing.presence_of(world.agent_alpha.id).status == "available"
    assert client.post("/agent/presence", data={"csrf_token": token, "status": "asleep"}).status_code == 400
