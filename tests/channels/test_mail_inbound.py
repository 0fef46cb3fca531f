"""Inbound e-mail end to end: stored raw, threaded, acknowledged (or not), bounces and loops."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from channels import mail_inbound
from core import jobs, tenancy
from core.extensions import db
from tenants.models import Tenant, TenantStatus
from tests.channels.mails import dsn, mail, process_as_one_batch
from tests.factories import World
from tickets import intake
from tickets import services as tickets
from tickets.models import (
    Attachment,
    Contact,
    InboundRecord,
    InboundStatus,
    Message,
    MessageKind,
    Status,
    Ticket,
)


def _deliver(raw: bytes, to: str = "support@alpha.example") -> InboundRecord:
    [delivery] = mail_inbound.receive_raw(raw, [to], source="test")
    with tenancy.only(delivery.tenant_id):
        record = db.session.get_one(InboundRecord, delivery.record_id)
        db.session.refresh(record)
        return record


def _ticket(record: InboundRecord) -> Ticket:
    with tenancy.only(record.tenant_id):
        assert record.ticket_id is not None, (record.status, record.error, record.outcome)
        return db.session.get_one(Ticket, record.ticket_id)


def _messages(ticket: Ticket, kind: MessageKind | None = None) -> list[Message]:
    with tenancy.only(ticket.tenant_id):
        return [m for m in tickets.messages_of(ticket) if kind is None or m.kind == kind.value]


def test_mail_becomes_a_ticket_for_the_right_tenant_and_is_acknowledged(world: World, smtp_to) -> None:
    raw = mail(message_id="<first@mail.example.com>")
    record = _deliver(raw)
    assert record.tenant_id == world.alpha.id
    assert record.status == InboundStatus.PROCESSED.value
    assert record.outcome == "new_ticket"
    with tenancy.only(world.alpha.id):
        assert db.session.scalar(select(InboundRecord.raw).where(InboundRecord.id == record.id)) == raw
    ticket = _ticket(record)
    assert (ticket.channel, ticket.language, ticket.subject) == ("email", "de", "Geschirrspüler defekt")
    [message, acknowledged] = _messages(ticket)
    assert message.email_message_id == "<first@mail.example.com>"
    [ack] = smtp_to.messages
    assert ack["To"] == "hans@example.com"
    assert f"ALPHA-{ticket.number}" in ack["Subject"]
    assert ack["In-Reply-To"] == "<first@mail.example.com>"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert "support@alpha.example" in ack["From"]
    assert acknowledged.kind == MessageKind.SYSTEM.value
    assert acknowledged.email_message_id == ack["Message-ID"]


def test_the_same_mail_twice_is_one_ticket(world: World) -> None:
    raw = mail(message_id="<twice@mail.example.com>")
    first = _deliver(raw)
    second = _deliver(raw)
    assert first.id == second.id
    assert first.ticket_id == second.ticket_id


def test_reply_threads_out_and_the_answer_threads_back(world: World, smtp_to) -> None:
    record = _deliver(mail(message_id="<q1@mail.example.com>", headers={"Auto-Submitted": "no"}))
    ticket = _ticket(record)
    smtp_to.messages.clear()
    with tenancy.only(world.alpha.id):
        ticket = db.session.get_one(Ticket, ticket.id)
        sent = tickets.reply(ticket, world.agent_alpha.id, "Bitte starten Sie das Gerät neu.")
        jobs.commit()
        reply_id = db.session.get_one(Message, sent.id).email_message_id
    [out] = smtp_to.messages
    assert out["Message-ID"] == reply_id
    assert out["In-Reply-To"] == "<q1@mail.example.com>"
    assert "<q1@mail.example.com>" in out["References"]
    assert "support@alpha.example" in out["Reply-To"]
    assert out["X-Loop"].startswith("firstline ")
    assert out.get_body(("html",)) is not None
    assert out.get_body(("plain",)) is not None

    answer = mail(
        subject=f"Re: {out['Subject']}",
        body=(
            "Danke, jetzt geht es wieder.\n\n"
            "Am 23.11.2026 schrieb Alpha AG <support@alpha.example>:\n> Bitte starten Sie das Gerät neu."
        ),
        in_reply_to=reply_id,
        references=["<q1@mail.example.com>", reply_id],
    )
    second = _deliver(answer)
    assert second.ticket_id == ticket.id
    assert second.outcome == "threaded"
    last = _messages(ticket)[-1]
    assert last.kind == MessageKind.INBOUND.value
    assert last.body == "Danke, jetzt geht es wieder."  # the quote is trimmed ...
    assert "Bitte starten" in last.data["email"]["full_text"]  # ... and kept
    assert len(smtp_to.messages) == 1  # no acknowledgement for a reply


def test_ticket_number_in_the_subject_threads_without_headers(world: World) -> None:
    number = world.alpha_ticket.number
    record = _deliver(mail(subject=f"AW: [ALPHA-{number}] Drucker", body="Noch eine Frage."))
    assert record.ticket_id == world.alpha_ticket.id
    # Another tenant's prefix does not thread into this one.
    other = _deliver(mail(subject=f"[BETA-{number}] Drucker", body="Frage"))
    assert other.ticket_id != world.alpha_ticket.id
    assert other.outcome == "new_ticket"


def test_reply_to_a_closed_ticket_opens_a_related_one(world: World) -> None:
    with tenancy.only(world.alpha.id):
        ticket = db.session.get_one(Ticket, world.alpha_ticket.id)
        tickets.set_status(ticket, Status.RESOLVED)
        tickets.set_status(ticket, Status.CLOSED)
        jobs.commit()
    record = _deliver(mail(subject=f"Re: [ALPHA-{ticket.number}] again", body="Es ist wieder kaputt."))
    follow_up = _ticket(record)
    assert follow_up.id != ticket.id
    assert follow_up.parent_id == ticket.id
    assert record.outcome == "follow_up"


def test_auto_replies_are_not_acknowledged_and_do_not_reopen(world: World, smtp_to) -> None:
    record = _deliver(mail(subject="Out of office", headers={"Auto-Submitted": "auto-replied"}))
    assert _ticket(record).channel == "email"
    assert smtp_to.messages == []
    for headers in ({"Precedence": "bulk"}, {"X-Autoreply": "yes"}, {"X-Auto-Response-Suppress": "All"}):
        _deliver(mail(subject="Newsletter", headers=headers))
    assert smtp_to.messages == []
    with tenancy.only(world.alpha.id):
        ticket = db.session.get_one(Ticket, world.alpha_ticket.id)
        tickets.set_status(ticket, Status.PENDING_CUSTOMER)
        jobs.commit()
    _deliver(
        mail(
            subject=f"Abwesenheit: [ALPHA-{ticket.number}]",
            headers={"Auto-Submitted": "auto-replied"},
            body="Ich bin bis Montag nicht im Büro.",
        )
    )
    with tenancy.only(world.alpha.id):
        assert db.session.get_one(Ticket, ticket.id).status == Status.PENDING_CUSTOMER.value


def test_our_own_mail_coming_back_is_kept_but_ignored(world: World, smtp_to) -> None:
    from core.mail import loop_token

    looped = mail(
        sender="Alpha AG <support@alpha.example>",
        headers={"X-Loop": f"firstline {loop_token(world.alpha.id)}"},
    )
    record = _deliver(looped)
    assert (record.status, record.outcome, record.ticket_id) == (InboundStatus.IGNORED.value, "loop", None)
    # Only claiming to be ours: a customer's mail after all, but never acknowledged.
    spoofed = _deliver(mail(headers={"X-Loop": "firstline"}))
    assert spoofed.status == InboundStatus.PROCESSED.value
    assert spoofed.ticket_id is not None
    assert smtp_to.messages == []


def test_bounce_attaches_to_the_ticket_and_marks_the_address(world: World, smtp_to) -> None:
    record = _deliver(mail(sender="Nobody <nobody@gone.example>", message_id="<b1@gone.example>"))
    ticket = _ticket(record)
    [ack] = smtp_to.messages
    bounce = _deliver(
        dsn(to="support@alpha.example", failed="nobody@gone.example", original_message_id=ack["Message-ID"])
    )
    assert bounce.ticket_id == ticket.id
    assert bounce.outcome == "bounce"
    system = _messages(ticket)[-1]
    assert system.kind == MessageKind.SYSTEM.value
    assert "nobody@gone.example" in system.body
    with tenancy.only(world.alpha.id):
        contact = db.session.scalar(select(Contact).where(Contact.email == "nobody@gone.example"))
        assert contact.email_failing_since is not None
        assert "5.1.1" in contact.email_failure
    assert len(smtp_to.messages) == 1  # the bounce is not acknowledged
    # The address works again once they write to us.
    _deliver(mail(sender="Nobody <nobody@gone.example>", subject=f"[ALPHA-{ticket.number}] hallo"))
    with tenancy.only(world.alpha.id):
        db.session.refresh(contact)
        assert contact.email_failing_since is None


def test_a_bounce_and_the_next_mail_of_the_address_in_one_batch_leave_it_working(
    world: World, smtp_to
) -> None:
    """A batch reads the failing addresses once; its own bounce must count all the same."""
    ticket = _ticket(_deliver(mail(sender="Nobody <nobody@gone.example>", message_id="<b2@gone.example>")))
    [ack] = smtp_to.messages
    raws = [
        mail(sender="Someone Else <else@example.com>"),  # reads the failing addresses first
        dsn(to="support@alpha.example", failed="nobody@gone.example", original_message_id=ack["Message-ID"]),
        mail(sender="Nobody <nobody@gone.example>", subject=f"[ALPHA-{ticket.number}] wieder da"),
    ]
    with tenancy.only(world.alpha.id):
        other, bounce, back = process_as_one_batch(world.alpha.id, raws)
        assert (other.outcome, bounce.outcome, back.outcome) == ("new_ticket", "bounce", "threaded")
        contact = db.session.scalar(select(Contact).where(Contact.email == "nobody@gone.example"))
        assert contact.email_failing_since is None


def test_unknown_recipients_are_refused_and_a_suspended_clients_mail_is_taken_in(world: World) -> None:
    with pytest.raises(mail_inbound.UnknownRecipient):
        mail_inbound.receive_raw(mail(to="nobody@nowhere.example"), ["nobody@nowhere.example"], source="test")
    with tenancy.system_scope():
        db.session.get_one(Tenant, world.beta.id).status = TenantStatus.SUSPENDED.value
        jobs.commit()
    assert mail_inbound.accepting_tenant("support@beta.example") == world.beta.id
    assert mail_inbound.accepting_tenant("SUPPORT@alpha.example") == world.alpha.id
    [delivery] = mail_inbound.receive_raw(
        mail(to="support@beta.example", message_id="<suspended@mail.example.com>"), None, source="test"
    )
    with tenancy.only(world.beta.id):
        record = db.session.get_one(InboundRecord, delivery.record_id)
        assert record.ticket_id is not None


def test_mail_to_two_clients_is_stored_for_each(world: World) -> None:
    raw = mail(to="support@alpha.example, support@beta.example", message_id="<both@mail.example.com>")
    deliveries = mail_inbound.receive_raw(raw, None, source="test")
    assert {d.tenant_id for d in deliveries} == {world.alpha.id, world.beta.id}


def test_unparseable_mail_is_kept_as_a_failed_inbound_and_can_be_retried(world: World) -> None:
    [delivery] = mail_inbound.receive_raw(
        b"\x00\x01\x02 binary garbage", ["support@alpha.example"], source="test"
    )
    with tenancy.only(world.alpha.id):
        record = db.session.get_one(InboundRecord, delivery.record_id)
        assert record.status == InboundStatus.FAILED.value
        assert "Unparseable" in record.error
        intake.retry(record.id)
        jobs.commit()
        db.session.refresh(record)
        assert record.status == InboundStatus.FAILED.value
        assert record.attempts == 1


def test_html_only_mail_attachments_and_limits(world: World, app, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 1000)
    html = (
        "<html><body><p>Guten Tag,</p><p>das Display bleibt <b>schwarz</b>.</p>"
        '<script>alert("x")</script><img src="https://tracker.example/p.gif">'
        '<img src="cid:logo1"></body></html>'
    )
    raw = mail(
        body="",
        html=html,
        attachments=[
            ("winmail.dat", "application/ms-tnef", b"\x78\x9f\x3e\x22" * 10),
            ("huge.pdf", "application/pdf", b"%PDF" + b"0" * 5000),
            ("virus.exe", "application/octet-stream", b"MZ"),
        ],
    )
    record = _deliver(raw)
    ticket = _ticket(record)
    [message] = _messages(ticket, MessageKind.INBOUND)
    assert "das Display bleibt schwarz." in message.body
    email = message.data["email"]
    assert "<script" not in email["html"]
    assert "tracker.example" not in email["html"]
    assert any("huge.pdf" in note for note in email["rejected"])
    assert any("virus.exe" in note for note in email["rejected"])
    with tenancy.only(world.alpha.id):
        names = set(
            db.session.scalars(select(Attachment.filename).where(Attachment.message_id == message.id))
        )
    assert names == {"winmail.dat"}


def test_two_mails_of_a_new_sender_in_one_batch_make_one_contact(world: World) -> None:
    raws = [
        mail(sender="Neu Kunde <neu@kunde.example>", subject="Erste Frage", message_id="<n1@kunde.example>"),
        mail(sender="Neu Kunde <NEU@kunde.example>", subject="Zweite Frage", message_id="<n2@kunde.example>"),
    ]
    with tenancy.only(world.alpha.id):
        first, second = process_as_one_batch(world.alpha.id, raws)
        assert (first.outcome, second.outcome) == ("new_ticket", "new_ticket")
        [contact] = db.session.scalars(select(Contact).where(Contact.email == "neu@kunde.example")).all()
        assert {_ticket(first).contact_id, _ticket(second).contact_id} == {contact.id}


def test_mails_of_one_batch_thread_onto_each_other_and_onto_older_tickets(world: World, smtp_to) -> None:
    """A batch looks up Message-IDs and numbers ahead of its mails; the messages it writes itself
    are found by the later mails of the same batch."""
    older = _ticket(_deliver(mail(sender="Alt <alt@example.com>", message_id="<old@example.com>")))
    raws = [
        mail(sender="Neu <neu@example.com>", subject="Neue Frage", message_id="<new@example.com>"),
        mail(sender="Neu <neu@example.com>", subject="Nachtrag", in_reply_to="<new@example.com>"),
        mail(sender="Alt <alt@example.com>", subject="Re: Frage", in_reply_to="<old@example.com>"),
        mail(sender="Alt <alt@example.com>", subject=f"Noch was [ALPHA-{older.number}]"),
        mail(sender="Neu <neu@example.com>", subject="Re: Re", references=["<x@y>", "<new@example.com>"]),
        # The number the first mail's ticket gets (a customer could only guess it this early).
        mail(sender="Neu <neu@example.com>", subject=f"Wieder ich [ALPHA-{older.number + 1}]"),
    ]
    with tenancy.only(world.alpha.id):
        records = process_as_one_batch(world.alpha.id, raws)
        assert [r.outcome for r in records] == ["new_ticket"] + ["threaded"] * 5
        new = records[0].ticket_id
        assert [r.ticket_id for r in records] == [new, new, older.id, older.id, new, new]
        assert len(_messages(db.session.get_one(Ticket, new), MessageKind.INBOUND)) == 4


def test_attachments_of_a_batchs_new_and_threaded_mails_stay_with_their_messages(world: World) -> None:
    older = _ticket(_deliver(mail(sender="Alt <alt@example.com>", message_id="<att-old@example.com>")))
    raws = [
        mail(subject="Rechnung", attachments=[("rechnung.pdf", "application/pdf", b"%PDF-1.4 eins")]),
        mail(subject="Ohne Anhang"),
        mail(
            sender="Alt <alt@example.com>",
            subject="Re: Foto",
            in_reply_to="<att-old@example.com>",
            attachments=[("foto.png", "image/png", b"\x89PNG\r\n\x1a\nzwei")],
        ),
    ]
    with tenancy.only(world.alpha.id):
        new, plain, reply = process_as_one_batch(world.alpha.id, raws)
        assert (new.outcome, plain.outcome, reply.outcome) == ("new_ticket", "new_ticket", "threaded")
        files = {
            a.filename: a.message_id
            for a in db.session.scalars(
                select(Attachment).where(Attachment.inbound_id.in_([new.id, reply.id]))
            )
        }
        [first] = _messages(db.session.get_one(Ticket, new.ticket_id), MessageKind.INBOUND)
        answer = _messages(older, MessageKind.INBOUND)[-1]
        assert files == {"rechnung.pdf": first.id, "foto.png": answer.id}
        assert "Re: Foto" in answer.data["email"]["subject"]
