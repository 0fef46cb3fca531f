"""Signing in and out, sessions, passwords, CSRF and the sign-in rate limit."""

from __future__ import annotations

import re
import uuid

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from core import tenancy
from core.audit import AuditEvent
from core.extensions import db
from tests.conftest import SmtpServer, csrf_token, sign_in
from tests.factories import PASSWORD, World


def test_sign_in_lands_on_home_with_the_users_clients(client: FlaskClient, world: World) -> None:
    response = sign_in(client, "agent.alpha@provider.example")
    assert response.status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert "Alpha AG" in home
    assert "Beta AG" not in home


def test_sign_in_is_audited_as_the_user_with_the_ip(client: FlaskClient, world: World) -> None:
    client.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    sign_in(client, "admin@beta.example")
    with tenancy.system_scope():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.sign_in")).one()
    assert (event.actor_label, event.ip, event.tenant_id) == (
        "admin@beta.example",
        "192.0.2.7",
        world.beta.id,
    )


def test_wrong_password_is_refused_with_a_message_and_audited(client: FlaskClient, world: World) -> None:
    response = sign_in(client, "agent.alpha@provider.example", "wrong-password")
    assert response.status_code == 200
    assert "Wrong e-mail or password." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    with tenancy.system_scope():
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "auth.sign_in_failed" in actions


def test_unknown_email_gets_the_same_answer(client: FlaskClient, world: World) -> None:
    response = sign_in(client, "nobody@nowhere.example", "whatever-123")
    assert "Wrong e-mail or password." in response.get_data(as_text=True)


def test_sign_in_starts_a_fresh_session(client: FlaskClient, world: World) -> None:
    with client.session_transaction() as session:
        session["planted"] = "by-an-attacker"
    sign_in(client, "agent.alpha@provider.example")
    with client.session_transaction() as session:
        assert "planted" not in session


def test_form_without_csrf_token_is_refused(client: FlaskClient, world: World) -> None:
    response = client.post("/login", data={"email": "agent.alpha@provider.example", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_sign_out_needs_post_and_ends_the_session(client: FlaskClient, world: World) -> None:
    sign_in(client, "agent.alpha@provider.example")
    assert client.get("/logout").status_code == 405
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert client.get("/").status_code == 302


def test_password_change_signs_out_other_sessions(app: Flask, client: FlaskClient, world: World) -> None:
    other = app.test_client()
    sign_in(client, "agent.alpha@provider.example")
    sign_in(other, "agent.alpha@provider.example")
    assert other.get("/").status_code == 200
    response = client.post(
        "/profile/password",
        data={
            "pw-current_password": PASSWORD,
            "pw-new_password": "a-new-password-1",
            "pw-confirm": "a-new-password-1",
            "pw-csrf_token": csrf_token(client, "/profile"),
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302
    assert sign_in(app.test_client(), "agent.alpha@provider.example", "a-new-password-1").status_code == 302


def test_password_change_with_wrong_current_password_shows_field_error(
    client: FlaskClient, world: World
) -> None:
    sign_in(client, "agent.alpha@provider.example")
    response = client.post(
        "/profile/password",
        data={
            "pw-current_password": "not-it-at-all",
            "pw-new_password": "a-new-password-1",
            "pw-confirm": "a-new-password-1",
            "pw-csrf_token": csrf_token(client, "/profile"),
        },
    )
    assert response.status_code == 422
    assert "The current password is wrong." in response.get_data(as_text=True)


def test_profile_language_and_timezone_are_validated(client: FlaskClient, world: World) -> None:
    sign_in(client, "agent.alpha@provider.example")
    token = csrf_token(client, "/profile")
    response = client.post(
        "/profile", data={"name": "Agent", "locale": "de", "timezone": "Mars/Olympus", "csrf_token": token}
    )
    assert "Unknown time zone." in response.get_data(as_text=True)
    response = client.post(
        "/profile", data={"name": "Agent", "locale": "de", "timezone": "Europe/Zurich", "csrf_token": token}
    )
    assert response.status_code == 302
    assert "Abmelden" in client.get("/").get_data(as_text=True)


def test_sign_in_is_rate_limited(app: Flask, client: FlaskClient, world: World, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "3 per minute")
    ip = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    client.environ_base["REMOTE_ADDR"] = ip
    token = csrf_token(client)
    statuses = [
        client.post(
            "/login", data={"email": "x@y.example", "password": "nope-nope", "csrf_token": token}
        ).status_code
        for _ in range(4)
    ]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 429


def test_password_reset_by_mail(client: FlaskClient, world: World, smtp_to: SmtpServer) -> None:
    token = csrf_token(client, "/password/forgot")
    response = client.post("/password/forgot", data={"email": "admin@beta.example", "csrf_token": token})
    assert response.status_code == 302
    [mail] = smtp_to.messages
    assert mail["To"] == "admin@beta.example"
    assert "mot de passe" in mail["Subject"].lower() or "password" in mail["Subject"].lower()
    link = re.search(r"https?://\S+/password/reset/\S+", mail.get_content()).group(0)
    path = link.split("firstline.test", 1)[1]
    form_token = csrf_token(client, path)
    response = client.post(
        path, data={"new_password": "brand-new-pass", "confirm": "brand-new-pass", "csrf_token": form_token}
    )
    assert response.status_code == 302
    assert sign_in(client, "admin@beta.example", "brand-new-pass").status_code == 302
    # The link worked once: the password change rotated the token inside it.
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    again = client.post(
        path,
        data={
            "new_password": "another-pass-1",
            "confirm": "another-pass-1",
            "csrf_token": csrf_token(client, path),
        },
    )
    assert "This link is not valid." in again.get_data(as_text=True)


def test_password_reset_for_unknown_address_sends_nothing_and_says_the_same(
    client: FlaskClient, world: World, smtp_to: SmtpServer
) -> None:
    token = csrf_token(client, "/password/forgot")
    response = client.post(
        "/password/forgot",
        data={"email": "ghost@nowhere.example", "csrf_token": token},
        follow_redirects=True,
    )
    assert "If an account exists" in response.get_data(as_text=True)
    assert smtp_to.messages == []
