"""The ways mail arrives and leaves: the SMTP listener (real smtplib against it), the MTA-pipe
endpoint, sending while the SMTP server is down, and the supervisors' pages for what arrived."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from channels import mail_smtp
from core import jobs, outbox, tenancy
from core.extensions import db
from core.outbox import OutboxMessage
from tenants.models import Tenant
from tests.channels.mails import mail
from tests.conftest import csrf_token, free_port, sign_in
from tests.factories import World
from tickets import services as tickets
from tickets.models import InboundRecord, InboundStatus, Message, MessageKind, Ticket


@pytest.fixture
def listener(app: Flask, world: World) -> Iterator[tuple[str, int]]:
    port = free_port()
    controller = mail_smtp.controller(app, "127.0.0.1", port)
    controller.start()
    try:
        yield "127.0.0.1", port
    finally:
        controller.stop()


def _latest(tenant_id: int) -> InboundRecord:
    with tenancy.only(tenant_id):
        return db.session.scalars(select(InboundRecord).order_by(InboundRecord.id.desc())).first()


def test_smtp_listener_takes_mail_for_support_addresses_and_refuses_the_rest(
    listener: tuple[str, int], world: World
) -> None:
    host, port = listener
    with smtplib.SMTP(host, port, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.sendmail("hans@example.com", ["nobody@alpha.example"], mail(to="nobody@alpha.example"))
        assert refused.value.recipients["nobody@alpha.example"][0] == 550
        # One good and one unknown recipient: accepted for the good one only.
        rejected = smtp.sendmail(
            "hans@example.com",
            ["support@alpha.example", "stranger@else.example"],
            mail(subject="Kaffeemaschine tropft", message_id="<smtp-1@mail.example.com>"),
        )
        assert set(rejected) == {"stranger@else.example"}
    record = _latest(world.alpha.id)
    assert record.external_id == "mid:<smtp-1@mail.example.com>"
    assert record.status == InboundStatus.PROCESSED.value
    with tenancy.only(world.alpha.id):
        assert db.session.get_one(Ticket, record.ticket_id).subject == "Kaffeemaschine tropft"


def test_pipe_endpoint_needs_its_token_and_a_known_recipient(
    app: Flask, client: FlaskClient, world: World, monkeypatch
) -> None:
    raw = mail(subject="Per Pipe", message_id="<pipe-1@mail.example.com>")
    assert client.post("/api/v1/inbound/email", data=raw).status_code == 404  # off without a token
    monkeypatch.setitem(app.config, "MAIL_INGEST_TOKEN", "s3cret-ingest")
    bad = client.post("/api/v1/inbound/email", data=raw, headers={"X-Ingest-Token": "wrong"})
    assert bad.status_code == 401
    assert bad.get_json()["error"]["code"] == "invalid_token"
    headers = {"X-Ingest-Token": "s3cret-ingest", "Content-Type": "message/rfc822"}
    unknown = client.post("/api/v1/inbound/email?recipient=who@nowhere.example", data=raw, headers=headers)
    assert unknown.status_code == 404
    assert unknown.get_json()["error"]["code"] == "unknown_recipient"
    empty = client.post("/api/v1/inbound/email", data=b"  ", headers=headers)
    assert empty.status_code == 422
    accepted = client.post("/api/v1/inbound/email?recipient=support@beta.example", data=raw, headers=headers)
    assert accepted.status_code == 202
    [delivery] = accepted.get_json()["deliveries"]
    assert delivery["tenant_id"] == world.beta.id
    # Without envelope recipients the header block decides.
    by_headers = client.post("/api/v1/inbound/email", data=mail(message_id="<pipe-2@x>"), headers=headers)
    assert by_headers.get_json()["deliveries"][0]["tenant_id"] == world.alpha.id


def test_reply_waits_while_smtp_is_down_and_goes_out_when_it_is_back(
    app: Flask, world: World, smtp_server, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", free_port())  # nothing listens there
    with tenancy.only(world.alpha.id):
        ticket = db.session.get_one(Ticket, world.alpha_ticket.id)
        sent = tickets.reply(ticket, world.agent_alpha.id, "Wir melden uns morgen.")
        jobs.commit()
        row = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == f"reply:{world.alpha.id}:{sent.id}")
        )
        assert row.status == outbox.PENDING
        assert row.last_error
    monkeypatch.setitem(app.config, "SMTP_PORT", smtp_server.port)
    with time_machine.travel(row.next_attempt_at + timedelta(seconds=1)), tenancy.system_scope():
        assert outbox.relay() >= 1  # the scheduler's sweep, once the retry is due
        jobs.commit()
        db.session.refresh(row)
    assert row.status == outbox.SENT
    [delivered] = smtp_server.messages
    with tenancy.only(world.alpha.id):
        assert delivered["Message-ID"] == db.session.get_one(Message, sent.id).email_message_id


def test_supervisor_sees_failed_mail_downloads_it_and_retries(client: FlaskClient, world: World) -> None:
    from channels import mail_inbound

    [delivery] = mail_inbound.receive_raw(b"\x00\x01 not a mail", ["support@alpha.example"], source="test")
    sign_in(client, "supervisor@provider.example")
    page = client.get("/agent/inbound")
    assert page.status_code == 200
    assert "Unparseable" in page.get_data(as_text=True)
    raw = client.get(f"/agent/inbound/{delivery.record_id}/raw")
    assert raw.mimetype == "message/rfc822"
    assert raw.data == b"\x00\x01 not a mail"
    token = csrf_token(client, "/agent/inbound")
    retried = client.post(f"/agent/inbound/{delivery.record_id}/retry", data={"csrf_token": token})
    assert retried.status_code == 302
    with tenancy.only(world.alpha.id):
        assert db.session.get_one(InboundRecord, delivery.record_id).status == InboundStatus.FAILED.value
    # An agent is not a shift lead.
    client.post("/logout", data={"csrf_token": token})
    sign_in(client, "agent.alpha@provider.example")
    assert client.get("/agent/inbound").status_code == 403


def test_client_acknowledgement_text_and_switch(client: FlaskClient, world: World, smtp_to) -> None:
    from channels import mail_inbound

    sign_in(client, "supervisor@provider.example")
    path = f"/agent/clients/{world.alpha.id}/email"
    token = csrf_token(client, path)
    bad = client.post(path, data={"csrf_token": token, "acknowledge": "on", "text_de": "Hallo {customer}"})
    assert bad.status_code == 422
    assert "{customer}" in bad.get_data(as_text=True)
    good = client.post(
        path,
        data={
            "csrf_token": token,
            "acknowledge": "on",
            "text_de": "Grüezi {contact_name}, Ticket {ticket_number}.",
        },
    )
    assert good.status_code == 302
    db.session.expire_all()  # the request committed through its own session
    mail_inbound.receive_raw(
        mail(sender="Heidi <heidi@example.ch>"), ["support@alpha.example"], source="test"
    )
    [ack] = smtp_to.messages
    assert "Grüezi Heidi, Ticket ALPHA-" in ack.get_body(("plain",)).get_content()
    client.post(path, data={"csrf_token": token, "text_de": ""})  # switched off
    db.session.expire_all()
    with tenancy.system_scope():
        assert db.session.get_one(Tenant, world.alpha.id).acknowledge is False
    mail_inbound.receive_raw(mail(subject="Noch was"), ["support@alpha.example"], source="test")
    assert len(smtp_to.messages) == 1


def test_agent_sees_mail_details_files_and_a_bouncing_address(client: FlaskClient, world: World) -> None:
    from channels import mail_inbound

    raw = mail(
        html="<p>Das <b>Display</b> flackert.</p><script>alert(1)</script>",
        attachments=[("foto.png", "image/png", b"\x89PNG\r\n\x1a\nfake")],
    )
    [delivery] = mail_inbound.receive_raw(raw, ["support@alpha.example"], source="test")
    with tenancy.only(world.alpha.id):
        ticket_id = db.session.get_one(InboundRecord, delivery.record_id).ticket_id
        inbound = [
            m
            for m in tickets.messages_of(db.session.get_one(Ticket, ticket_id))
            if m.kind == MessageKind.INBOUND.value
        ]
    sign_in(client, "agent.alpha@provider.example")
    page = client.get(f"/agent/tickets/{ticket_id}").get_data(as_text=True)
    assert "hans@example.com" in page
    assert "foto.png" in page
    assert 'sandbox=""' in page
    assert "<script>alert(1)</script>" not in page
    assert inbound


def test_shift_lead_adds_reads_and_removes_a_clients_mailbox(client: FlaskClient, world: World) -> None:
    from channels.models import Mailbox

    sign_in(client, "supervisor@provider.example")
    path = f"/agent/clients/{world.alpha.id}/email"
    token = csrf_token(client, path)
    refused = client.post(
        f"/agent/clients/{world.alpha.id}/mailboxes",
        data={"csrf_token": token, "host": "not a host", "port": "993", "username": "", "password": ""},
    )
    assert refused.status_code == 422
    assert 'class="field has-error"' in refused.get_data(as_text=True)
    port = free_port()  # nothing listens: reading it fails visibly, and nothing else breaks
    added = client.post(
        f"/agent/clients/{world.alpha.id}/mailboxes",
        data={
            "csrf_token": token,
            "host": "127.0.0.1",
            "port": str(port),
            "username": "kunden",
            "password": "geheim",
        },
    )
    assert added.status_code == 302
    with tenancy.only(world.alpha.id):
        box = db.session.scalar(select(Mailbox).where(Mailbox.username == "kunden"))
        assert "geheim" not in box.password_encrypted
    client.post(f"/agent/clients/{world.alpha.id}/mailboxes/{box.id}/poll", data={"csrf_token": token})
    page = client.get(path).get_data(as_text=True)
    assert f"kunden@127.0.0.1:{port}/INBOX" in page
    assert "Could not read it" in page
    client.post(f"/agent/clients/{world.alpha.id}/mailboxes/{box.id}/delete", data={"csrf_token": token})
    with tenancy.only(world.alpha.id):
        assert db.session.scalar(select(Mailbox).where(Mailbox.username == "kunden")) is None
