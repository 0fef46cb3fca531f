"""The knowledge base over the JSON API: articles, texts with revisions, workflow, search, feed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from knowledge.models import Article
from tests.conftest import Api, api_as
from tests.factories import World

KB = "/api/v1/kb"


def _error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "fields"}
    if code:
        assert error["code"] == code
    return error


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def _new(api: Api, world: World, **changes: object) -> dict[str, Any]:
    body = {
        "tenant_id": world.alpha.id,
        "language": "de",
        "title": "Drucker brennt",
        "body": "Stecker **ziehen**, dann Feuerlöscher.",
        **changes,
    }
    return _ok(api.post(f"{KB}/articles", json=body), 201)


def _beta_article(world: World) -> Article:
    """Beta's published article of the two-tenant world ("Corriger une facture")."""
    return world.beta_article


def test_client_admin_writes_an_article_in_two_languages(client: FlaskClient, world: World) -> None:
    api = api_as(client, "admin@alpha.example")
    article = _new(api, world, tags=["Drucker", "feuer"], visibility="public")
    assert (article["status"], article["visibility"], article["tags"]) == (
        "draft",
        "public",
        ["drucker", "feuer"],
    )
    assert (article["languages"], article["missing_languages"]) == (["de"], ["en"])
    assert [t["revision"] for t in article["translations"]] == [1]
    path = f"{KB}/articles/{article['id']}"

    listed = _ok(api.get(f"{KB}/articles?missing_language=en"))["data"]
    assert [a["id"] for a in listed] == [article["id"]]

    english = _ok(api.put(f"{path}/translations/en", json={"title": "Printer on fire", "body": "Unplug it."}))
    assert (english["language"], english["revision"]) == ("en", 1)
    assert _ok(api.get(f"{KB}/articles?missing_language=en"))["data"] == []
    assert [a["title"] for a in _ok(api.get(f"{KB}/articles?language=en"))["data"]] == ["Printer on fire"]

    german = _ok(api.get(f"{path}/translations/de"))
    assert "<strong>ziehen</strong>" in german["body_html"]
    changed = _ok(
        api.put(
            f"{path}/translations/de",
            json={
                "title": "Drucker brennt",
                "body": "Erst Stecker ziehen.",
                "base_revision": 1,
                "note": "kürzer",
            },
        )
    )
    assert changed["revision"] == 2
    versions = _ok(api.get(f"{path}/translations/de/versions"))["data"]
    assert [(v["number"], v["note"]) for v in versions] == [(2, "kürzer"), (1, "")]
    restored = _ok(api.post(f"{path}/translations/de/versions/1/restore", json={"base_revision": 2}))
    assert (restored["revision"], restored["body"]) == (3, "Stecker **ziehen**, dann Feuerlöscher.")

    patched = _ok(api.patch(path, json={"visibility": "internal", "tags": []}))
    assert (patched["visibility"], patched["tags"], patched["status"]) == ("internal", [], "draft")
    detail = _ok(api.get(f"{path}?language=en"))
    assert (detail["title"], detail["languages"], detail["missing_languages"]) == (
        "Printer on fire",
        ["de", "en"],
        [],
    )
    assert _error(api.get(f"{path}/translations/it"), 404)


def test_a_stale_revision_is_a_409_and_nothing_is_overwritten(client: FlaskClient, world: World) -> None:
    admin = api_as(client, "admin@alpha.example")
    expert = api_as(client, "expert@alpha.example")
    article = _new(admin, world)
    path = f"{KB}/articles/{article['id']}/translations/de"
    first = {"title": "Drucker brennt", "body": "Version der Admin.", "base_revision": 1}
    second = {"title": "Drucker brennt", "body": "Version des Experten.", "base_revision": 1}
    assert _ok(admin.put(path, json=first))["revision"] == 2
    error = _error(expert.put(path, json=second), 409, "conflict")
    assert "Someone else saved this text" in error["message"]
    assert _ok(expert.get(path))["body"] == "Version der Admin."
    # A change to an existing text must say what it is based on.
    error = _error(expert.put(path, json={"title": "X", "body": "Y"}), 422, "validation_failed")
    assert set(error["fields"]) == {"base_revision"}
    error = _error(expert.post(f"{path}/versions/1/restore", json={"base_revision": 1}), 409, "conflict")


def test_validation_errors_are_422_with_fields(client: FlaskClient, world: World) -> None:
    api = api_as(client, "admin@alpha.example")
    error = _error(api.post(f"{KB}/articles", json={"tenant_id": world.alpha.id, "language": "de"}), 422)
    assert set(error["fields"]) == {"title", "body"}
    error = _error(
        api.post(
            f"{KB}/articles",
            json={"tenant_id": world.alpha.id, "language": "fr", "title": "T", "body": "B", "status": "x"},
        ),
        422,
    )
    assert set(error["fields"]) == {"status"}  # not accepted: the workflow sets it
    error = _error(
        api.post(
            f"{KB}/articles", json={"tenant_id": world.alpha.id, "language": "fr", "title": "T", "body": "B"}
        ),
        422,
        "validation_failed",
    )
    assert set(error["fields"]) == {"language"}
    error = _error(
        api.post(
            f"{KB}/articles",
            json={"tenant_id": world.alpha.id, "language": "de", "title": "T", "body": "B", "tags": ["a b!"]},
        ),
        422,
    )
    assert set(error["fields"]) == {"tags"}
    _error(api.get(f"{KB}/articles?status=gone"), 400, "invalid_filter")
    _error(api.get(f"{KB}/articles?limit=0"), 400, "invalid_limit")


def test_listing_pages_with_a_cursor(client: FlaskClient, world: World) -> None:
    api = api_as(client, "expert@alpha.example")
    ids = [_new(api, world, title=f"Frage {i}")["id"] for i in range(3)]
    first = _ok(api.get(f"{KB}/articles?limit=2"))
    assert [a["id"] for a in first["data"]] == ids[::-1][:2]
    rest = _ok(api.get(f"{KB}/articles?limit=2&cursor={first['next_cursor']}"))
    assert ([a["id"] for a in rest["data"]], rest["next_cursor"]) == ([ids[0]], None)
    assert len(_ok(api.get(f"{KB}/articles?status=draft&tenant_id={world.alpha.id}"))["data"]) == 3


def test_the_desk_proposes_and_the_client_approves(client: FlaskClient, world: World) -> None:
    agent = api_as(client, "agent.alpha@provider.example")
    proposal = _new(agent, world, title="Toner leer")
    assert (proposal["status"], proposal["proposed_by_id"]) == ("review", world.agent_alpha.id)
    path = f"{KB}/articles/{proposal['id']}"
    _error(agent.post(f"{path}/approve"), 403, "forbidden")
    provider = api_as(client, "admin@provider.example")
    _error(provider.post(f"{path}/approve"), 403, "forbidden")

    admin = api_as(client, "admin@alpha.example")
    sent_back = _ok(admin.post(f"{path}/send-back", json={"comment": "Bitte mit Bild."}))
    assert sent_back["status"] == "draft"
    assert (
        _ok(agent.post(f"{path}/submit", json={"reviewer_id": world.alpha_expert.id}))["status"] == "review"
    )
    error = _error(agent.post(f"{path}/submit", json={"reviewer_id": world.beta_admin.id}), 422)
    assert set(error["fields"]) == {"reviewer_id"}
    published = _ok(admin.post(f"{path}/approve"))
    assert (published["status"], published["approved_by_id"]) == ("published", world.alpha_admin.id)
    # Published: the desk no longer edits the text directly.
    error = _error(
        agent.put(f"{path}/translations/de", json={"title": "Toner", "body": "Neu.", "base_revision": 1}), 403
    )
    assert error["code"] == "forbidden"
    assert _ok(admin.post(f"{path}/archive"))["status"] == "archived"
    assert _ok(admin.post(f"{path}/reopen"))["status"] == "draft"
    _error(admin.post(f"{path}/reopen"), 409, "conflict")


def test_feed_and_acknowledgement(client: FlaskClient, world: World) -> None:
    admin = api_as(client, "admin@alpha.example")
    article = _new(admin, world)
    _ok(admin.post(f"{KB}/articles/{article['id']}/approve"))
    agent = api_as(client, "agent.alpha@provider.example")
    unread = _ok(agent.get(f"{KB}/feed?unread=1"))["data"]
    assert [(e["article_id"], e["kind"], e["title"], e["acknowledged"]) for e in unread] == [
        (article["id"], "published", "Drucker brennt", False)
    ]
    change_id = unread[0]["id"]
    assert _ok(agent.post(f"{KB}/feed/{change_id}/ack")) == {
        "change_id": change_id,
        "acknowledged": True,
        "new": True,
    }
    assert _ok(agent.post(f"{KB}/feed/{change_id}/ack"))["new"] is False
    assert _ok(agent.get(f"{KB}/feed?unread=1"))["data"] == []
    assert _ok(agent.get(f"{KB}/feed"))["data"][0]["acknowledged"] is True
    # The client's staff read without a trace.
    _error(admin.post(f"{KB}/feed/{change_id}/ack"), 403)


@pytest.mark.parametrize(
    "query",
    ['"Drucker', "Drucker OR NOT", "Drucker*", "NEAR(a b)", "<script>alert(1)</script>", "-- ; DROP", "'"],
)
def test_search_never_errors_on_operators_or_quotes(client: FlaskClient, world: World, query: str) -> None:
    admin = api_as(client, "admin@alpha.example")
    article = _new(admin, world, visibility="internal")
    _ok(admin.post(f"{KB}/articles/{article['id']}/approve"))
    agent = api_as(client, "agent.alpha@provider.example")
    from urllib.parse import quote

    response = agent.get(f"{KB}/search?q={quote(query)}&tenant_id={world.alpha.id}")
    assert response.status_code == 200, response.get_json()
    for hit in response.get_json()["data"]:
        assert "<script" not in hit["snippet"]


def test_search_finds_published_internal_articles(client: FlaskClient, world: World) -> None:
    admin = api_as(client, "admin@alpha.example")
    article = _new(admin, world, visibility="internal")
    assert _ok(admin.get(f"{KB}/search?q=Drucker"))["data"] == []  # a draft is not an answer yet
    _ok(admin.post(f"{KB}/articles/{article['id']}/approve"))
    hits = _ok(admin.get(f"{KB}/search?q=Drucker&language=de&limit=5"))["data"]
    assert [(h["article_id"], h["language"], h["title"]) for h in hits] == [
        (article["id"], "de", "Drucker brennt")
    ]
    assert _ok(admin.get(f"{KB}/search?q=Drucker&language=en"))["data"] == []
    error = _error(admin.get(f"{KB}/search?q=%20"), 422, "validation_failed")
    assert set(error["fields"]) == {"q"}
    provider = api_as(client, "admin@provider.example")
    assert set(_error(provider.get(f"{KB}/search?q=Drucker"), 422)["fields"]) == {"tenant_id"}
    _error(admin.get(f"{KB}/search?q=Drucker&limit=51"), 400)


def test_another_clients_article_is_not_found(client: FlaskClient, world: World) -> None:
    beta = _beta_article(world)
    path = f"{KB}/articles/{beta.id}"
    text = {"title": "X", "body": "Y", "base_revision": 1}
    for email in ("agent.alpha@provider.example", "admin@alpha.example", "expert@alpha.example"):
        api = api_as(client, email)
        for response in (
            api.get(path),
            api.patch(path, json={"visibility": "public"}),
            api.get(f"{path}/translations/fr"),
            client.put(
                f"{path}/translations/fr", json=text, headers={"Authorization": f"Bearer {api.token}"}
            ),
            api.get(f"{path}/translations/fr/versions"),
            api.post(f"{path}/translations/fr/versions/1/restore", json={"base_revision": 1}),
            api.post(f"{path}/submit", json={}),
            api.post(f"{path}/approve"),
            api.post(f"{path}/send-back", json={}),
            api.post(f"{path}/archive"),
            api.post(f"{path}/reopen"),
            api.get(f"{KB}/search?q=facture&tenant_id={world.beta.id}"),
            api.post(
                f"{KB}/articles",
                json={"tenant_id": world.beta.id, "language": "fr", "title": "T", "body": "B"},
            ),
        ):
            error = _error(response, 404, "not_found")
            assert "Envoyez" not in json.dumps(error)
        assert _ok(api.get(f"{KB}/articles?tenant_id={world.beta.id}"))["data"] == []
        assert "Corriger une facture" not in json.dumps(_ok(api.get(f"{KB}/feed")))
    alpha_admin = api_as(client, "admin@alpha.example")
    _error(alpha_admin.get(f"{KB}/export?tenant_id={world.beta.id}"), 404)
    # The agent serving both clients sees it.
    both = api_as(client, "agent.both@provider.example")
    assert _ok(both.get(path))["title"] == "Corriger une facture"
    change_id = _ok(both.get(f"{KB}/feed?tenant_id={world.beta.id}"))["data"][0]["id"]
    _error(api_as(client, "agent.alpha@provider.example").post(f"{KB}/feed/{change_id}/ack"), 404)


def test_export_is_a_download_for_the_clients_staff(client: FlaskClient, world: World) -> None:
    admin = api_as(client, "admin@alpha.example")
    _new(admin, world)
    _beta_article(world)
    response = admin.get(f"{KB}/export")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment; filename=kb-alpha-")
    document = json.loads(response.data)
    assert [a["translations"]["de"]["title"] for a in document["articles"]] == ["Drucker brennt"]
    provider = api_as(client, "admin@provider.example")
    assert json.loads(provider.get(f"{KB}/export?tenant_id={world.beta.id}").data)["tenant"]["slug"] == "beta"
    _error(api_as(client, "agent.both@provider.example").get(f"{KB}/export?tenant_id={world.alpha.id}"), 403)


def test_openapi_documents_the_knowledge_endpoints(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    knowledge = {
        (path, method)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation["tags"] == ["knowledge"]
    }
    assert {
        ("/api/v1/kb/articles", "get"),
        ("/api/v1/kb/articles", "post"),
        ("/api/v1/kb/articles/{article_id}", "get"),
        ("/api/v1/kb/articles/{article_id}", "patch"),
        ("/api/v1/kb/articles/{article_id}/translations/{language}", "get"),
        ("/api/v1/kb/articles/{article_id}/translations/{language}", "put"),
        ("/api/v1/kb/articles/{article_id}/translations/{language}/versions", "get"),
        ("/api/v1/kb/articles/{article_id}/translations/{language}/versions/{number}/restore", "post"),
        ("/api/v1/kb/articles/{article_id}/submit", "post"),
        ("/api/v1/kb/articles/{article_id}/approve", "post"),
        ("/api/v1/kb/articles/{article_id}/send-back", "post"),
        ("/api/v1/kb/articles/{article_id}/archive", "post"),
        ("/api/v1/kb/articles/{article_id}/reopen", "post"),
        ("/api/v1/kb/search", "get"),
        ("/api/v1/kb/feed", "get"),
        ("/api/v1/kb/feed/{change_id}/ack", "post"),
        ("/api/v1/kb/export", "get"),
    } == knowledge
    put = document["paths"]["/api/v1/kb/articles/{article_id}/translations/{language}"]["put"]
    assert put["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/TextIn")
    assert "TextIn" in document["components"]["schemas"]
