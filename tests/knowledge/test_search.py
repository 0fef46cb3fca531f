"""Knowledge-base search: languages, ranking, typos, snippets, hostile queries, and the rules that
must never break (one tenant, public only, published only, current text only).

Runs on SQLite (FTS5) and, with DATABASE_URL set, on PostgreSQL (full-text search under RLS).
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from core import tenancy
from core.extensions import db
from knowledge import search
from knowledge.models import Article, ArticleStatus, ArticleTranslation, Visibility
from knowledge.search import plan
from tenants.models import Tenant
from tests.factories import World


def _text(
    tenant: Tenant,
    language: str,
    title: str,
    body: str,
    *,
    status: ArticleStatus = ArticleStatus.PUBLISHED,
    visibility: Visibility = Visibility.PUBLIC,
) -> ArticleTranslation:
    article = Article(tenant_id=tenant.id, status=status.value, visibility=visibility.value, tags=[])
    db.session.add(article)
    db.session.flush()
    translation = ArticleTranslation(
        tenant_id=tenant.id, article_id=article.id, language=language, title=title, body=body
    )
    db.session.add(translation)
    db.session.flush()
    search.index([translation.id])
    return translation


def _found(tenant: Tenant, query: str, **kwargs: object) -> list[int]:
    return [hit.translation_id for hit in search.search(tenant.id, query, **kwargs)]  # type: ignore[arg-type]


def test_a_german_plural_finds_the_singular(world: World) -> None:
    with tenancy.only(world.alpha.id):
        invoice = _text(world.alpha, "de", "Rechnung korrigieren", "Senden Sie uns die Rechnung zurück.")
        _text(world.alpha, "de", "Lieferung verfolgen", "Die Sendungsnummer steht in der E-Mail.")
        assert _found(world.alpha, "Rechnungen", languages=["de"]) == [invoice.id]


def test_a_french_singular_finds_the_plural_and_accents_do_not_matter(world: World) -> None:
    with tenancy.only(world.beta.id):
        bills = _text(world.beta, "fr", "Vos factures", "Les factures sont dans l'espace client.")
        phone = _text(world.beta, "fr", "Assistance", "Appelez le service par téléphone au 0800.")
        found = _found(world.beta, "facture", languages=["fr"])  # the world's "Corriger une facture" too
        assert bills.id in found
        assert phone.id not in found
        assert _found(world.beta, "telephone", languages=["fr"]) == [phone.id]
        assert _found(world.beta, "TÉLÉPHONÉ", languages=["fr"]) == [phone.id]


def test_each_language_is_stemmed_by_its_own_rules(world: World) -> None:
    with tenancy.only(world.beta.id):
        english = _text(world.beta, "en", "Invoices", "Where to find your invoices.")
        italian = _text(world.beta, "it", "Fatture", "Le fatture sono nel portale clienti.")
        assert _found(world.beta, "invoice", languages=["en"]) == [english.id]
        assert _found(world.beta, "fattura", languages=["it"]) == [italian.id]
        # No languages: the tenant's (fr, it, en), each query word stemmed per language.
        assert set(_found(world.beta, "invoice fattura")) == {english.id, italian.id}
        assert _found(world.beta, "invoice", languages=["it"]) == []


def test_a_title_match_ranks_above_a_body_match(world: World) -> None:
    with tenancy.only(world.alpha.id):
        in_body = _text(
            world.alpha, "de", "Konto verwalten", "Im Konto ändern Sie Adresse, Passwort und Zahlungsart."
        )
        in_title = _text(
            world.alpha, "de", "Passwort ändern", "Im Konto ändern Sie Adresse, Zugang und Zahlungsart."
        )
        assert _found(world.alpha, "Passwort", languages=["de"]) == [in_title.id, in_body.id]


def test_rare_words_weigh_more_than_common_ones(world: World) -> None:
    with tenancy.only(world.alpha.id):
        for n in range(4):
            _text(world.alpha, "en", f"Router {n}", f"Restart the router, model {n}.")
        wanted = _text(world.alpha, "en", "Firmware", "Update the firmware of the device.")
        assert _found(world.alpha, "router firmware", languages=["en"])[0] == wanted.id


def test_a_misspelt_word_still_finds_the_article(world: World) -> None:
    with tenancy.only(world.alpha.id):
        invoice = _text(world.alpha, "de", "Rechnung korrigieren", "Senden Sie uns die Rechnung zurück.")
        hits = search.search(world.alpha.id, "Rechnng", languages=["de"])
        assert [h.translation_id for h in hits] == [invoice.id]
        assert "<mark>Rechnung</mark>" in hits[0].snippet


def test_the_snippet_marks_the_match_and_escapes_html(world: World) -> None:
    with tenancy.only(world.alpha.id):
        _text(
            world.alpha,
            "en",
            "Scripts",
            "Never paste <script>alert(1)</script> into the **billing** page; invoices are PDFs.",
        )
        (hit,) = search.search(world.alpha.id, "invoice", languages=["en"])
        assert "<mark>invoices</mark>" in hit.snippet
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hit.snippet
        assert "<script>" not in hit.snippet
        assert "**" not in hit.snippet  # Markdown marks are not shown
        assert hit.title == "Scripts"


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '"Rechnung',
        "AND OR NOT",
        "Rechnung AND",
        "title:x",
        "title: Rechnung",
        "a*",
        "*",
        "-",
        "-Rechnung",
        "(",
        "Rechnung)",
        "NEAR(",
        "NEAR(Rechnung Lieferung, 2)",
        "^Rechnung",
        "{title body}: x",
        "<script>alert(1)</script>",
        "'; DROP TABLE articles; --",
        "\\",
        "\x00",
        "",
        "   ",
        "&|!:*",
        "Rechnung " * 1000,
        "x" * 5000,
    ],
)
def test_hostile_or_odd_queries_never_raise(world: World, query: str) -> None:
    with tenancy.only(world.alpha.id):
        _text(world.alpha, "de", "Rechnung korrigieren", "Senden Sie uns die Rechnung zurück.")
        for languages in (["de"], None):
            assert isinstance(search.search(world.alpha.id, query, languages=languages), list)
        # The transaction is still usable afterwards (no statement failed inside it).
        assert _found(world.alpha, "Rechnung", languages=["de"])


def test_another_tenants_articles_are_never_found(world: World) -> None:
    with tenancy.system_scope():
        theirs = _text(world.beta, "de", "Rechnung", "Rechnung Rechnung Rechnung")
    with tenancy.only(world.alpha.id):
        mine = _text(world.alpha, "de", "Rechnung korrigieren", "Senden Sie uns die Rechnung zurück.")
        assert _found(world.alpha, "Rechnung", languages=["de"]) == [mine.id]
        with pytest.raises(tenancy.TenancyViolation):
            search.search(world.beta.id, "Rechnung", languages=["de"])
    with tenancy.only(world.beta.id):
        assert _found(world.beta, "Rechnung", languages=["de"]) == [theirs.id]


def test_a_search_needs_a_tenancy_scope(world: World) -> None:
    with pytest.raises(tenancy.MissingTenancyContext):
        search.search(world.alpha.id, "Rechnung")


def test_internal_articles_are_not_public(world: World) -> None:
    with tenancy.only(world.alpha.id):
        internal = _text(
            world.alpha, "de", "Rechnung intern", "Gutschrift buchen.", visibility=Visibility.INTERNAL
        )
        public = _text(world.alpha, "de", "Rechnung", "Die Rechnung steht im Portal.")
        assert set(_found(world.alpha, "Rechnung", languages=["de"])) == {internal.id, public.id}
        assert _found(world.alpha, "Rechnung", languages=["de"], public_only=True) == [public.id]
        assert _found(world.alpha, "Gutschrift", languages=["de"], public_only=True) == []


def test_drafts_are_only_found_when_asked_for(world: World) -> None:
    with tenancy.only(world.alpha.id):
        draft = _text(world.alpha, "de", "Rechnung Entwurf", "Noch nicht fertig.", status=ArticleStatus.DRAFT)
        assert _found(world.alpha, "Rechnung", languages=["de"]) == []
        assert _found(world.alpha, "Rechnung", languages=["de"], statuses=("draft", "review")) == [draft.id]
        draft_article = db.session.get_one(Article, draft.article_id)
        draft_article.status = ArticleStatus.PUBLISHED.value  # publishing needs no reindex
        db.session.flush()
        assert _found(world.alpha, "Rechnung", languages=["de"]) == [draft.id]


def test_a_saved_text_is_found_by_its_new_words_only(world: World) -> None:
    with tenancy.only(world.alpha.id):
        text = _text(world.alpha, "de", "Router neu starten", "Stecker ziehen und warten.")
        text.title = "Modem zurücksetzen"
        text.body = "Die Reset-Taste zehn Sekunden drücken."
        db.session.flush()
        search.index([text.id])
        assert _found(world.alpha, "Modem", languages=["de"]) == [text.id]
        assert _found(world.alpha, "Reset Taste", languages=["de"]) == [text.id]
        assert _found(world.alpha, "Router", languages=["de"]) == []
        assert _found(world.alpha, "Stecker", languages=["de"]) == []


def test_unindexed_and_deleted_texts_are_gone(world: World) -> None:
    with tenancy.only(world.alpha.id):
        text = _text(world.alpha, "de", "Rechnung", "Die Rechnung steht im Portal.")
        other = _text(world.alpha, "de", "Rechnung Kopie", "Eine Kopie der Rechnung.")
        search.unindex([text.id])
        db.session.delete(text)
        db.session.flush()
        assert _found(world.alpha, "Rechnung", languages=["de"]) == [other.id]
        # Deleting the article (its texts go by cascade) needs no call at all.
        db.session.execute(delete(Article).where(Article.id == other.article_id))
        assert _found(world.alpha, "Rechnung", languages=["de"]) == []


def test_big_knowledge_bases_rank_only_the_rare_words_candidates(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plan, "CANDIDATES", 3)
    with tenancy.only(world.alpha.id):
        common = [
            _text(world.alpha, "en", f"Router {n}", f"The router and the cable, part {n}.") for n in range(5)
        ]
        rare = _text(world.alpha, "en", "Router firmware", "Update the router firmware and the cable.")
        # "router" and "cable" are too common to select: "firmware" alone does.
        assert _found(world.alpha, "router cable firmware", languages=["en"]) == [rare.id]
        # Only common words: the texts with all of them, at most CANDIDATES of them ranked.
        found = _found(world.alpha, "router cable", languages=["en"])
        assert 0 < len(found) <= 3
        assert set(found) <= {t.id for t in [*common, rare]}


def test_the_plan_is_or_over_rare_words_and_and_over_common_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan, "CANDIDATES", 100)
    assert plan.plan([0, 0]).mode is plan.Mode.TYPO
    assert plan.plan([5, 20, 0]) == plan.Plan(plan.Mode.ANY, (0, 1))
    assert plan.plan([101, 60, 50]) == plan.Plan(plan.Mode.ANY, (2,))
    assert plan.plan([101, 101]) == plan.Plan(plan.Mode.ALL, (0, 1), capped=True)


def test_reindexing_a_tenant_finds_the_same(world: World) -> None:
    with tenancy.only(world.alpha.id):
        text = _text(world.alpha, "de", "Rechnung korrigieren", "Senden Sie uns die Rechnung zurück.")
        before = search.search(world.alpha.id, "Rechnungen", languages=["de"])
        assert search.reindex_tenant(world.alpha.id) == 1
        after = search.search(world.alpha.id, "Rechnungen", languages=["de"])
        assert [h.translation_id for h in after] == [h.translation_id for h in before] == [text.id]
