"""Invitations: the invitee chooses the password from the mailed link, once; a stranger's or a
forged link sets nothing."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from core import jobs, tenancy
from core.auth import invitations
from core.auth.roles import Role
from core.errors import ValidationFailed
from tests.conftest import SmtpServer, csrf_token, sign_in
from tests.factories import World


def _post(client: FlaskClient, path: str, password: str) -> object:
    token = csrf_token(client, path)
    return client.post(path, data={"new_password": password, "confirm": password, "csrf_token": token})


def test_an_invited_agent_chooses_a_password_once_and_signs_in(
    client: FlaskClient, world: World, smtp_to: SmtpServer
) -> None:
    with tenancy.system_scope():
        invitations.invite(email="neu@desk.example", name="Nora Neu", role=Role.AGENT, locale="de")
        jobs.commit()
    [mail] = smtp_to.messages
    assert mail["To"] == "neu@desk.example"
    assert "eingeladen" in mail["Subject"]
    path = urlsplit(re.search(r"https?://\S+/invite/\S+", mail.get_content()).group(0)).path

    assert sign_in(client, "neu@desk.example", "whatever-it-was").status_code != 302
    assert "Welcome to Firstline" in client.get(path).get_data(as_text=True)
    assert _post(client, path, "a-password-of-hers").status_code == 302
    assert sign_in(client, "neu@desk.example", "a-password-of-hers").status_code == 302

    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    again = _post(client, path, "another-password")
    assert again.status_code == 422
    assert sign_in(client, "neu@desk.example", "another-password").status_code != 302


def test_a_forged_invitation_sets_nothing(client: FlaskClient, world: World) -> None:
    answer = _post(client, "/invite/not-a-token", "0123456789ab")
    assert answer.status_code == 422
    assert "This link is not valid." in answer.get_data(as_text=True)


def test_an_invitation_for_an_address_in_use_is_refused(world: World) -> None:
    with tenancy.system_scope(), pytest.raises(ValidationFailed) as refused:
        invitations.invite(email="admin@beta.example", name="Twice", role=Role.AGENT)
    assert "email" in refused.value.fields
