"""The client portal as the client's experts and admin use it: the queue of their teams with its
clocks, the ticket page with the handoff packet, and every action on an escalation."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from babel.dates import format_datetime
from flask.testing import FlaskClient
from sqlalchemy import select

from core import tenancy
from core.auth.models import User
from core.auth.roles import Role
from core.extensions import db
from core.models_base import utcnow
from escalations.models import Escalation, Team
from knowledge import editing, lifecycle
from knowledge.models import Article
from tests.conftest import csrf_token, sign_in
from tests.factories import World, make_escalation, make_team, make_ticket, make_user
from tickets import services as tickets
from tickets.models import MessageKind, Ticket


@dataclass
class Desk:
    """Alpha's second-level team (the world's expert) and its accounting department (level 3),
    with one German ticket escalated to the second level."""

    second: Team
    third: Team
    accountant: User
    ticket: Ticket
    escalation: Escalation


def _desk(world: World, *, since: datetime | None = None, language: str = "de", **packet: object) -> Desk:
    with tenancy.only(world.alpha.id):
        accountant = make_user("accounting@alpha.example", Role.CLIENT_EXPERT, tenant=world.alpha)
        second = make_team(world.alpha, "Second level", (world.alpha_expert,), ack_minutes=60)
        third = make_team(world.alpha, "Accounting", (accountant,), level=3)
        ticket = make_ticket(
            world.alpha,
            subject="Rechnung doppelt belastet",
            body="Meine Rechnung ist doppelt so hoch.",
            email="kunde@example.ch",
            language=language,
            key="portal-1",
        )
        escalation = make_escalation(ticket, world.agent_alpha, second, now=since, **packet)
        db.session.commit()
        return Desk(second, third, accountant, ticket, escalation)


def _text(response: object) -> str:
    return html.unescape(response.get_data(as_text=True))  # type: ignore[attr-defined]


def _as(client: FlaskClient, email: str) -> FlaskClient:
    other = client.application.test_client()
    sign_in(other, email)
    return other


def _post(client: FlaskClient, ticket_id: int, action: str, **data: object) -> object:
    path = f"/portal/tickets/{ticket_id}"
    return client.post(f"{path}/{action}", data={"csrf_token": csrf_token(client, path), **data})


def _reload(world: World, model: type, item_id: int) -> object:
    """The row as the requests left it (only this one is refreshed; the world stays loaded)."""
    with tenancy.only(world.alpha.id):
        stmt = select(model).where(model.id == item_id).execution_options(populate_existing=True)
        return db.session.execute(stmt).scalar_one()


# --- the queue ----------------------------------------------------------------------------------


def test_the_queue_shows_my_teams_escalations_with_clocks_in_my_language_and_zone(
    client: FlaskClient, world: World
) -> None:
    since = utcnow() - timedelta(hours=2)
    desk = _desk(world, since=since)
    with tenancy.only(world.alpha.id):
        world.alpha_expert.locale, world.alpha_expert.timezone = "de", "America/New_York"
        db.session.commit()
    sign_in(client, world.alpha_expert.email)
    page = _text(client.get("/portal/"))
    assert "Rechnung doppelt belastet" in page
    assert f'href="/portal/tickets/{desk.ticket.id}"' in page
    # Acknowledging was due an hour ago: red, overdue; resolving has most of a day left.
    ack_due = since + timedelta(minutes=60)
    shown = format_datetime(ack_due, "short", tzinfo="America/New_York", locale="de")
    assert shown in page
    row = page[page.index(f"ALPHA-{desk.ticket.number}") :]
    ack_cell = row[row.index('class="ack-due"') : row.index('class="resolve-due"')]
    assert "overdue-label" in ack_cell
    assert "1 Stunde" in ack_cell
    resolve_cell = row[row.index('class="resolve-due"') : row.index("</tr>")]
    assert "overdue-label" not in resolve_cell
    assert "Stunden" in resolve_cell


def test_urgent_escalations_are_marked(client: FlaskClient, world: World) -> None:
    desk = _desk(world, urgency="critical")
    sign_in(client, world.alpha_expert.email)
    page = _text(client.get("/portal/"))
    row = page[page.index(f'data-escalation="{desk.escalation.id}"') - 60 :]
    assert "priority-urgent" in row[:200]
    assert 'class="badge overdue-label urgent"' in row


def test_experts_see_only_their_teams_and_the_admin_sees_all_with_tabs(
    client: FlaskClient, world: World
) -> None:
    desk = _desk(world)
    accountant = _as(client, desk.accountant.email)
    assert "Rechnung doppelt belastet" not in _text(accountant.get("/portal/"))
    assert accountant.get(f"/portal/tickets/{desk.ticket.id}").status_code == 404
    assert accountant.get(f"/portal/?team={desk.second.id}").status_code == 404
    admin = _as(client, world.alpha_admin.email)
    page = _text(admin.get("/portal/"))
    assert 'id="team-tabs"' in page
    assert "Second level (1)" in page
    assert "Accounting (0)" in page
    assert "Rechnung doppelt belastet" in page
    assert "Rechnung doppelt belastet" not in _text(admin.get(f"/portal/?team={desk.third.id}"))
    assert "Rechnung doppelt belastet" in _text(admin.get(f"/portal/?team={desk.second.id}"))
    assert admin.get(f"/portal/?team={world.beta_team.id}").status_code == 404


def test_the_portal_refuses_other_clients_and_tickets_never_escalated_to_me(
    client: FlaskClient, world: World
) -> None:
    desk = _desk(world)
    sign_in(client, world.beta_expert.email)
    assert client.get(f"/portal/tickets/{desk.ticket.id}").status_code == 404
    assert _post(client, world.beta_ticket.id, "acknowledge").status_code == 302  # own ticket works
    assert (
        client.post(
            f"/portal/tickets/{desk.ticket.id}/acknowledge",
            data={"csrf_token": csrf_token(client, "/portal/")},
        ).status_code
        == 404
    )
    alpha = _as(client, world.alpha_expert.email)
    assert alpha.get(f"/portal/tickets/{world.alpha_ticket.id}").status_code == 404
    assert alpha.get(f"/portal/tickets/{world.beta_ticket.id}").status_code == 404
    assert "Facture incorrecte" not in _text(alpha.get("/portal/"))


# --- the ticket page ----------------------------------------------------------------------------


def test_the_ticket_page_shows_the_packet_the_chain_and_the_history(
    client: FlaskClient, world: World
) -> None:
    with tenancy.only(world.alpha.id):
        article = editing.create(
            editing.ArticleInput(
                tenant_id=world.alpha.id, language="de", title="Doppelte Rechnung stornieren", body="x"
            ),
            world.alpha_expert,
        )
        lifecycle.approve(article, world.alpha_expert)
        db.session.commit()
    desk = _desk(world, articles=[article.id])
    sign_in(client, world.alpha_expert.email)
    page = _text(client.get(f"/portal/tickets/{desk.ticket.id}"))
    handoff = page[page.index('id="handoff"') : page.index('id="actions"')]
    for label, value in [
        ("Summary", "The customer's invoice shows the wrong amount."),
        ("What the customer reported", "Invoice 2024-117 charges 240 instead of 120."),
        ("What the first level already tried", "Resent the invoice: same amount."),
        ("Knowledge-base articles consulted", "Doppelte Rechnung stornieren"),
        ("Urgency", "Medium: today"),
        ("Impact", "One person"),
        ("Customer availability", "Weekdays 9-17 by e-mail."),
    ]:
        assert label in handoff
        assert value in handoff
    chain = page[page.index('id="chain"') :]
    assert "Second level" in chain
    assert "Waiting to be acknowledged" in chain
    assert "Meine Rechnung ist doppelt so hoch." in page  # the customer's message
    assert "Escalation handoff" in page  # the packet on the timeline
    assert "escalated to a team: Second level" in " ".join(page.split())


def test_acknowledging_stops_the_clock_and_names_who(client: FlaskClient, world: World) -> None:
    desk = _desk(world)
    sign_in(client, world.alpha_expert.email)
    response = _post(client, desk.ticket.id, "acknowledge")
    assert response.status_code == 302
    page = _text(client.get(f"/portal/tickets/{desk.ticket.id}"))
    assert "Acknowledged: the desk sees that your team is on it." in page
    assert f"acknowledged by {world.alpha_expert.name}" in page
    assert 'id="ack-clock"' not in page
    assert _reload(world, Escalation, desk.escalation.id).status == "acknowledged"


def test_a_note_to_the_desk_is_internal_and_an_empty_one_is_refused(
    client: FlaskClient, world: World, smtp_to
) -> None:
    desk = _desk(world)
    sign_in(client, world.alpha_expert.email)
    sent = len(smtp_to.messages)
    response = _post(client, desk.ticket.id, "note", note="   ")
    assert response.status_code == 422
    assert "Write something first." in _text(response)
    assert _reload(world, Escalation, desk.escalation.id).status == "open"  # nothing half-done
    response = _post(client, desk.ticket.id, "note", note="Bitte Kundennummer erfragen.")
    assert response.status_code == 302
    assert "Your note is on the ticket" in _text(client.get(f"/portal/tickets/{desk.ticket.id}"))
    with tenancy.only(world.alpha.id):
        notes = [m.body for m in tickets.messages_of(desk.ticket) if m.kind == MessageKind.NOTE.value]
    assert "Bitte Kundennummer erfragen." in notes
    assert not [m for m in smtp_to.messages[sent:] if m["To"] == "kunde@example.ch"]


def test_answering_the_customer_mails_them_and_keeps_the_ticket(
    client: FlaskClient, world: World, smtp_to
) -> None:
    desk = _desk(world)
    sign_in(client, world.alpha_expert.email)
    response = _post(client, desk.ticket.id, "answer", message="Wir prüfen die Buchung bis morgen.")
    assert response.status_code == 302
    mail = smtp_to.messages[-1]
    assert mail["To"] == "kunde@example.ch"
    assert "Wir prüfen die Buchung bis morgen." in mail.get_body(("plain",)).get_content()
    ticket = _reload(world, Ticket, desk.ticket.id)
    assert ticket.status == "escalated"
    assert ticket.team_id == desk.second.id
    page = _text(client.get(f"/portal/tickets/{desk.ticket.id}"))
    assert "Your answer was sent to the customer" in page
    response = _post(client, desk.ticket.id, "answer", message="")
    assert response.status_code == 422
    assert "Write something first." in _text(response)


def test_resolving_with_the_answer_to_the_customer_and_a_draft_article(
    client: FlaskClient, world: World, smtp_to
) -> None:
    desk = _desk(world)
    sign_in(client, world.alpha_expert.email)
    response = _post(
        client,
        desk.ticket.id,
        "resolve",
        answer="Die doppelte Buchung ist storniert.",
        tell_customer="1",
        to_article="1",
    )
    assert response.status_code == 302
    assert "/kb/" in response.headers["Location"]
    # The last mail but the satisfaction survey, which follows the answer.
    answer, survey = (m.get_body(("plain",)).get_content() for m in smtp_to.messages[-2:])
    assert "Die doppelte Buchung ist storniert." in answer
    assert "/rate/" in survey
    assert _reload(world, Ticket, desk.ticket.id).status == "resolved"
    with tenancy.only(world.alpha.id):
        assert db.session.scalar(select(Article).where(Article.source_ticket_id == desk.ticket.id))
    queue = _text(client.get("/portal/"))
    closed = queue[queue.index("Recently closed") :]
    assert f"ALPHA-{desk.ticket.number}" in closed
    assert "Resolved" in closed


def test_resolving_for_the_desk_only_sends_the_customer_the_resolved_notice_in_their_language(
    client: FlaskClient, world: World, smtp_to
) -> None:
    desk = _desk(world, language="en")
    sign_in(client, world.alpha_expert.email)
    response = _post(client, desk.ticket.id, "resolve", answer="Refund booked, internal ref 77.")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/portal/")
    # The last mail but the satisfaction survey, which follows the notice.
    body = smtp_to.messages[-2].get_body(("plain",)).get_content()
    assert "/rate/" in smtp_to.messages[-1].get_body(("plain",)).get_content()
    assert "has been resolved by our specialists" in body
    assert "internal ref 77" not in body
    with tenancy.only(world.alpha.id):
        notes = [m.body for m in tickets.messages_of(desk.ticket) if m.kind == MessageKind.NOTE.value]
    assert "Refund booked, internal ref 77." in notes


def test_a_resolution_without_text_is_refused_and_the_options_kept(client: FlaskClient, world: World) -> None:
    desk = _desk(world)
    sign_in(client, world.alpha_expert.email)
    response = _post(client, desk.ticket.id, "resolve", answer=" ", tell_customer="1")
    assert response.status_code == 422
    page = _text(response)
    assert "Write something first." in page
    form = page[page.index('id="resolve-form"') :]
    assert 'name="tell_customer" value="1" checked' in form
    assert 'name="to_article" value="1" >' in form  # unticked, as it was sent
    assert _reload(world, Ticket, desk.ticket.id).status == "escalated"


def test_returning_to_the_desk_needs_instructions_and_hands_the_ticket_back(
    client: FlaskClient, world: World
) -> None:
    desk = _desk(world)
    sign_in(client, world.alpha_expert.email)
    response = _post(client, desk.ticket.id, "return", instructions="")
    assert response.status_code == 422
    assert "Write something first." in _text(response)
    response = _post(client, desk.ticket.id, "return", instructions="Bitte die Rechnungsnummer erfragen.")
    assert response.status_code == 302
    ticket = _reload(world, Ticket, desk.ticket.id)
    assert (ticket.status, ticket.level, ticket.team_id) == ("open", 1, None)
    page = _text(client.get(f"/portal/tickets/{desk.ticket.id}"))
    assert "Returned to the desk" in page
    assert 'id="actions"' not in page  # nothing left to do here
    response = _post(client, desk.ticket.id, "acknowledge")
    assert response.status_code == 409
    assert "This escalation is closed" in _text(response)


def test_forwarding_prefills_the_packet_and_hands_over_to_another_team(
    client: FlaskClient, world: World
) -> None:
    desk = _desk(world)
    sign_in(client, world.alpha_expert.email)
    page = _text(client.get(f"/portal/tickets/{desk.ticket.id}"))
    form = page[page.index('id="forward-form"') : page.index("</form>", page.index('id="forward-form"'))]
    assert "Invoice 2024-117 charges 240 instead of 120." in form
    assert f'<option value="{desk.third.id}"' in form
    assert f'<option value="{desk.second.id}"' not in form  # not back to itself
    packet = {
        "summary": "Double booking in the ledger.",
        "reported": "Charged twice.",
        "tried": "Second level checked the order.",
        "urgency": "high",
        "impact": "one",
        "availability": "Mornings.",
    }
    response = _post(client, desk.ticket.id, "forward", team_id=str(world.beta_team.id), **packet)
    assert response.status_code == 422
    assert "Choose one of this client's active teams." in _text(response)
    response = _post(
        client, desk.ticket.id, "forward", team_id=str(desk.third.id), **{**packet, "summary": ""}
    )
    assert response.status_code == 422
    page = _text(response)
    assert "Required." in page
    assert "Second level checked the order." in page  # what was typed is still there
    response = _post(client, desk.ticket.id, "forward", team_id=str(desk.third.id), **packet)
    assert response.status_code == 302
    page = _text(client.get(f"/portal/tickets/{desk.ticket.id}"))
    assert "Escalated further to Accounting." in page
    assert "Escalated further" in page[page.index('id="chain"') :]
    assert 'id="actions"' not in page  # the second level's part is done
    accountant = _as(client, desk.accountant.email)
    queue = _text(accountant.get("/portal/"))
    assert "Rechnung doppelt belastet" in queue
    page = _text(accountant.get(f"/portal/tickets/{desk.ticket.id}"))
    assert "Double booking in the ledger." in page
    assert _reload(world, Ticket, desk.ticket.id).level == 3


def test_linking_related_tickets_marks_a_problem(client: FlaskClient, world: World) -> None:
    desk = _desk(world)
    with tenancy.only(world.alpha.id):
        first = make_ticket(world.alpha, subject="Auch doppelt belastet", key="portal-2")
        second = make_ticket(world.alpha, subject="Rechnung zu hoch", key="portal-3")
        db.session.commit()
    sign_in(client, world.alpha_expert.email)
    response = _post(client, desk.ticket.id, "link", numbers=f"alpha-{first.number}, {second.number}")
    assert response.status_code == 302
    page = _text(client.get(f"/portal/tickets/{desk.ticket.id}"))
    assert "2 tickets linked to this problem." in page
    linked = page[page.index('id="linked-tickets"') :]
    assert f"ALPHA-{first.number}" in linked
    assert "Rechnung zu hoch" in linked
    assert "New" in linked or "Open" in linked
    assert _reload(world, Ticket, first.id).parent_id == desk.ticket.id
    assert "problem" in _reload(world, Ticket, desk.ticket.id).tags
    response = _post(client, desk.ticket.id, "unlink", child=str(second.id))
    assert response.status_code == 302
    assert _reload(world, Ticket, second.id).parent_id is None


@pytest.mark.parametrize(
    ("numbers", "message"),
    [
        ("BETA-{beta}", "BETA-{beta} is not a ticket of Alpha AG."),
        ("99999", "Alpha AG has no ticket 99999."),
        ("ALPHA-{own}", "A ticket cannot be linked to itself."),
        ("next week", "next is not a ticket number."),
        ("", "Enter the numbers of the tickets to link."),
    ],
)
def test_linking_refuses_what_is_not_a_ticket_of_this_client(
    client: FlaskClient, world: World, numbers: str, message: str
) -> None:
    desk = _desk(world)
    values = {"beta": world.beta_ticket.number, "own": desk.ticket.number}
    sign_in(client, world.alpha_expert.email)
    response = _post(client, desk.ticket.id, "link", numbers=numbers.format(**values))
    assert response.status_code == 422
    page = _text(response)
    assert message.format(**values) in page
    assert f'value="{numbers.format(**values)}"' in page  # the typed numbers are kept
    assert _reload(world, Ticket, desk.ticket.id).tags == []


def test_a_problem_cannot_become_its_own_grandchild(client: FlaskClient, world: World) -> None:
    desk = _desk(world)
    with tenancy.only(world.alpha.id):
        parent = make_ticket(world.alpha, subject="Grosse Störung", key="portal-4")
        tickets.link_parent(desk.ticket, parent)
        db.session.commit()
    sign_in(client, world.alpha_expert.email)
    response = _post(client, desk.ticket.id, "link", numbers=str(parent.number))
    assert response.status_code == 422
    assert "A ticket cannot be its own parent." in _text(response)


def test_the_admin_acts_for_every_team_of_the_client(client: FlaskClient, world: World) -> None:
    desk = _desk(world)
    sign_in(client, world.alpha_admin.email)
    assert _post(client, desk.ticket.id, "acknowledge").status_code == 302
    assert _reload(world, Escalation, desk.escalation.id).acknowledged_by_id == world.alpha_admin.id


def test_escalations_of_another_time_have_their_clock_in_the_past(world: World) -> None:
    """The service's due times follow the injected clock (the queue's red marks rely on it)."""
    since = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    desk = _desk(world, since=since)
    assert desk.escalation.ack_due_at == since + timedelta(minutes=60)
