"""The knowledge loop at the desk: suggestions on a ticket, an answer inserted and recorded, the
knowledge-base resolution, and an expert's resolution turned into a draft article."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from core import tenancy
from core.extensions import db
from knowledge import desk, editing, lifecycle
from knowledge import services as articles
from knowledge.models import Article, ArticleUse
from tests.conftest import csrf_token, sign_in
from tests.factories import World, make_escalation, make_team, make_ticket
from tickets import services as tickets
from tickets.models import MessageKind, Status, Ticket


def _published(
    world: World, language: str = "de", title: str = "Rechnung korrigieren", body: str = ""
) -> Article:
    article = editing.create(
        editing.ArticleInput(
            tenant_id=world.alpha.id,
            language=language,
            title=title,
            body=body or "Liebe(r) {contact_name}, senden Sie uns die Rechnung, wir korrigieren sie.",
        ),
        world.alpha_expert,
    )
    lifecycle.approve(article, world.alpha_expert)
    return article


def test_a_ticket_gets_the_published_articles_of_its_client_in_its_language(world: World) -> None:
    with tenancy.only(world.alpha.id):
        wanted = _published(world)
        draft = editing.create(
            editing.ArticleInput(tenant_id=world.alpha.id, language="de", title="Rechnung Entwurf", body="x"),
            world.alpha_expert,
        )
        ticket = make_ticket(
            world.alpha, subject="Rechnung falsch", body="Meine Rechnung stimmt nicht.", language="de"
        )
        found = desk.suggestions(ticket)
        assert [s.article.id for s in found] == [wanted.id]
        assert draft.id not in [s.article.id for s in found]
        assert found[0].fallback is False


def test_a_ticket_in_another_language_falls_back_to_the_clients_default_marked(world: World) -> None:
    with tenancy.only(world.alpha.id):
        _published(world)
        ticket = make_ticket(world.alpha, subject="Rechnung", body="Rechnung please", language="en")
        found = desk.suggestions(ticket)
        assert found
        assert found[0].fallback is True
        assert found[0].text.language == "de"


def test_the_inserted_answer_is_recorded_and_resolving_counts_as_a_kb_resolution(
    client: FlaskClient, world: World
) -> None:
    with tenancy.only(world.alpha.id):
        article = _published(world)
        ticket = make_ticket(
            world.alpha, subject="Rechnung falsch", body="Rechnung stimmt nicht", language="de"
        )
        ticket_id, article_id = ticket.id, article.id
    sign_in(client, world.agent_alpha.email)
    page = client.get(f"/agent/tickets/{ticket_id}").get_data(as_text=True)
    assert "Rechnung korrigieren" in page
    assert "Liebe(r) Chris Customer" in page  # the answer, with the ticket's placeholders filled
    answer = "Liebe(r) Chris Customer, senden Sie uns die Rechnung, wir korrigieren sie."
    response = client.post(
        f"/agent/tickets/{ticket_id}/reply",
        data={
            "csrf_token": csrf_token(client, f"/agent/tickets/{ticket_id}"),
            "kind": "reply",
            "body": answer,
            "article": str(article_id),
            "then": "resolve",
        },
    )
    assert response.status_code == 302
    alpha_id = world.alpha.id
    db.session.expire_all()
    with tenancy.only(alpha_id):
        ticket = db.session.get_one(Ticket, ticket_id)
        assert ticket.status == Status.RESOLVED.value
        assert ticket.kb_article_id == article_id
        assert ticket.kb_resolution is True
        uses = db.session.scalars(select(ArticleUse).where(ArticleUse.ticket_id == ticket_id)).all()
        assert [u.kind for u in uses] == ["inserted"]
        assert "kb_article" in [e.kind for e in tickets.history_of(ticket)]


def test_opening_an_article_from_a_ticket_counts_as_consulted(client: FlaskClient, world: World) -> None:
    with tenancy.only(world.alpha.id):
        article = _published(world)
        ticket_id, article_id = world.alpha_ticket.id, article.id
    sign_in(client, world.agent_alpha.email)
    page = client.get(f"/kb/{article_id}?ticket={ticket_id}")
    assert page.status_code == 200
    assert "Back to the ticket" in page.get_data(as_text=True)
    with tenancy.only(world.alpha.id):
        kinds = db.session.scalars(select(ArticleUse.kind).where(ArticleUse.ticket_id == ticket_id)).all()
        assert kinds == ["viewed"]


def test_an_article_of_another_client_cannot_be_inserted(client: FlaskClient, world: World) -> None:
    with tenancy.only(world.alpha.id):
        article_id = _published(world).id
    sign_in(client, world.agent_both.email)
    ticket_id = world.beta_ticket.id
    response = client.post(
        f"/agent/tickets/{ticket_id}/reply",
        data={
            "csrf_token": csrf_token(client, f"/agent/tickets/{ticket_id}"),
            "kind": "reply",
            "body": "Bonjour",
            "article": str(article_id),
        },
    )
    assert response.status_code == 404
    with tenancy.only(world.beta.id):
        assert db.session.get_one(Ticket, ticket_id).kb_article_id is None


def _escalate(world: World) -> int:
    """A German ticket escalated by the desk to alpha's second-level team (the expert is in it)."""
    with tenancy.only(world.alpha.id):
        ticket = make_ticket(
            world.alpha,
            subject="Gerät piept dreimal",
            body="Mein Geschirrspüler piept dreimal.",
            language="de",
        )
        team = make_team(world.alpha, "Technik", (world.alpha_expert,))
        make_escalation(ticket, world.agent_alpha, team, tried="Reset versucht, piept weiter.")
        db.session.commit()
        return ticket.id


def test_an_expert_resolves_an_escalation_and_gets_a_draft_article_from_it(
    client: FlaskClient, world: World
) -> None:
    ticket_id = _escalate(world)
    sign_in(client, world.alpha_expert.email)
    queue = client.get("/portal/").get_data(as_text=True)
    assert "Gerät piept dreimal" in queue
    page = client.get(f"/portal/tickets/{ticket_id}").get_data(as_text=True)
    assert "Reset versucht" in page
    response = client.post(
        f"/portal/tickets/{ticket_id}/resolve",
        data={
            "csrf_token": csrf_token(client, f"/portal/tickets/{ticket_id}"),
            "answer": "Drei Pieptöne: Wasserzulauf prüfen, Sieb reinigen.",
            "tell_customer": "1",
            "to_article": "1",
        },
    )
    assert response.status_code == 302
    assert "/kb/" in response.headers["Location"]
    alpha_id = world.alpha.id
    db.session.expire_all()
    with tenancy.only(alpha_id):
        ticket = db.session.get_one(Ticket, ticket_id)
        assert ticket.status == Status.RESOLVED.value
        assert MessageKind.REPLY.value in [m.kind for m in tickets.messages_of(ticket)]
        article = db.session.scalar(select(Article).where(Article.source_ticket_id == ticket_id))
        assert article is not None
        assert article.status == "draft"
        text = articles.translation(article, "de")
        assert text is not None
        assert text.title == "Gerät piept dreimal"
        assert "Geschirrspüler piept" in text.body
        assert "Sieb reinigen" in text.body


def test_the_portal_shows_only_escalated_tickets_of_the_own_company(
    client: FlaskClient, world: World
) -> None:
    ticket_id = _escalate(world)
    sign_in(client, world.beta_expert.email)
    assert client.get(f"/portal/tickets/{ticket_id}").status_code == 404
    assert "Gerät piept" not in client.get("/portal/").get_data(as_text=True)
    other = client.application.test_client()
    sign_in(other, world.alpha_expert.email)
    assert other.get(f"/portal/tickets/{world.alpha_ticket.id}").status_code == 404  # never escalated


def test_a_resolution_without_text_is_refused(client: FlaskClient, world: World) -> None:
    ticket_id = _escalate(world)
    sign_in(client, world.alpha_expert.email)
    response = client.post(
        f"/portal/tickets/{ticket_id}/resolve",
        data={"csrf_token": csrf_token(client, f"/portal/tickets/{ticket_id}"), "answer": "  "},
    )
    assert response.status_code == 422
    assert "Write something first." in response.get_data(as_text=True)
