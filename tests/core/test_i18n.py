"""Four languages: chosen from the profile, the switcher, the tenant, or the browser."""

from __future__ import annotations

import glob
from datetime import UTC, datetime

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale

from core.i18n import _datetime, language_name
from tests.conftest import csrf_token, sign_in
from tests.factories import World

SIGN_IN = {"en": "Sign in", "de": "Anmelden", "fr": "Se connecter", "it": "Accedi"}


@pytest.mark.parametrize(
    ("accept", "lang"),
    [("de-CH,de;q=0.9", "de"), ("fr", "fr"), ("it-IT", "it"), ("en-GB", "en"), ("ja", "en")],
)
def test_sign_in_page_follows_the_browser(client: FlaskClient, accept: str, lang: str) -> None:
    html = client.get("/login", headers={"Accept-Language": accept}).get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    assert SIGN_IN[lang] in html


def test_switcher_choice_beats_the_browser_and_survives_sign_in(client: FlaskClient, world: World) -> None:
    token = csrf_token(client)
    client.post("/language", data={"locale": "it", "next": "/login", "csrf_token": token})
    html = client.get("/login", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Accedi" in html
    sign_in(client, "agent.alpha@provider.example")
    assert '<html lang="it">' in client.get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)


def test_profile_language_wins_over_everything(client: FlaskClient, world: World) -> None:
    sign_in(client, "admin@beta.example")  # profile: French
    html = client.get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="fr">' in html
    assert "Se déconnecter" in html


def test_switcher_updates_the_profile_of_a_signed_in_user(client: FlaskClient, world: World) -> None:
    sign_in(client, "agent.alpha@provider.example")
    client.post("/language", data={"locale": "de", "csrf_token": csrf_token(client, "/")})
    assert "Abmelden" in client.get("/").get_data(as_text=True)


def test_public_page_uses_the_tenants_language(client: FlaskClient, world: World) -> None:
    html = client.get("/t/beta/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="fr">' in html


def test_unknown_language_is_ignored(client: FlaskClient) -> None:
    token = csrf_token(client)
    response = client.post("/language", data={"locale": "xx", "next": "/login", "csrf_token": token})
    assert response.status_code == 302
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)


def test_language_switch_never_redirects_off_site(client: FlaskClient) -> None:
    token = csrf_token(client)
    response = client.post(
        "/language", data={"locale": "de", "next": "https://evil.example/x", "csrf_token": token}
    )
    assert response.headers["Location"].startswith("/x") or response.headers["Location"] == "/x"


def test_dates_are_formatted_for_locale_and_timezone(app: Flask) -> None:
    moment = datetime(2026, 11, 23, 13, 5, tzinfo=UTC)
    with app.test_request_context():
        app.config["BABEL_DEFAULT_TIMEZONE"] = "Europe/Zurich"
        try:
            with force_locale("de"):
                assert _datetime(moment, "short") == "23.11.26, 14:05"
                assert language_name("fr") == "Französisch"
            with force_locale("fr"):
                assert language_name("de") == "allemand"
        finally:
            app.config["BABEL_DEFAULT_TIMEZONE"] = "UTC"


def test_catalogs_are_complete() -> None:
    paths = sorted(glob.glob("i18n/translations/*/LC_MESSAGES/messages.po"))
    assert {p.split("/")[2] for p in paths} == {"de", "en", "fr", "it"}
    for path in paths:
        with open(path, "rb") as handle:
            catalog = read_po(handle)
        empty = [
            m.id for m in catalog if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)
        ]
        fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
        assert not empty, f"{path}: untranslated {empty[:5]}"
        assert not fuzzy, f"{path}: fuzzy {fuzzy[:5]}"


def test_every_string_in_the_code_is_in_the_catalogs(tmp_path) -> None:
    """`make i18n` was run after the last string was added."""
    import subprocess

    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            ".venv/bin/pybabel",
            "-q",
            "extract",
            "-F",
            "i18n/babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "--no-location",
            "-o",
            str(pot),
            ".",
        ],
        check=True,
    )
    with pot.open("rb") as handle:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    with open("i18n/translations/de/LC_MESSAGES/messages.po", "rb") as handle:
        have = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    assert not wanted - have, f"run `make i18n` and translate: {sorted(wanted - have)[:5]}"
