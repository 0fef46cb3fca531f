"""API conventions: tokens, the error shape, bad input, pagination and the OpenAPI document."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from core.api import API_PREFIX
from tests.conftest import api_as
from tests.factories import World


def _assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_token_grants_access_and_revocation_ends_it(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.both@provider.example")
    me = api.get("/api/v1/me").get_json()
    assert me["email"] == "agent.both@provider.example"
    assert me["role"] == "agent"
    assert api.delete("/api/v1/auth/token").status_code == 200
    _assert_error(api.get("/api/v1/me"), 401, "invalid_token")


def test_wrong_credentials_get_401(client: FlaskClient, world: World) -> None:
    response = client.post(
        "/api/v1/auth/token", json={"email": "admin@alpha.example", "password": "not-the-password"}
    )
    _assert_error(response, 401, "invalid_credentials")


def test_no_token_gets_401(client: FlaskClient, world: World) -> None:
    _assert_error(client.get("/api/v1/me"), 401, "unauthorized")


def test_bad_tokens_get_401(client: FlaskClient, world: World) -> None:
    for header in ("Bearer fl_nope", "Bearer ", "Basic abc", "Bearer " + "x" * 500):
        _assert_error(client.get("/api/v1/me", headers={"Authorization": header}), 401, "invalid_token")


def test_session_cookie_does_not_authorize_the_api(client: FlaskClient, world: World) -> None:
    from tests.conftest import sign_in

    sign_in(client, "admin@alpha.example")
    _assert_error(client.get("/api/v1/me"), 401, "unauthorized")


def test_malformed_json_is_a_400(client: FlaskClient, world: World) -> None:
    response = client.post("/api/v1/auth/token", data="{not json", content_type="application/json")
    _assert_error(response, 400, "invalid_json")
    response = client.post("/api/v1/auth/token", data="[1, 2]", content_type="application/json")
    _assert_error(response, 400, "invalid_json")


def test_wrong_content_type_is_a_415(client: FlaskClient, world: World) -> None:
    response = client.post(
        "/api/v1/auth/token", data="email=a", content_type="application/x-www-form-urlencoded"
    )
    _assert_error(response, 415, "unsupported_media_type")


def test_unknown_fields_and_wrong_types_are_field_errors(client: FlaskClient, world: World) -> None:
    response = client.post("/api/v1/auth/token", json={"email": 5, "password": "x", "admin": True})
    error = _assert_error(response, 422, "validation_failed")
    assert error["fields"] == {"email": "Must be a text.", "admin": "This field is not accepted."}


def test_missing_fields_are_named(client: FlaskClient, world: World) -> None:
    error = _assert_error(client.post("/api/v1/auth/token", json={}), 422, "validation_failed")
    assert error["fields"] == {"email": "This field is required.", "password": "This field is required."}


def test_errors_are_in_the_callers_language(client: FlaskClient, world: World) -> None:
    response = client.post("/api/v1/auth/token", json={}, headers={"Accept-Language": "fr-CH,fr;q=0.9"})
    error = _assert_error(response, 422, "validation_failed")
    assert error["fields"]["email"] == "Ce champ est obligatoire."


def test_oversized_body_is_a_413(app: Flask, client: FlaskClient, world: World, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "API_MAX_JSON_BYTES", 100)
    response = client.post("/api/v1/auth/token", json={"email": "a@b.example", "password": "x" * 500})
    _assert_error(response, 413, "payload_too_large")


def test_body_over_the_request_limit_is_a_413(
    app: Flask, client: FlaskClient, world: World, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    response = client.post("/api/v1/auth/token", data="x" * 5000, content_type="application/json")
    _assert_error(response, 413, "payload_too_large")


def test_unknown_route_and_method_are_json(client: FlaskClient, world: World) -> None:
    _assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    _assert_error(client.put("/api/v1/me"), 405, "method_not_allowed")


def test_profile_update_validates_language_and_timezone(client: FlaskClient, world: World) -> None:
    api = api_as(client, "admin@alpha.example")
    error = _assert_error(
        api.patch("/api/v1/me", json={"locale": "xx", "timezone": "Nowhere/City"}), 422, "validation_failed"
    )
    assert set(error["fields"]) == {"locale", "timezone"}
    body = api.patch("/api/v1/me", json={"locale": "it", "timezone": "Europe/Rome"}).get_json()
    assert (body["locale"], body["timezone"]) == ("it", "Europe/Rome")
    # The profile language now answers errors.
    error = _assert_error(api.patch("/api/v1/me", json={"name": ""}), 422, "validation_failed")
    assert error["fields"]["name"] == "Deve contenere almeno 1 carattere."


def test_cursor_pagination_walks_every_row_once(client: FlaskClient, world: World) -> None:
    api = api_as(client, "admin@provider.example")
    seen, cursor = [], None
    while True:
        response = api.get(
            "/api/v1/tenants", query_string={"limit": 1, **({"cursor": cursor} if cursor else {})}
        )
        body = response.get_json()
        seen += [t["slug"] for t in body["data"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == ["alpha", "beta"]


def test_bad_cursor_and_limit_are_400(client: FlaskClient, world: World) -> None:
    api = api_as(client, "admin@provider.example")
    _assert_error(api.get("/api/v1/tenants?cursor=%%%"), 400, "invalid_cursor")
    _assert_error(api.get("/api/v1/tenants?limit=0"), 400, "invalid_limit")
    _assert_error(api.get("/api/v1/tenants?limit=abc"), 400, "invalid_limit")
    from core.api import encode_cursor

    for forged in ({"id": "1 OR 1=1"}, {"id": True}, {}, {"id": [1]}):
        _assert_error(api.get(f"/api/v1/tenants?cursor={encode_cursor(forged)}"), 400, "invalid_cursor")


def test_openapi_lists_every_api_route(app: Flask, client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API_PREFIX):
            continue
        path = rule.rule
        for arg in rule.arguments:
            path = path.replace(f"<int:{arg}>", "{" + arg + "}").replace(f"<{arg}>", "{" + arg + "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, (
                f"{method} {rule.rule} is not in the OpenAPI document"
            )
    assert "Error" in document["components"]["schemas"]


def test_token_endpoint_is_rate_limited(app: Flask, client: FlaskClient, world: World, monkeypatch) -> None:
    import uuid

    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "2 per minute")
    client.environ_base["REMOTE_ADDR"] = f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    body = {"email": "admin@alpha.example", "password": "wrong-password"}
    statuses = [client.post("/api/v1/auth/token", json=body).status_code for _ in range(3)]
    assert statuses[:2] == [401, 401]
    _assert_error(client.post("/api/v1/auth/token", json=body), 429, "rate_limited")
