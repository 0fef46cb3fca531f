"""The live SLA board: what breaches within the hour, per client and language, for shift leads
of the clients they may see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient

from core import tenancy
from core.extensions import db
from escalations.models import Escalation, Team
from tests.conftest import csrf_token, sign_in
from tests.factories import World, make_ticket
from tickets import services as tickets
from tickets import sla
from tickets.models import Priority, Ticket


def _breached(ticket: Ticket, minutes: int) -> None:
    """As if the first answer had been due `minutes` ago."""
    ticket.first_response_due_at = datetime.now(UTC) - timedelta(minutes=minutes)
    sla.refresh(ticket)


def _board_world(world: World) -> tuple[Ticket, Ticket, Ticket]:
    with tenancy.system_scope():
        soon = make_ticket(world.alpha, subject="Soon due", key="b1")
        tickets.set_priority(soon, Priority.URGENT)  # first answer within 30 minutes
        late = make_ticket(world.alpha, subject="Long overdue", key="b2", language="en")
        _breached(late, 95)
        _breached(world.beta_ticket, 5)
        calm = make_ticket(world.alpha, subject="Calm", key="b3")
        db.session.commit()
    return soon, late, calm


def test_the_board_shows_what_breaches_soon_or_has_breached_grouped_by_client_and_language(
    client: FlaskClient, world: World
) -> None:
    soon, late, _calm = _board_world(world)
    sign_in(client, "admin@provider.example")
    page = client.get("/sla/board").get_data(as_text=True)
    assert "Soon due" in page
    assert "Long overdue" in page
    assert "Facture incorrecte" in page
    assert "Calm" not in page
    assert "overdue by 1 hr, 35 min" in page
    assert "due in 2" in page  # 29 or 30 minutes, by the time the page renders
    # Groups: the most urgent first; alpha's English ticket apart from its German ones.
    assert page.index("Long overdue") < page.index("Facture incorrecte") < page.index("Soon due")
    assert 'data-tenant="alpha" data-language="en"' in page
    assert 'data-tenant="alpha" data-language="de"' in page
    assert "2 breached" in page


def test_the_board_filters_by_client_and_language(client: FlaskClient, world: World) -> None:
    _board_world(world)
    sign_in(client, "admin@provider.example")
    page = client.get(f"/sla/board?tenant_id={world.beta.id}").get_data(as_text=True)
    assert "Facture incorrecte" in page
    assert "Soon due" not in page
    page = client.get("/sla/board?language=en").get_data(as_text=True)
    assert "Long overdue" in page
    assert "Soon due" not in page
    assert "Facture incorrecte" not in page


def test_a_supervisor_sees_only_the_clients_they_supervise(client: FlaskClient, world: World) -> None:
    _board_world(world)
    sign_in(client, "supervisor@provider.example")
    page = client.get("/sla/board").get_data(as_text=True)
    assert "Long overdue" in page
    assert "Facture incorrecte" not in page
    assert client.get(f"/sla/board?tenant_id={world.beta.id}").status_code == 404
    data = client.get(f"/sla/board.json?tenant_id={world.alpha.id}").get_json()
    assert data["breached"] == 1
    assert "Long overdue" in data["html"]
    assert "Facture" not in data["html"]


def test_escalations_due_within_the_hour_are_on_the_board(client: FlaskClient, world: World) -> None:
    with tenancy.system_scope():
        team = Team(tenant_id=world.alpha.id, name="Second level", timezone="Europe/Zurich", ack_minutes=20)
        db.session.add(team)
        db.session.flush()
        now = datetime.now(UTC)
        ack, resolve = sla.team_due_times(team, now)
        db.session.add(
            Escalation(
                tenant_id=world.alpha.id,
                ticket_id=world.alpha_ticket.id,
                team_id=team.id,
                level=2,
                packet={"summary": "x"},
                ack_due_at=ack,
                resolve_due_at=resolve,
            )
        )
        db.session.commit()
    sign_in(client, "supervisor@provider.example")
    page = client.get("/sla/board").get_data(as_text=True)
    assert "Second level" in page
    assert "Team acknowledgement" in page


def test_the_board_is_for_shift_leads(client: FlaskClient, world: World) -> None:
    sign_in(client, "agent.alpha@provider.example")
    assert client.get("/sla/board").status_code == 403
    assert client.get("/sla/board.json").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/profile")})
    sign_in(client, "admin@alpha.example")
    assert client.get("/sla/board").status_code == 403
