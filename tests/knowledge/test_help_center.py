"""The public help center: a client's public answers only, searchable, in the visitor's language,
with votes, and the way to the contact form."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select

from core import jobs, tenancy
from core.auth.models import User
from core.extensions import db
from knowledge import editing, lifecycle
from knowledge.editing import ArticleInput
from knowledge.models import Article, ArticleVote, KbCategory, KbSearch
from tenants.models import Tenant
from tests.conftest import csrf_token
from tests.factories import World


def make_article(
    tenant: Tenant,
    actor: User,
    title: str,
    body: str,
    *,
    language: str | None = None,
    visibility: str = "public",
    publish: bool = True,
    category_id: int | None = None,
    texts: dict[str, tuple[str, str]] | None = None,
) -> Article:
    with tenancy.only(tenant.id):
        article = editing.create(
            ArticleInput(
                tenant_id=tenant.id,
                language=language or tenant.default_language,
                title=title,
                body=body,
                visibility=visibility,
                category_id=category_id,
            ),
            actor,
        )
        for lang, (other_title, other_body) in (texts or {}).items():
            editing.save_text(
                article, lang, title=other_title, body=other_body, base_revision=None, actor=actor
            )
        if publish:
            lifecycle.approve(article, actor)
        jobs.commit()
        return article


def searches(tenant: Tenant) -> list[KbSearch]:
    with tenancy.only(tenant.id):
        return list(db.session.scalars(select(KbSearch).order_by(KbSearch.id)))


def test_home_lists_only_the_clients_public_published_articles(client: FlaskClient, world: World) -> None:
    with tenancy.only(world.alpha.id):
        category = KbCategory(tenant_id=world.alpha.id, names={"de": "Drucker", "en": "Printers"})
        db.session.add(category)
        jobs.commit()
    make_article(
        world.alpha, world.alpha_admin, "Papierstau beheben", "Klappe öffnen.", category_id=category.id
    )
    make_article(world.alpha, world.alpha_admin, "Toner wechseln", "Kartusche tauschen.")
    make_article(world.alpha, world.alpha_admin, "Interne Eskalation", "Nur intern.", visibility="internal")
    make_article(world.alpha, world.alpha_admin, "Entwurf Garantie", "Noch nicht fertig.", publish=False)
    make_article(world.beta, world.beta_admin, "Bourrage papier", "Ouvrez le capot.")

    response = client.get("/t/alpha/help")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Alpha AG" in page
    assert "Papierstau beheben" in page
    assert "Toner wechseln" in page
    assert "Drucker" in page
    assert "Interne Eskalation" not in page
    assert "Entwurf Garantie" not in page
    assert "Bourrage papier" not in page
    assert '<html lang="de">' in page


def test_public_home_links_the_help_center(client: FlaskClient, world: World) -> None:
    assert 'href="/t/alpha/help"' in client.get("/t/alpha/").get_data(as_text=True)


def test_search_finds_by_a_word_and_is_logged(client: FlaskClient, world: World) -> None:
    article = make_article(world.alpha, world.alpha_admin, "Drucker verbinden", "Mit dem WLAN verbinden.")
    page = client.get("/t/alpha/help/search?q=Drucker").get_data(as_text=True)
    assert "Drucker verbinden" in page
    assert f"/t/alpha/help/articles/{article.id}-drucker-verbinden" in page
    assert 'href="/t/alpha/contact?lang=de&amp;q=Drucker"' in page
    logged = searches(world.alpha)
    assert [(s.query, s.hits, s.language, s.source) for s in logged] == [("drucker", 1, "de", "help_center")]


def test_search_that_finds_nothing_offers_the_contact_form_with_the_terms(
    client: FlaskClient, world: World
) -> None:
    make_article(world.alpha, world.alpha_admin, "Drucker verbinden", "Mit dem WLAN verbinden.")
    page = client.get("/t/alpha/help/search?q=Rechnung+Fehler").get_data(as_text=True)
    assert "Drucker verbinden" not in page
    assert 'href="/t/alpha/contact?lang=de&amp;q=Rechnung+Fehler"' in page
    assert [(s.query, s.hits) for s in searches(world.alpha)] == [("rechnung fehler", 0)]
    form = client.get("/t/alpha/contact?lang=de&q=Rechnung+Fehler").get_data(as_text=True)
    assert re.search(r"<textarea[^>]*name=\"message\"[^>]*>\s*Rechnung Fehler</textarea>", form)


def test_internal_draft_and_other_clients_articles_are_not_found(client: FlaskClient, world: World) -> None:
    internal = make_article(world.alpha, world.alpha_admin, "Intern", "Nur intern.", visibility="internal")
    draft = make_article(world.alpha, world.alpha_admin, "Entwurf", "Noch nicht.", publish=False)
    foreign = make_article(world.beta, world.beta_admin, "Facture", "Ouvrez le portail.")
    public = make_article(world.alpha, world.alpha_admin, "Öffentlich", "Für alle.")
    assert client.get(f"/t/alpha/help/articles/{public.id}").status_code == 200
    assert client.get(f"/t/alpha/help/articles/{public.id}-anything").status_code == 200
    for article in (internal, draft, foreign):
        assert client.get(f"/t/alpha/help/articles/{article.id}").status_code == 404
    # Beta's own articles are public under beta's slug, not under alpha's.
    assert client.get(f"/t/beta/help/articles/{foreign.id}").status_code == 200
    assert client.get(f"/t/alpha/help/articles/{world.beta_article.id}").status_code == 404
    assert client.get(f"/t/beta/help/articles/{world.beta_article.id}").status_code == 200
    token = csrf_token(client, f"/t/alpha/help/articles/{public.id}")
    for article in (internal, draft, foreign):
        response = client.post(
            f"/t/alpha/help/articles/{article.id}/vote", data={"csrf_token": token, "helpful": "yes"}
        )
        assert response.status_code == 404
    # Nor do searches find what is not public.
    page = client.get("/t/alpha/help/search?q=intern").get_data(as_text=True)
    assert "Nur intern" not in page


def test_unknown_client_is_not_found(client: FlaskClient, world: World) -> None:
    for path in ("/t/nobody/help", "/t/nobody/help/search?q=x", "/t/nobody/help/articles/1"):
        assert client.get(path).status_code == 404


def test_language_switcher_shows_the_chosen_text_and_marks_the_fallback(
    client: FlaskClient, world: World
) -> None:
    both = make_article(
        world.alpha,
        world.alpha_admin,
        "Passwort zurücksetzen",
        "Klicken Sie auf Passwort vergessen.",
        texts={"en": ("Reset your password", "Click on forgot password.")},
    )
    german = make_article(world.alpha, world.alpha_admin, "Lieferzeiten", "Zwei bis drei Tage.")

    page = client.get(f"/t/alpha/help/articles/{both.id}").get_data(as_text=True)
    assert "Passwort zurücksetzen" in page
    assert 'lang="en" hreflang="en">English</a>' in page
    assert 'lang="de" hreflang="de" aria-current="true">Deutsch</a>' in page

    page = client.get(f"/t/alpha/help/articles/{both.id}?lang=en").get_data(as_text=True)
    assert "Reset your password" in page
    assert '<html lang="en">' in page
    assert "not available in your language" not in page

    # The choice is remembered for this client.
    page = client.get(f"/t/alpha/help/articles/{german.id}").get_data(as_text=True)
    assert "Lieferzeiten" in page
    assert "This article is not available in your language; it is shown in German." in page

    # A language the client does not serve is ignored.
    page = client.get(f"/t/alpha/help/articles/{both.id}?lang=fr").get_data(as_text=True)
    assert "Reset your password" in page


def test_browser_language_is_the_default_among_the_clients_languages(
    client: FlaskClient, world: World
) -> None:
    article = make_article(
        world.alpha, world.alpha_admin, "Rückgabe", "So geht es.", texts={"en": ("Returns", "This is how.")}
    )
    page = client.get(f"/t/alpha/help/articles/{article.id}", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Returns" in page.get_data(as_text=True)
    page = client.get(f"/t/alpha/help/articles/{article.id}", headers={"Accept-Language": "fr"})
    assert "Rückgabe" in page.get_data(as_text=True)


def test_voting_twice_keeps_one_vote_and_the_counts_right(client: FlaskClient, world: World) -> None:
    article = make_article(world.alpha, world.alpha_admin, "Garantie", "Zwei Jahre.")
    url = f"/t/alpha/help/articles/{article.id}"
    token = csrf_token(client, url)

    response = client.post(f"{url}/vote", data={"csrf_token": token, "helpful": "no"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'class="flash flash-success"' in page
    assert 'aria-pressed="true">Nein</button>' in page or 'aria-pressed="true">No</button>' in page
    client.post(f"{url}/vote", data={"csrf_token": token, "helpful": "yes"})
    client.post(f"{url}/vote", data={"csrf_token": token, "helpful": "yes"})

    with tenancy.only(world.alpha.id):
        db.session.refresh(article)
        votes = list(db.session.scalars(select(ArticleVote).where(ArticleVote.article_id == article.id)))
        assert [(v.helpful, len(v.voter)) for v in votes] == [(True, 64)]
        assert (article.helpful_votes, article.unhelpful_votes) == (1, 0)

    # Another visitor counts separately.
    other = client.application.test_client()
    other.post(f"{url}/vote", data={"csrf_token": csrf_token(other, url), "helpful": "no"})
    with tenancy.only(world.alpha.id):
        db.session.refresh(article)
        assert (article.helpful_votes, article.unhelpful_votes) == (1, 1)


def test_a_vote_without_the_csrf_token_is_refused(client: FlaskClient, world: World) -> None:
    article = make_article(world.alpha, world.alpha_admin, "Garantie", "Zwei Jahre.")
    response = client.post(f"/t/alpha/help/articles/{article.id}/vote", data={"helpful": "yes"})
    assert response.status_code == 400
    with tenancy.only(world.alpha.id):
        db.session.refresh(article)
        assert article.helpful_votes == 0


def test_script_in_the_query_is_harmless(client: FlaskClient, world: World) -> None:
    make_article(world.alpha, world.alpha_admin, "Skript Hilfe", "Text ohne Skript.")
    response = client.get("/t/alpha/help/search", query_string={"q": '<script>alert("x")</script>'})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in page
    # Stray parameters named like the URL's own do not break the language switcher's links.
    assert client.get("/t/alpha/help/search?q=Skript&slug=beta&article_id=1").status_code == 200
    form = client.get("/t/alpha/contact", query_string={"q": "<script>alert(1)</script>"}).get_data(
        as_text=True
    )
    assert "<script>alert" not in form


def test_images_of_public_articles_are_served_and_no_others(client: FlaskClient, world: World) -> None:
    from knowledge import files
    from tickets.attachments import Upload

    public = make_article(world.alpha, world.alpha_admin, "Anschluss", "Siehe Bild.")
    internal = make_article(world.alpha, world.alpha_admin, "Intern", "Nur intern.", visibility="internal")
    with tenancy.only(world.alpha.id):
        image = files.add(public, Upload("plan.png", "image/png", b"\x89PNG alpha"), world.alpha_admin)
        hidden = files.add(internal, Upload("geheim.png", "image/png", b"\x89PNG hidden"), world.alpha_admin)
        editing.save_text(
            public,
            "de",
            title="Anschluss",
            body=f"![Plan](kbfile:{image.id}) ![Fremd](kbfile:{hidden.id})",
            base_revision=1,
            actor=world.alpha_admin,
        )
        jobs.commit()
    page = client.get(f"/t/alpha/help/articles/{public.id}").get_data(as_text=True)
    assert f'src="/t/alpha/help/files/{image.id}"' in page
    assert f"/t/alpha/help/files/{hidden.id}" not in page
    response = client.get(f"/t/alpha/help/files/{image.id}")
    assert response.status_code == 200
    assert response.data == b"\x89PNG alpha"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert client.get(f"/t/alpha/help/files/{hidden.id}").status_code == 404
    assert client.get(f"/t/alpha/help/files/{world.beta_article_file.id}").status_code == 404
    assert client.get(f"/t/beta/help/files/{world.beta_article_file.id}").status_code == 200
