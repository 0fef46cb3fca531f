"""Articles: texts per language, revisions that refuse stale saves, history, the client's review,
proposals from the desk, and the feed that tells agents what changed."""

from __future__ import annotations

import pytest

from core import jobs, tenancy
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.extensions import db
from knowledge import categories, editing, feed, lifecycle, proposals, text_history
from knowledge import services as articles
from knowledge.models import Article, ArticleStatus, ChangeKind
from tests.conftest import SmtpServer
from tests.factories import World


def _draft(world: World, **overrides: object) -> Article:
    data = {
        "tenant_id": world.alpha.id,
        "language": "de",
        "title": "Rechnung korrigieren",
        "body": "So korrigieren Sie eine **Rechnung**.",
    }
    data.update(overrides)
    return editing.create(editing.ArticleInput(**data), world.alpha_expert)  # type: ignore[arg-type]


def test_client_staff_write_drafts_and_the_body_is_sanitized(world: World) -> None:
    with tenancy.only(world.alpha.id):
        article = _draft(world, body="Hallo <script>alert(1)</script> [x](javascript:alert(1))")
        text = articles.translation(article, "de")
        assert article.status == ArticleStatus.DRAFT.value
        assert text is not None
        assert text.revision == 1
        assert "<script>" not in text.body_html
        assert "&lt;script&gt;" in text.body_html
        assert 'href="javascript' not in text.body_html
        assert [v.number for v in text_history.versions(article, "de")] == [1]


def test_an_agent_creating_an_article_proposes_it_for_review(world: World) -> None:
    with tenancy.only(world.alpha.id):
        article = editing.create(
            editing.ArticleInput(
                tenant_id=world.alpha.id, language="en", title="Reset", body="Hold the button."
            ),
            world.agent_alpha,
        )
        assert article.status == ArticleStatus.REVIEW.value
        assert article.proposed_by_id == world.agent_alpha.id
        with pytest.raises(PermissionDenied):
            lifecycle.approve(article, world.agent_alpha)


def test_a_language_the_client_does_not_serve_is_refused(world: World) -> None:
    with tenancy.only(world.alpha.id), pytest.raises(ValidationFailed) as exc:
        _draft(world, language="it", title="")
    assert set(exc.value.fields) == {"language", "title"}


def test_the_second_of_two_concurrent_saves_is_refused_not_lost(world: World) -> None:
    with tenancy.only(world.alpha.id):
        article = _draft(world)
        editing.save_text(
            article,
            "de",
            title="Rechnung korrigieren",
            body="Erste Fassung.",
            base_revision=1,
            actor=world.alpha_admin,
        )
        with pytest.raises(Conflict) as exc:
            editing.save_text(
                article,
                "de",
                title="Rechnung",
                body="Zweite Fassung.",
                base_revision=1,
                actor=world.alpha_expert,
            )
        assert "Someone else saved this text" in str(exc.value.message)
        text = articles.translation(article, "de")
        assert text is not None
        assert text.body == "Erste Fassung."
        assert text.revision == 2


def test_history_shows_the_difference_and_restores_an_old_text(world: World) -> None:
    with tenancy.only(world.alpha.id):
        article = _draft(world, body="Zeile eins\nZeile zwei")
        editing.save_text(
            article,
            "de",
            title="Rechnung korrigieren",
            body="Zeile eins\nZeile drei",
            base_revision=1,
            actor=world.alpha_expert,
        )
        new, old = text_history.versions(article, "de")
        lines = text_history.diff(old, new)
        assert ("removed", "Zeile zwei") in [(line.kind, line.text) for line in lines]
        assert ("added", "Zeile drei") in [(line.kind, line.text) for line in lines]
        text_history.restore(article, "de", 1, world.alpha_expert, base_revision=2)
        text = articles.translation(article, "de")
        assert text is not None
        assert text.body == "Zeile eins\nZeile zwei"
        assert text.revision == 3
        assert text_history.versions(article, "de")[0].note.startswith("Restored version 1")


def test_only_the_clients_staff_approve_and_publishing_feeds_the_desk(world: World) -> None:
    with tenancy.only(world.alpha.id):
        article = _draft(world)
        lifecycle.submit(article, world.alpha_expert, reviewer_id=world.alpha_admin.id)
        with pytest.raises(PermissionDenied):
            lifecycle.approve(article, world.admin)  # the provider writes, the client approves
        lifecycle.approve(article, world.alpha_admin)
        assert article.status == ArticleStatus.PUBLISHED.value
        assert article.approved_by_id == world.alpha_admin.id
        entries = feed.entries(world.agent_alpha, [world.alpha.id])
        assert [(e.change.kind, e.title, e.acknowledged) for e in entries] == [
            (ChangeKind.PUBLISHED.value, "Rechnung korrigieren", False)
        ]
        change = entries[0].change
        assert feed.unread_count(world.agent_alpha, [world.alpha.id]) == 1
        unread = {u.email for u in feed.readers(change).unread}
        assert {"agent.alpha@provider.example", "agent.both@provider.example"} <= unread
        assert feed.acknowledge(change, world.agent_alpha) is True
        assert feed.acknowledge(change, world.agent_alpha) is False  # twice is once
        readers = feed.readers(change)
        assert [u.email for u, _ack in readers.read] == ["agent.alpha@provider.example"]
        assert world.agent_alpha not in readers.unread
        assert feed.unread_count(world.agent_alpha, [world.alpha.id]) == 0


def test_a_reviewer_must_be_the_clients_own_staff(world: World) -> None:
    with tenancy.only(world.alpha.id):
        article = _draft(world)
        with pytest.raises(ValidationFailed):
            lifecycle.submit(article, world.alpha_expert, reviewer_id=world.agent_alpha.id)


def test_changing_a_published_text_tells_the_desk_unless_minor(world: World) -> None:
    with tenancy.only(world.alpha.id):
        article = _draft(world)
        lifecycle.approve(article, world.alpha_expert)
        editing.save_text(
            article,
            "de",
            title="Rechnung korrigieren",
            body="Neu.",
            base_revision=1,
            actor=world.alpha_expert,
            note="Frist geändert",
        )
        editing.save_text(
            article,
            "de",
            title="Rechnung korrigieren",
            body="Neu, Tippfehler.",
            base_revision=2,
            actor=world.alpha_expert,
            notify=False,
        )
        kinds = [(e.change.kind, e.change.summary) for e in feed.entries(world.agent_alpha)]
        assert kinds == [("updated", "Frist geändert"), ("published", "")]


def test_archiving_withdraws_and_reopening_makes_a_draft(world: World) -> None:
    with tenancy.only(world.alpha.id):
        article = _draft(world)
        lifecycle.approve(article, world.alpha_expert)
        lifecycle.archive(article, world.alpha_admin)
        assert feed.entries(world.agent_alpha)[0].change.kind == "archived"
        with pytest.raises(Conflict):
            lifecycle.approve(article, world.alpha_admin)
        lifecycle.reopen(article, world.alpha_admin)
        assert article.status == "draft"


def test_a_proposal_applies_when_accepted_and_is_refused_when_the_text_moved_on(world: World) -> None:
    with tenancy.only(world.alpha.id):
        article = _draft(world)
        lifecycle.approve(article, world.alpha_expert)
        first = proposals.propose(
            article,
            "de",
            title="Rechnung korrigieren",
            body="Besser so.",
            note="Kunden fragen oft",
            actor=world.agent_alpha,
        )
        second = proposals.propose(
            article, "de", title="Rechnung korrigieren", body="Oder so.", note="", actor=world.agent_both
        )
        with pytest.raises(PermissionDenied):
            proposals.accept(first, world.agent_alpha)
        proposals.accept(first, world.alpha_admin)
        text = articles.translation(article, "de")
        assert text is not None
        assert text.body == "Besser so."
        with pytest.raises(Conflict):
            proposals.accept(second, world.alpha_admin)
        db.session.rollback()


def test_categories_nest_and_removing_one_keeps_its_articles(world: World) -> None:
    with tenancy.only(world.alpha.id):
        top = categories.save(world.alpha.id, {"de": "Rechnungen", "en": "Invoices"}, None)
        sub = categories.save(world.alpha.id, {"de": "Mahnungen"}, top.id)
        with pytest.raises(ValidationFailed):
            categories.save(world.alpha.id, {"de": "Schleife"}, sub.id, top)
        article = _draft(world, category_id=sub.id)
        assert [(depth, name) for _c, depth, name in categories.flat(world.alpha.id, "en")] == [
            (0, "Invoices"),
            (1, "Mahnungen"),
        ]
        categories.delete(sub)
        db.session.refresh(article)
        assert article.category_id == top.id


def test_another_tenants_category_is_refused(world: World) -> None:
    with tenancy.system_scope():
        theirs = categories.save(world.beta.id, {"fr": "Factures"}, None)
        db.session.commit()
    with tenancy.only(world.alpha.id), pytest.raises(ValidationFailed) as exc:
        _draft(world, category_id=theirs.id)
    assert "category_id" in exc.value.fields


def test_the_reviewer_is_mailed_in_their_language_or_else_the_clients_admins(
    world: World, smtp_to: SmtpServer
) -> None:
    with tenancy.only(world.alpha.id):
        named = _draft(world)
        lifecycle.submit(named, world.admin, reviewer_id=world.alpha_expert.id)
        unnamed = _draft(world, title="Lieferstatus abfragen")
        lifecycle.submit(unnamed, world.admin)
        jobs.commit()
    mails = [(mail["To"], mail["Subject"]) for mail in smtp_to.messages]
    assert [to for to, _subject in mails] == ["expert@alpha.example", "admin@alpha.example"]
    assert "Rechnung korrigieren" in mails[0][1]
    assert "Lieferstatus abfragen" in mails[1][1]
    assert f"/kb/{named.id}" in smtp_to.messages[0].get_content()
