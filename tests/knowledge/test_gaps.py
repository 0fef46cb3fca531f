"""Content gaps: searches that found nothing, answers consulted without resolving, answers readers
found unhelpful; and the page that lists them for the client."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from core import jobs, tenancy
from core.extensions import db
from core.models_base import utcnow
from knowledge import gaps
from knowledge.models import Article, ArticleUse, KbSearch
from tests.conftest import sign_in
from tests.factories import World, make_ticket
from tests.knowledge.test_help_center import make_article


def test_queries_are_normalised_and_empty_ones_skipped(world: World) -> None:
    with tenancy.only(world.alpha.id):
        row = gaps.log_search(world.alpha.id, "  Drucker \t KAPUTT\x00 ", "de", "help_center", 0)
        assert row is not None
        assert row.query == "drucker kaputt"
        assert gaps.log_search(world.alpha.id, "   ", "de", "help_center", 0) is None
        long = gaps.log_search(world.alpha.id, "x" * 500, "de", "desk", 3)
        assert long is not None
        assert len(long.query) == 200
        with pytest.raises(ValueError, match="source"):
            gaps.log_search(world.alpha.id, "drucker", "de", "elsewhere", 0)


def test_zero_hit_searches_are_grouped_until_an_answer_is_found(world: World) -> None:
    with tenancy.only(world.alpha.id):
        for query, language in (
            ("Rechnung falsch", "de"),
            ("rechnung  FALSCH", "de"),
            ("rechnung falsch", "en"),
        ):
            gaps.log_search(world.alpha.id, query, language, "help_center", 0)
        gaps.log_search(world.alpha.id, "Lieferung", "de", "desk", 0)
        gaps.log_search(world.alpha.id, "Drucker", "de", "help_center", 2)
        old = gaps.log_search(world.alpha.id, "uralt", "de", "help_center", 0)
        assert old is not None
        old.created_at = utcnow() - timedelta(days=60)
        jobs.commit()

        missing = gaps.content_gaps(world.alpha.id).missing
        assert [(m.query, m.count, m.languages) for m in missing] == [
            ("rechnung falsch", 3, ["de", "en"]),
            ("lieferung", 1, ["de"]),
        ]
        assert "uralt" in [m.query for m in gaps.content_gaps(world.alpha.id, days=90).missing]

        # An article was written since: the same question now finds it, so it is no gap any more.
        gaps.log_search(world.alpha.id, "Lieferung", "de", "help_center", 1)
        assert [m.query for m in gaps.content_gaps(world.alpha.id).missing] == ["rechnung falsch"]
    with tenancy.only(world.beta.id):
        assert gaps.content_gaps(world.beta.id).missing == []


def _use(article: Article, ticket_id: int | None, kind: str = "viewed") -> None:
    from core.extensions import db

    db.session.add(
        ArticleUse(
            tenant_id=article.tenant_id, article_id=article.id, ticket_id=ticket_id, kind=kind, language="de"
        )
    )


def test_articles_consulted_without_resolving_are_listed(world: World) -> None:
    weak = make_article(world.alpha, world.alpha_admin, "Router neu starten", "Stecker ziehen.")
    good = make_article(world.alpha, world.alpha_admin, "Passwort vergessen", "Link anklicken.")
    rare = make_article(world.alpha, world.alpha_admin, "Selten", "Kaum gebraucht.")
    with tenancy.system_scope():
        tickets = [make_ticket(world.alpha, subject=f"Problem {n}", key=f"gap-{n}") for n in range(3)]
    with tenancy.only(world.alpha.id):
        for ticket in tickets:
            _use(weak, ticket.id)
            _use(good, ticket.id, "inserted")
        _use(rare, tickets[0].id)
        # One of the three was resolved with the weak article; all three with the good one.
        tickets[0].kb_article_id, tickets[0].kb_resolution = weak.id, True
        tickets[1].kb_article_id, tickets[1].kb_resolution = good.id, True
        tickets[2].kb_article_id, tickets[2].kb_resolution = good.id, True
        jobs.commit()
        listed = gaps.content_gaps(world.alpha.id).weak
        assert [(w.article_id, w.title, w.uses, w.tickets, w.resolved) for w in listed] == [
            (weak.id, "Router neu starten", 3, 3, 1)
        ]
        assert round(listed[0].rate, 2) == 0.33


def test_votes_change_instead_of_adding_up_and_unhelpful_articles_are_listed(world: World) -> None:
    article = make_article(world.alpha, world.alpha_admin, "Garantie", "Zwei Jahre.")
    internal = make_article(world.alpha, world.alpha_admin, "Intern", "Nur intern.", visibility="internal")
    with tenancy.only(world.alpha.id):
        first = gaps.vote(article, "de", True, "a" * 64)
        again = gaps.vote(article, "de", False, "a" * 64)
        assert first.id == again.id
        assert (article.helpful_votes, article.unhelpful_votes) == (0, 1)
        gaps.vote(article, "de", False, "a" * 64)
        assert (article.helpful_votes, article.unhelpful_votes) == (0, 1)
        for voter in ("b", "c"):
            gaps.vote(article, "de", False, voter * 64)
        gaps.vote(article, "de", True, "d" * 64)
        assert (article.helpful_votes, article.unhelpful_votes) == (1, 3)
        listed = gaps.content_gaps(world.alpha.id).unhelpful
        assert [(u.article_id, u.helpful, u.unhelpful) for u in listed] == [(article.id, 1, 3)]
        from core.errors import NotFound

        with pytest.raises(NotFound):
            gaps.vote(internal, "de", True, "a" * 64)


def _gap(tenant_id: int, query: str) -> None:
    with tenancy.only(tenant_id):
        gaps.log_search(tenant_id, query, "de", "help_center", 0)
        jobs.commit()


def test_client_staff_see_their_gaps_with_a_link_to_write_the_article(
    client: FlaskClient, world: World
) -> None:
    _gap(world.alpha.id, "Rechnung & Mahnung")
    _gap(world.beta.id, "facture perdue")
    sign_in(client, "expert@alpha.example")
    page = client.get("/kb/gaps").get_data(as_text=True)
    assert "rechnung &amp; mahnung" in page
    assert f'href="/kb/new?tenant_id={world.alpha.id}&amp;title=rechnung+%26+mahnung"' in page
    assert "facture perdue" not in page
    new = client.get(f"/kb/new?tenant_id={world.alpha.id}&title=rechnung+%26+mahnung")
    assert 'value="rechnung &amp; mahnung"' in new.get_data(as_text=True)
    assert client.get(f"/kb/gaps?tenant_id={world.alpha.id}").status_code == 200
    assert client.get(f"/kb/gaps?tenant_id={world.beta.id}").status_code == 404


def test_provider_staff_choose_among_their_clients(client: FlaskClient, world: World) -> None:
    _gap(world.beta.id, "facture perdue")
    sign_in(client, "supervisor@provider.example")
    assert client.get("/kb/gaps").status_code == 200
    assert client.get(f"/kb/gaps?tenant_id={world.beta.id}").status_code == 404
    client.post("/logout", data={})
    admin = client.application.test_client()
    sign_in(admin, "admin@provider.example")
    page = admin.get(f"/kb/gaps?tenant_id={world.beta.id}&days=7").get_data(as_text=True)
    assert "facture perdue" in page
    assert "Beta AG" in page


def test_agents_do_not_see_the_gaps_page(client: FlaskClient, world: World) -> None:
    sign_in(client, "agent.alpha@provider.example")
    assert client.get("/kb/gaps").status_code == 403


def test_help_center_zero_hit_search_becomes_a_gap(client: FlaskClient, world: World) -> None:
    client.get("/t/alpha/help/search?q=Kaffeemaschine")
    with tenancy.only(world.alpha.id):
        assert [m.query for m in gaps.content_gaps(world.alpha.id).missing] == ["kaffeemaschine"]


def test_an_agents_own_search_is_logged_and_the_automatic_suggestions_are_not(
    client: FlaskClient, world: World
) -> None:
    sign_in(client, "agent.alpha@provider.example")
    client.get(f"/agent/tickets/{world.alpha_ticket.id}")  # suggestions from the ticket's words
    client.get(f"/agent/tickets/{world.alpha_ticket.id}?kbq=Entkalkungsprogramm")
    with tenancy.only(world.alpha.id):
        missing = gaps.content_gaps(world.alpha.id).missing
        assert [m.query for m in missing] == ["entkalkungsprogramm"]
        assert [row.source for row in db.session.scalars(select(KbSearch))] == ["desk"]
