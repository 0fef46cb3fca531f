"""A client's public page: branded, in the client's language, and unknown slugs are a clear 404."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.factories import World


def test_public_page_shows_the_client_and_its_support_address(client: FlaskClient, world: World) -> None:
    page = client.get("/t/alpha/").get_data(as_text=True)
    assert "Alpha AG" in page
    assert "support@alpha.example" in page
    assert "support@beta.example" not in page


def test_unknown_client_is_a_404_in_the_visitors_language(client: FlaskClient, world: World) -> None:
    response = client.get("/t/no-such-client/", headers={"Accept-Language": "de"})
    assert response.status_code == 404
    assert "Diesen Mandanten gibt es nicht." in response.get_data(as_text=True)


def test_malformed_slug_is_a_404_not_an_error(client: FlaskClient, world: World) -> None:
    for slug in ("A" * 300, "..%2f..", "%00", "beta'--"):
        assert client.get(f"/t/{slug}/").status_code == 404


def test_suspended_client_still_shows_that_messages_are_received(client: FlaskClient, world: World) -> None:
    from core import jobs, tenancy

    with tenancy.system_scope():
        world.beta.status = "suspended"
        jobs.commit()
    page = client.get("/t/beta/").get_data(as_text=True)
    assert "Nous recevons toujours vos messages et y répondrons." in page
