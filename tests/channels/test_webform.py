"""The public, embeddable web form: a ticket with a number, no spam, no oversized files."""

from __future__ import annotations

import io
import re
import uuid

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from core import tenancy
from core.extensions import db
from tests.factories import World
from tickets.models import Attachment, Ticket


def _form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Hans Muster",
        "email": "hans@example.com",
        "phone": "",
        "category": "fault",
        "language": "de",
        "subject": "Geschirrspüler defekt",
        "message": "Guten Tag, mein Geschirrspüler zeigt den Fehler E24 und pumpt nicht ab.",
        "website": "",
        "submission_id": uuid.uuid4().hex,
    }
    data.update(overrides)
    return data


def _alpha_tickets(world: World) -> list[Ticket]:
    with tenancy.only(world.alpha.id):
        return list(db.session.scalars(select(Ticket).order_by(Ticket.id)))


def test_form_is_in_the_clients_language_and_embeddable(client: FlaskClient, world: World) -> None:
    response = client.get("/t/alpha/contact", headers={"Accept-Language": "fr"})
    assert response.status_code == 200
    assert '<html lang="de">' in response.get_data(as_text=True)
    assert "X-Frame-Options" not in response.headers
    assert client.get("/login").headers["X-Frame-Options"] == "DENY"
    script = client.get("/t/alpha/contact/embed.js")
    assert script.mimetype == "text/javascript"
    assert "/t/alpha/contact" in script.get_data(as_text=True)


def test_submission_makes_a_ticket_and_shows_its_number(client: FlaskClient, world: World) -> None:
    before = len(_alpha_tickets(world))
    response = client.post("/t/alpha/contact", data=_form(), follow_redirects=True)
    assert response.status_code == 200
    tickets = _alpha_tickets(world)
    assert len(tickets) == before + 1
    ticket = tickets[-1]
    assert (ticket.channel, ticket.category, ticket.language) == ("webform", "fault", "de")
    assert f"ALPHA-{ticket.number}" in response.get_data(as_text=True)


def test_double_submit_makes_one_ticket(client: FlaskClient, world: World) -> None:
    data = _form()
    before = len(_alpha_tickets(world))
    client.post("/t/alpha/contact", data=dict(data))
    client.post("/t/alpha/contact", data=dict(data))
    assert len(_alpha_tickets(world)) == before + 1


def test_honeypot_submissions_are_dropped_silently(client: FlaskClient, world: World) -> None:
    before = len(_alpha_tickets(world))
    response = client.post(
        "/t/alpha/contact", data=_form(website="http://spam.example"), follow_redirects=True
    )
    assert response.status_code == 200
    assert len(_alpha_tickets(world)) == before


def test_missing_fields_and_bad_phone_are_field_errors(client: FlaskClient, world: World) -> None:
    response = client.post("/t/alpha/contact", data=_form(email="not-an-address", message=""))
    assert response.status_code == 422
    response = client.post("/t/alpha/contact", data=_form(phone="call me"))
    assert response.status_code == 422
    assert 'id="phone-error"' in response.get_data(as_text=True)


def test_attachments_are_stored_and_limited(
    app: Flask, client: FlaskClient, world: World, monkeypatch
) -> None:
    pdf = (io.BytesIO(b"%PDF-1.4 test"), "rechnung.pdf")
    client.post("/t/alpha/contact", data=_form(attachments=[pdf]), content_type="multipart/form-data")
    with tenancy.only(world.alpha.id):
        [attachment] = db.session.scalars(select(Attachment)).all()
    assert (attachment.filename, attachment.content_type, attachment.message_id is not None) == (
        "rechnung.pdf",
        "application/pdf",
        True,
    )
    exe = (io.BytesIO(b"MZ..."), "invoice.exe")
    response = client.post(
        "/t/alpha/contact", data=_form(attachments=[exe]), content_type="multipart/form-data"
    )
    assert response.status_code == 422
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 10)
    big = (io.BytesIO(b"x" * 100), "big.pdf")
    response = client.post(
        "/t/alpha/contact", data=_form(attachments=[big]), content_type="multipart/form-data"
    )
    assert response.status_code == 422


def test_form_is_rate_limited(app: Flask, client: FlaskClient, world: World, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "RATELIMIT_WEBFORM", "2 per minute")
    client.environ_base["REMOTE_ADDR"] = f"10.7.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    statuses = [client.post("/t/alpha/contact", data=_form()).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]


def test_unknown_client_and_forged_receipt_are_404(client: FlaskClient, world: World) -> None:
    assert client.get("/t/nobody/contact").status_code == 404
    assert client.get("/t/alpha/contact/thanks/forged").status_code == 404


def test_receipt_of_one_client_does_not_open_under_another(client: FlaskClient, world: World) -> None:
    response = client.post("/t/alpha/contact", data=_form())
    ref = re.search(r"/thanks/([^/?#]+)", response.headers["Location"]).group(1)
    assert client.get(f"/t/beta/contact/thanks/{ref}").status_code == 404
