"""Escalations end to end: the handoff packet, routing to the client's teams, delivery by e-mail
(and replies by e-mail landing on the ticket), back down to the desk, across to a department,
resolution with the customer told in their language, and problem tickets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from channels import mail_inbound
from core import jobs, tenancy
from core.auth.models import User
from core.auth.roles import Role
from core.errors import Conflict, NotFound, ValidationFailed
from core.extensions import db
from escalations import problems, routing
from escalations import services as escalations
from escalations import teams as team_service
from escalations.models import Escalation, EscalationStatus, Team
from tests.channels.mails import mail, process_as_one_batch
from tests.conftest import api_as, csrf_token, sign_in
from tests.factories import World, make_ticket, make_user
from tickets import services as tickets
from tickets.models import Message, MessageKind, Priority, Status, Ticket

PACKET = {
    "summary": "Geschirrspüler pumpt nicht ab, Fehler E24",
    "reported": "Seit gestern bleibt Wasser im Gerät.",
    "tried": "Sieb gereinigt, Gerät neu gestartet.",
    "urgency": "high",
    "impact": "one",
    "availability": "Werktags 8–12 Uhr, 044 123 45 67",
}


@dataclass
class Teams:
    service: Team
    it: Team
    it_expert: User


@pytest.fixture
def alpha_teams(world: World) -> Teams:
    with tenancy.system_scope():
        it_expert = make_user("it@alpha.example", Role.CLIENT_EXPERT, tenant=world.alpha)
        service = team_service.save_team(
            world.alpha.id,
            team_service.TeamInput(
                name="Kundendienst", email="kundendienst@alpha.example", member_ids=[world.alpha_expert.id]
            ),
        )
        it = team_service.save_team(
            world.alpha.id, team_service.TeamInput(name="IT", level=3, member_ids=[it_expert.id])
        )
        routing.save_rule(world.alpha.id, routing.RuleInput(team_id=it.id, keywords=["Server"]))
        jobs.commit()
        return Teams(service=service, it=it, it_expert=it_expert)


def _escalate(world: World, teams: Teams, **packet: Any) -> int:
    with tenancy.only(world.alpha.id):
        ticket = db.session.get_one(Ticket, world.alpha_ticket.id)
        agent = db.session.get_one(User, world.agent_alpha.id)
        escalation = escalations.escalate(ticket, agent, teams.service.id, {**PACKET, **packet})
        jobs.commit()
        return escalation.id


def _load(world: World, escalation_id: int) -> tuple[Escalation, Ticket]:
    with tenancy.only(world.alpha.id):
        escalation = db.session.get_one(Escalation, escalation_id, populate_existing=True)
        return escalation, db.session.get_one(Ticket, escalation.ticket_id, populate_existing=True)


def _text(message: Any) -> str:
    return str(message.get_body(preferencelist=("plain",)).get_content())


def _messages(world: World, ticket_id: int) -> list[Message]:
    with tenancy.only(world.alpha.id):
        return tickets.messages_of(db.session.get_one(Ticket, ticket_id))


def test_escalation_without_a_complete_handoff_is_refused(
    client: FlaskClient, world: World, alpha_teams: Teams
) -> None:
    sign_in(client, "agent.alpha@provider.example")
    url = f"/agent/tickets/{world.alpha_ticket.id}/escalate"
    form = client.get(url).get_data(as_text=True)
    assert "Kundendienst" in form
    data = {
        "csrf_token": csrf_token(client, url),
        "team_id": alpha_teams.service.id,
        "summary": "Pumpt nicht ab",
    }
    response = client.post(url, data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The handoff is incomplete" in page
    assert "Pumpt nicht ab" in page  # nothing typed is lost
    with tenancy.only(world.alpha.id):
        ticket = db.session.get_one(Ticket, world.alpha_ticket.id, populate_existing=True)
        assert ticket.status != Status.ESCALATED.value


def test_the_rules_propose_a_team_and_the_agent_sees_it_before_sending(
    client: FlaskClient, world: World, alpha_teams: Teams
) -> None:
    sign_in(client, "agent.alpha@provider.example")
    url = f"/agent/tickets/{world.alpha_ticket.id}/escalate"
    page = client.get(url).get_data(as_text=True)
    assert "The client's rules send this ticket to Kundendienst." in page
    checked = client.post(
        url, data={"csrf_token": csrf_token(client, url), "check": "1", "summary": "Server down"}
    )
    assert "The client's rules send this ticket to IT." in checked.get_data(as_text=True)


def test_an_agent_escalates_and_team_and_customer_are_told(
    client: FlaskClient, world: World, alpha_teams: Teams, smtp_to: Any
) -> None:
    sign_in(client, "agent.alpha@provider.example")
    url = f"/agent/tickets/{world.alpha_ticket.id}/escalate"
    data = {
        "csrf_token": csrf_token(client, url),
        "team_id": alpha_teams.service.id,
        "tell_customer": "1",
        **PACKET,
    }
    response = client.post(url, data=data)
    assert response.status_code == 302
    with tenancy.only(world.alpha.id):
        ticket = db.session.get_one(Ticket, world.alpha_ticket.id)
        db.session.refresh(ticket)
        assert (ticket.status, ticket.level, ticket.team_id) == ("escalated", 2, alpha_teams.service.id)
    [handoff] = [m for m in _messages(world, world.alpha_ticket.id) if m.kind == MessageKind.HANDOFF.value]
    assert "Sieb gereinigt" in handoff.body
    assert "Werktags 8–12 Uhr" in handoff.body
    to_team = [m for m in smtp_to.messages if m["To"] == "kundendienst@alpha.example"]
    assert to_team
    assert "Sieb gereinigt" in _text(to_team[0])
    assert "support@alpha.example" in to_team[0]["Reply-To"]
    to_customer = [m for m in smtp_to.messages if m["To"] == "anna.kunde@example.com"]
    assert "Spezialisten" in _text(to_customer[-1])  # German: the ticket's language


def test_a_team_of_another_client_is_refused(world: World, alpha_teams: Teams) -> None:
    with tenancy.system_scope():
        theirs = team_service.save_team(world.beta.id, team_service.TeamInput(name="Support N2"))
        jobs.commit()
    with tenancy.only(world.alpha.id):
        ticket = db.session.get_one(Ticket, world.alpha_ticket.id)
        agent = db.session.get_one(User, world.agent_alpha.id)
        with pytest.raises(ValidationFailed) as refused:
            escalations.escalate(ticket, agent, theirs.id, PACKET)
    assert "team_id" in refused.value.fields


def test_a_ticket_is_with_one_team_at_a_time(world: World, alpha_teams: Teams) -> None:
    _escalate(world, alpha_teams)
    with tenancy.only(world.alpha.id):
        ticket = db.session.get_one(Ticket, world.alpha_ticket.id)
        with pytest.raises(Conflict):
            escalations.escalate(
                ticket, db.session.get_one(User, world.agent_alpha.id), alpha_teams.it.id, PACKET
            )


def test_the_teams_reply_by_email_lands_on_the_ticket_as_a_note(
    world: World, alpha_teams: Teams, smtp_to: Any
) -> None:
    escalation_id = _escalate(world, alpha_teams)
    [to_team] = [m for m in smtp_to.messages if m["To"] == "kundendienst@alpha.example"]
    answer = mail(
        sender="Expert <expert@alpha.example>",
        subject="Re: " + to_team["Subject"],
        body="Bitte Kunde anweisen, den Ablaufschlauch zu prüfen.",
        in_reply_to=to_team["Message-ID"],
        references=[to_team["Message-ID"]],
    )
    mail_inbound.receive_raw(answer, ["support@alpha.example"], source="test")
    escalation, ticket = _load(world, escalation_id)
    notes = [m for m in _messages(world, ticket.id) if m.kind == MessageKind.NOTE.value]
    assert any("Ablaufschlauch" in note.body for note in notes)
    assert not [
        m
        for m in _messages(world, ticket.id)
        if m.kind == MessageKind.INBOUND.value and "Ablaufschlauch" in m.body
    ]
    assert escalation.status == EscalationStatus.ACKNOWLEDGED.value
    assert ticket.status == Status.ESCALATED.value


def test_the_teams_reply_in_a_batch_of_mails_lands_as_a_note_too(
    world: World, alpha_teams: Teams, smtp_to: Any
) -> None:
    """A batch looks up the escalations of the tickets its mails answer ahead of them."""
    escalation_id = _escalate(world, alpha_teams)
    [to_team] = [m for m in smtp_to.messages if m["To"] == "kundendienst@alpha.example"]
    raws = [
        mail(sender="Jemand <jemand@example.com>", subject="Andere Frage"),
        mail(
            sender="Expert <expert@alpha.example>",
            subject="Re: " + to_team["Subject"],
            body="Bitte den Filter reinigen lassen.",
            in_reply_to=to_team["Message-ID"],
        ),
    ]
    with tenancy.only(world.alpha.id):
        records = process_as_one_batch(world.alpha.id, raws)
        assert [r.outcome for r in records] == ["new_ticket", "threaded"]
    escalation, ticket = _load(world, escalation_id)
    assert [m.kind for m in _messages(world, ticket.id) if "Filter" in m.body] == [MessageKind.NOTE.value]
    assert escalation.status == EscalationStatus.ACKNOWLEDGED.value


def test_the_team_returns_the_ticket_to_the_desk_with_instructions(world: World, alpha_teams: Teams) -> None:
    escalation_id = _escalate(world, alpha_teams)
    with tenancy.only(world.alpha.id):
        escalation = db.session.get_one(Escalation, escalation_id)
        expert = db.session.get_one(User, world.alpha_expert.id)
        with pytest.raises(ValidationFailed):
            escalations.return_to_desk(escalation, expert, " ")
        escalations.return_to_desk(escalation, expert, "Kunde soll die Seriennummer schicken.")
        jobs.commit()
    escalation, ticket = _load(world, escalation_id)
    assert escalation.status == EscalationStatus.RETURNED.value
    assert (ticket.status, ticket.level, ticket.team_id) == (Status.OPEN.value, 1, None)
    assert "Seriennummer" in _messages(world, ticket.id)[-1].body


def test_an_expert_forwards_to_a_department_and_only_that_team_acts_next(
    world: World, alpha_teams: Teams
) -> None:
    escalation_id = _escalate(world, alpha_teams)
    with tenancy.only(world.alpha.id):
        escalation = db.session.get_one(Escalation, escalation_id)
        expert = db.session.get_one(User, world.alpha_expert.id)
        with pytest.raises(ValidationFailed):  # not to the team it comes from
            escalations.forward(escalation, expert, alpha_teams.service.id, PACKET)
        onward = escalations.forward(
            escalation, expert, alpha_teams.it.id, {**PACKET, "tried": "L2: Firmware geprüft."}
        )
        jobs.commit()
        onward_id = onward.id
    first, ticket = _load(world, escalation_id)
    assert first.status == EscalationStatus.FORWARDED.value
    assert (ticket.level, ticket.team_id) == (3, alpha_teams.it.id)
    with tenancy.only(world.alpha.id):
        onward = db.session.get_one(Escalation, onward_id)
        assert onward.previous_id == escalation_id
        expert = db.session.get_one(User, world.alpha_expert.id)
        with pytest.raises(NotFound):  # the L2 expert is not in IT
            escalations.resolve(onward, expert, "Fixed", tell_customer=True)
        it_expert = db.session.get_one(User, alpha_teams.it_expert.id)
        escalations.resolve(onward, it_expert, "Firmware 2.1 behebt den Fehler.", tell_customer=True)
        jobs.commit()
    _first, ticket = _load(world, escalation_id)
    assert ticket.status == Status.RESOLVED.value
    assert not ticket.first_contact_resolution


def test_resolving_without_answering_still_tells_the_customer_in_their_language(
    world: World, alpha_teams: Teams, smtp_to: Any
) -> None:
    with tenancy.system_scope():
        english = make_ticket(
            world.alpha, subject="Pump broken", email="john@example.com", language="en", key="en-1"
        )
        english_id = english.id
    with tenancy.only(world.alpha.id):
        ticket = db.session.get_one(Ticket, english_id)
        escalation = escalations.escalate(
            ticket,
            db.session.get_one(User, world.agent_alpha.id),
            alpha_teams.service.id,
            PACKET,
            tell_customer=False,
        )
        escalations.resolve(
            escalation,
            db.session.get_one(User, world.alpha_expert.id),
            "Ersatzteil bestellt.",
            tell_customer=False,
        )
        jobs.commit()
    # The customer's mails apart from the satisfaction survey (its links go to /rate/).
    answers = [m for m in smtp_to.messages if m["To"] == "john@example.com" and "/rate/" not in _text(m)]
    [notice] = [m for m in answers if "resolved" in _text(m)]
    assert "resolved by our specialists" in _text(notice)
    assert "Ersatzteil" not in _text(notice)  # the internal answer stays internal


def test_resolving_a_problem_ticket_resolves_the_linked_ones_and_tells_each_customer(
    world: World, alpha_teams: Teams, smtp_to: Any
) -> None:
    with tenancy.system_scope():
        french = make_ticket(
            world.alpha, subject="Pompe en panne", email="marie@example.fr", language="en", key="p-1"
        )
        other = make_ticket(world.alpha, subject="Auch kaputt", email="beat@example.ch", key="p-2")
        french_id, other_id = french.id, other.id
        french.language = "en"
        jobs.commit()
    escalation_id = _escalate(world, alpha_teams)
    with tenancy.only(world.alpha.id):
        parent = db.session.get_one(Ticket, world.alpha_ticket.id)
        with pytest.raises(ValidationFailed):
            problems.link(parent, "BETA-1001")
        problems.link(
            parent,
            f"ALPHA-{db.session.get_one(Ticket, french_id).number},"
            f" {db.session.get_one(Ticket, other_id).number}",
        )
        escalation = db.session.get_one(Escalation, escalation_id)
        escalations.resolve(
            escalation, db.session.get_one(User, world.alpha_expert.id), "Behoben.", tell_customer=True
        )
        jobs.commit()
    with tenancy.only(world.alpha.id):
        assert db.session.get_one(Ticket, french_id, populate_existing=True).status == Status.RESOLVED.value
        assert db.session.get_one(Ticket, other_id, populate_existing=True).status == Status.RESOLVED.value
    # Each customer's last mail before the satisfaction survey (its links go to /rate/).
    answers = [m for m in smtp_to.messages if "/rate/" not in _text(m)]
    english = [m for m in answers if m["To"] == "marie@example.fr"]
    assert "has been solved" in _text(english[-1])
    german = [m for m in answers if m["To"] == "beat@example.ch"]
    assert "wurde behoben" in _text(german[-1])


def test_urgent_tickets_make_urgent_escalations(world: World, alpha_teams: Teams) -> None:
    with tenancy.only(world.alpha.id):
        ticket = db.session.get_one(Ticket, world.alpha_ticket.id)
        tickets.set_priority(ticket, Priority.URGENT)
        jobs.commit()
    escalation, _ticket = _load(world, _escalate(world, alpha_teams))
    assert escalation.urgent
    assert escalation.ack_due_at is not None
    assert escalation.resolve_due_at is not None


def test_the_api_proposes_a_team_and_escalates_with_a_complete_packet(
    client: FlaskClient, world: World, alpha_teams: Teams
) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    url = f"/api/v1/tickets/{world.alpha_ticket.id}"
    targets = api.get(url + "/escalation-targets").get_json()["data"]
    assert [(t["name"], t["proposed"]) for t in targets] == [("Kundendienst", True), ("IT", False)]
    incomplete = api.post(url + "/escalations", json={"team_id": alpha_teams.service.id, "summary": "x"})
    assert incomplete.status_code == 422
    assert "tried" in incomplete.get_json()["error"]["fields"]
    blank = api.post(url + "/escalations", json={"team_id": alpha_teams.service.id, **PACKET, "tried": " "})
    assert blank.status_code == 422
    assert blank.get_json()["error"]["fields"] == {"tried": "Required."}
    done = api.post(
        url + "/escalations", json={"team_id": alpha_teams.it.id, **PACKET, "tell_customer": False}
    )
    assert done.status_code == 201
    assert (done.get_json()["level"], done.get_json()["status"]) == (3, "open")
    again = api.post(url + "/escalations", json={"team_id": alpha_teams.service.id, **PACKET})
    assert again.status_code == 409
    assert api.get(url + "/escalations").get_json()["data"][0]["team_id"] == alpha_teams.it.id
