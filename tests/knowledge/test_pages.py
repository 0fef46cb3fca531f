"""The knowledge-base pages as their users meet them: write, collide, review, propose, read."""

from __future__ import annotations

from flask.testing import FlaskClient

from core import tenancy
from core.extensions import db
from knowledge import editing, lifecycle
from knowledge import services as articles
from knowledge.models import Article, ArticleProposal
from tests.conftest import csrf_token, sign_in
from tests.factories import World


def _post(client: FlaskClient, path: str, data: dict[str, str], page: str = "/kb/") -> object:
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


def _article_id(client: FlaskClient, world: World, **data: str) -> int:
    response = _post(
        client,
        f"/kb/new?tenant_id={world.alpha.id}",
        {"language": "de", "title": "Sieb reinigen", "body": "Sieb unten herausdrehen.", **data},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


def test_an_expert_writes_a_draft_and_sees_the_missing_translation(client: FlaskClient, world: World) -> None:
    sign_in(client, world.alpha_expert.email)
    article_id = _article_id(client, world)
    page = client.get(f"/kb/{article_id}").get_data(as_text=True)
    assert "Sieb unten herausdrehen." in page
    assert "missing: add it" in page  # alpha serves English too
    listing = client.get("/kb/?missing=en").get_data(as_text=True)
    assert "Sieb reinigen" in listing


def test_invalid_input_is_shown_on_the_form_not_a_500(client: FlaskClient, world: World) -> None:
    sign_in(client, world.alpha_expert.email)
    response = _post(
        client, f"/kb/new?tenant_id={world.alpha.id}", {"language": "fr", "title": "", "body": ""}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Give a title of at most 300 characters." in html
    assert "This client does not serve customers in that language." in html


def test_a_stale_save_is_refused_with_both_texts_on_the_page(client: FlaskClient, world: World) -> None:
    sign_in(client, world.alpha_expert.email)
    article_id = _article_id(client, world)
    first = _post(
        client,
        f"/kb/{article_id}/edit/de",
        {"title": "Sieb reinigen", "body": "Erste Änderung.", "revision": "1"},
    )
    assert first.status_code == 302
    second = _post(
        client,
        f"/kb/{article_id}/edit/de",
        {"title": "Sieb reinigen", "body": "Meine Änderung.", "revision": "1"},
    )
    assert second.status_code == 409
    html = second.get_data(as_text=True)
    assert "Someone else saved this text" in html
    assert "Erste Änderung." in html  # the current text, to compare
    assert "Meine Änderung." in html  # and the editor's own, not lost


def test_an_agent_proposes_a_change_and_the_client_accepts_it(client: FlaskClient, world: World) -> None:
    with tenancy.only(world.alpha.id):
        article = editing.create(
            editing.ArticleInput(tenant_id=world.alpha.id, language="de", title="Garantie", body="2 Jahre."),
            world.alpha_expert,
        )
        lifecycle.approve(article, world.alpha_expert)
        db.session.commit()
        article_id = article.id
    sign_in(client, world.agent_alpha.email)
    page = client.get(f"/kb/{article_id}").get_data(as_text=True)
    assert "Propose a change" in page
    assert "kb-approve" not in page
    response = _post(
        client,
        f"/kb/{article_id}/edit/de",
        {"title": "Garantie", "body": "2 Jahre ab Kaufdatum.", "note": "Kunden fragen ab wann"},
    )
    assert response.status_code == 302
    with tenancy.only(world.alpha.id):
        text = articles.translation(db.session.get_one(Article, article_id), "de")
        assert text is not None
        assert text.body == "2 Jahre."  # not changed until the client decides
    reviewer = client.application.test_client()
    sign_in(reviewer, world.alpha_admin.email)
    proposals_page = reviewer.get("/kb/proposals").get_data(as_text=True)
    assert "2 Jahre ab Kaufdatum." in proposals_page
    with tenancy.only(world.alpha.id):
        proposal_id = db.session.scalar(
            db.select(ArticleProposal.id).where(ArticleProposal.article_id == article_id)
        )
    accepted = reviewer.post(
        f"/kb/proposals/{proposal_id}/accept", data={"csrf_token": csrf_token(reviewer, "/kb/proposals")}
    )
    assert accepted.status_code == 302
    alpha_id = world.alpha.id
    db.session.expire_all()
    with tenancy.only(alpha_id):
        text = articles.translation(db.session.get_one(Article, article_id), "de")
        assert text is not None
        assert text.body == "2 Jahre ab Kaufdatum."


def test_the_workflow_through_the_pages_and_the_feed_acknowledged(client: FlaskClient, world: World) -> None:
    sign_in(client, world.alpha_expert.email)
    article_id = _article_id(client, world)
    assert _post(client, f"/kb/{article_id}/workflow", {"action": "submit"}).status_code == 302
    assert _post(client, f"/kb/{article_id}/workflow", {"action": "approve"}).status_code == 302
    assert "Published" in client.get(f"/kb/{article_id}").get_data(as_text=True)
    agent = client.application.test_client()
    sign_in(agent, world.agent_alpha.email)
    home = agent.get("/").get_data(as_text=True)
    assert "1 change in the clients" in home
    feed_page = agent.get("/kb/feed?unread=1").get_data(as_text=True)
    assert "Sieb reinigen" in feed_page
    change_id = int(feed_page.split('action="/kb/feed/')[1].split("/", 1)[0])
    agent.post(f"/kb/feed/{change_id}/ack", data={"csrf_token": csrf_token(agent, "/kb/feed")})
    assert "Sieb reinigen" not in agent.get("/kb/feed?unread=1").get_data(as_text=True)
    supervisor = client.application.test_client()
    sign_in(supervisor, world.supervisor.email)
    assert "2 agents have not read it" in supervisor.get("/kb/feed").get_data(
        as_text=True
    )  # both, supervisor
    readers = supervisor.get(f"/kb/feed/{change_id}/readers").get_data(as_text=True)
    not_read, read = readers.split('id="read"')
    assert "Agent.Alpha" in read
    assert "Agent.Both" in not_read


def test_an_agent_cannot_approve(client: FlaskClient, world: World) -> None:
    sign_in(client, world.agent_alpha.email)
    article_id = _article_id(client, world)  # a proposal, in review
    _post(client, f"/kb/{article_id}/workflow", {"action": "approve"})
    with tenancy.only(world.alpha.id):
        assert db.session.get_one(Article, article_id).status == "review"


def test_history_shows_the_diff_and_restores(client: FlaskClient, world: World) -> None:
    sign_in(client, world.alpha_expert.email)
    article_id = _article_id(client, world)
    _post(
        client,
        f"/kb/{article_id}/edit/de",
        {"title": "Sieb reinigen", "body": "Neuer Text.", "revision": "1"},
    )
    history = client.get(f"/kb/{article_id}/history/de").get_data(as_text=True)
    assert 'class="diff-removed"' in history
    assert "Neuer Text." in history
    restored = _post(client, f"/kb/{article_id}/history/de/1/restore", {"revision": "2"})
    assert restored.status_code == 302
    assert "Sieb unten herausdrehen." in client.get(f"/kb/{article_id}?lang=de").get_data(as_text=True)


def test_an_image_is_uploaded_and_shown_in_the_text(client: FlaskClient, world: World) -> None:
    from io import BytesIO

    sign_in(client, world.alpha_expert.email)
    article_id = _article_id(client, world)
    response = client.post(
        f"/kb/{article_id}/files",
        data={"csrf_token": csrf_token(client, "/kb/"), "file": (BytesIO(b"\x89PNG sieb"), "sieb.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with tenancy.only(world.alpha.id):
        from knowledge import files

        file_id = files.of(db.session.get_one(Article, article_id))[0].id
    _post(
        client,
        f"/kb/{article_id}/edit/de",
        {
            "title": "Sieb reinigen",
            "body": f"![Sieb](kbfile:{file_id}) ![fremd](kbfile:999999)",
            "revision": "1",
        },
    )
    page = client.get(f"/kb/{article_id}").get_data(as_text=True)
    assert f'src="/kb/files/{file_id}"' in page
    assert 'src="#"' in page  # a reference to a file the article does not have goes nowhere
    image = client.get(f"/kb/files/{file_id}")
    assert image.data == b"\x89PNG sieb"
    assert "sandbox" in image.headers["Content-Security-Policy"]


def test_categories_are_managed_per_client(client: FlaskClient, world: World) -> None:
    sign_in(client, world.alpha_admin.email)
    response = _post(
        client, f"/kb/categories?tenant_id={world.alpha.id}", {"name_de": "Backöfen", "name_en": "Ovens"}
    )
    assert response.status_code == 302
    assert "Backöfen" in client.get("/kb/categories").get_data(as_text=True)
    agent = client.application.test_client()
    sign_in(agent, world.agent_alpha.email)
    assert agent.get("/kb/categories").status_code == 403
