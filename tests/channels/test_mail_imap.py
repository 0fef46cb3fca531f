"""IMAP polling against a real dovecot: mail a client keeps in its own mailbox becomes tickets of
that client, once, and a broken mailbox is reported, not raised."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select, text

from channels import mail_imap, mailboxes
from channels.models import Mailbox
from core import jobs, secretbox, tenancy
from core.audit import AuditEvent
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from tests.channels.imap_server import ImapAccount, ImapServer
from tests.channels.mails import mail
from tests.factories import World
from tickets.models import InboundRecord, Ticket


def _mailbox(
    tenant_id: int, account: ImapAccount, *, password: str | None = None, folder: str = "INBOX"
) -> int:
    with tenancy.only(tenant_id):
        mailbox = mailboxes.create(
            tenant_id,
            account.host,
            account.port,
            False,
            account.username,
            password or account.password,
            folder,
        )
        jobs.commit()
        return mailbox.id


def _poll(tenant_id: int, mailbox_id: int) -> int:
    """As the job runs it: in the mailbox's tenant scope."""
    with tenancy.only(tenant_id):
        return mail_imap.poll(mailbox_id)


def _state(tenant_id: int, mailbox_id: int) -> Mailbox:
    with tenancy.only(tenant_id):
        mailbox = mailboxes.get(mailbox_id)
        db.session.refresh(mailbox)
        return mailbox


def _tickets(tenant_id: int, subject: str) -> list[Ticket]:
    with tenancy.only(tenant_id):
        return list(db.session.scalars(select(Ticket).where(Ticket.subject == subject)))


def test_mail_in_the_mailbox_becomes_a_ticket_of_the_mailbox_tenant(
    world: World, imap_account: ImapAccount
) -> None:
    mailbox_id = _mailbox(world.alpha.id, imap_account)
    # Addressed to nobody the desk knows: the mailbox says whose mail it is.
    uid = imap_account.append(mail(to="info@alpha-shop.example", subject="Lieferung fehlt"))
    with tenancy.system_scope():
        assert mail_imap.poll_sweep(None) == 1  # enqueues the poll job; it runs after the commit
        jobs.commit()
    [ticket] = _tickets(world.alpha.id, "Lieferung fehlt")
    assert (ticket.tenant_id, ticket.channel) == (world.alpha.id, "email")
    assert _tickets(world.beta.id, "Lieferung fehlt") == []
    with tenancy.only(world.alpha.id):
        record = db.session.scalar(select(InboundRecord).where(InboundRecord.ticket_id == ticket.id))
        assert record is not None
        assert record.payload["extra"]["source"] == "imap"
    state = _state(world.alpha.id, mailbox_id)
    assert (state.last_uid, state.last_error) == (uid, None)
    assert state.last_polled_at is not None
    assert imap_account.seen() == {uid: True}


def test_polling_twice_makes_no_duplicate_even_when_uidvalidity_changes(
    world: World, imap_account: ImapAccount
) -> None:
    mailbox_id = _mailbox(world.alpha.id, imap_account)
    imap_account.append(mail(subject="Drucker druckt nicht"))
    assert _poll(world.alpha.id, mailbox_id) == 1
    assert _poll(world.alpha.id, mailbox_id) == 0
    # The server renumbered its messages: read again from the start, still one ticket.
    with tenancy.only(world.alpha.id):
        mailboxes.get(mailbox_id).uidvalidity = 1
        jobs.commit()
    _poll(world.alpha.id, mailbox_id)
    assert len(_tickets(world.alpha.id, "Drucker druckt nicht")) == 1
    assert _state(world.alpha.id, mailbox_id).uidvalidity != 1


def test_a_message_arriving_after_a_poll_is_picked_up_by_the_next(
    world: World, imap_account: ImapAccount, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "IMAP_BATCH", 2)
    mailbox_id = _mailbox(world.alpha.id, imap_account)
    first = [imap_account.append(mail(subject=f"Frage {n}")) for n in range(3)]
    assert _poll(world.alpha.id, mailbox_id) == 3  # two batches
    assert _state(world.alpha.id, mailbox_id).last_uid == first[-1]
    later = imap_account.append(mail(subject="Noch eine Frage"))
    assert _poll(world.alpha.id, mailbox_id) == 1
    assert _state(world.alpha.id, mailbox_id).last_uid == later > first[-1]
    assert [
        len(_tickets(world.alpha.id, s)) for s in ("Frage 0", "Frage 1", "Frage 2", "Noch eine Frage")
    ] == [
        1,
        1,
        1,
        1,
    ]
    assert all(imap_account.seen().values())


def test_wrong_password_is_recorded_not_raised(world: World, imap_account: ImapAccount) -> None:
    # A failed poll rolls its session back, which expires the world's objects: keep the id.
    alpha_id = world.alpha.id
    mailbox_id = _mailbox(alpha_id, imap_account, password="not-the-password")
    uid = imap_account.append(mail(subject="Bitte zurückrufen"))
    assert _poll(alpha_id, mailbox_id) == 0
    state = _state(alpha_id, mailbox_id)
    assert "Authentication failed" in (state.last_error or "")
    assert state.last_polled_at is not None
    assert state.last_uid == 0
    assert imap_account.seen() == {uid: False}  # still unread for the client
    # Corrected, the next poll takes the mail in and clears the error.
    with tenancy.only(alpha_id):
        mailboxes.update(mailbox_id, password=imap_account.password)
        jobs.commit()
    assert _poll(alpha_id, mailbox_id) == 1
    assert _state(alpha_id, mailbox_id).last_error is None


def test_unreachable_server_is_recorded_not_raised(world: World, imap_server: ImapServer) -> None:
    # A failed poll rolls its session back, which expires the world's objects: keep the id.
    alpha_id = world.alpha.id
    account = imap_server.add_account()
    account.port = _closed_port()
    mailbox_id = _mailbox(alpha_id, account)
    assert _poll(alpha_id, mailbox_id) == 0
    assert "ConnectionRefusedError" in (_state(alpha_id, mailbox_id).last_error or "")


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_too_large_mail_is_left_on_the_server_and_reported(
    world: World, imap_account: ImapAccount, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAIL_MAX_BYTES", 5000)
    mailbox_id = _mailbox(world.alpha.id, imap_account)
    big = imap_account.append(mail(subject="Riesig", body="x" * 10_000))
    small = imap_account.append(mail(subject="Klein"))
    assert _poll(world.alpha.id, mailbox_id) == 1
    assert _tickets(world.alpha.id, "Riesig") == []
    assert len(_tickets(world.alpha.id, "Klein")) == 1
    assert imap_account.seen() == {big: False, small: True}
    assert f"UID {big}" in (_state(world.alpha.id, mailbox_id).last_error or "")


def test_folder_with_a_non_ascii_name(world: World, imap_account: ImapAccount) -> None:
    imap_account.create_folder('"Anfragen &ANw-"')  # "Anfragen Ü" in IMAP's modified UTF-7
    mailbox_id = _mailbox(world.alpha.id, imap_account, folder="Anfragen Ü")
    imap_account.append(mail(subject="Aus dem Ordner"), folder='"Anfragen &ANw-"')
    assert _poll(world.alpha.id, mailbox_id) == 1
    assert len(_tickets(world.alpha.id, "Aus dem Ordner")) == 1


def test_password_is_stored_encrypted_and_never_in_the_audit_trail(
    world: World, imap_account: ImapAccount
) -> None:
    mailbox_id = _mailbox(world.alpha.id, imap_account)
    with tenancy.only(world.alpha.id):
        [stored] = db.session.execute(
            text("SELECT password_encrypted FROM mailboxes WHERE id = :id"), {"id": mailbox_id}
        ).one()
        assert imap_account.password not in stored
        assert secretbox.decrypt(stored) == imap_account.password
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.target_type == "mailboxes"))
        assert all(imap_account.password not in str(e.data) for e in events)


def test_beta_mailbox_is_invisible_in_alpha_scope(world: World, imap_account: ImapAccount) -> None:
    beta_id = _mailbox(world.beta.id, imap_account)
    alpha_id = _mailbox(world.alpha.id, imap_account)
    with tenancy.only(world.alpha.id):
        assert [m.id for m in mailboxes.listing()] == [alpha_id]
        with pytest.raises(NotFound):
            mailboxes.get(beta_id)
        with pytest.raises(NotFound):
            mailboxes.get(alpha_id, tenant_id=world.beta.id)
        with pytest.raises(NotFound):
            mailboxes.update(beta_id, enabled=False)
        with pytest.raises(NotFound):
            mailboxes.delete(beta_id)
        assert mail_imap.poll(beta_id) == 0
    with tenancy.only(world.beta.id):
        assert mailboxes.get(beta_id).last_polled_at is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"host": "not a host"}, "host"),
        ({"port": 0}, "port"),
        ({"port": "imap"}, "port"),
        ({"host": "imap.example.com", "use_ssl": False}, "use_ssl"),
        ({"username": ""}, "username"),
        ({"password": ""}, "password"),
        ({"folder": "In\nbox"}, "folder"),
    ],
)
def test_invalid_mailbox_is_refused(world: World, changes: dict[str, object], field: str) -> None:
    values: dict[str, object] = {
        "host": "imap.example.com",
        "port": 993,
        "use_ssl": True,
        "username": "support@alpha.example",
        "password": "secret",
        "folder": "INBOX",
    }
    values.update(changes)
    with tenancy.only(world.alpha.id), pytest.raises(ValidationFailed) as refused:
        mailboxes.create(world.alpha.id, **values)  # type: ignore[arg-type]
    assert field in refused.value.fields


def test_the_same_mailbox_twice_is_refused(world: World) -> None:
    with tenancy.only(world.alpha.id):
        mailboxes.create(world.alpha.id, "imap.example.com", 993, True, "support@alpha.example", "pw")
        with pytest.raises(ValidationFailed) as refused:
            mailboxes.create(world.alpha.id, "IMAP.example.com", 993, True, "support@alpha.example", "pw")
    assert "username" in refused.value.fields


def test_moving_a_mailbox_starts_reading_it_over(world: World) -> None:
    with tenancy.only(world.alpha.id):
        mailbox = mailboxes.create(
            world.alpha.id, "imap.example.com", 993, True, "support@alpha.example", "pw"
        )
        mailbox.uidvalidity, mailbox.last_uid = 42, 17
        mailboxes.update(mailbox.id, port=143)
        assert (mailbox.uidvalidity, mailbox.last_uid) == (42, 17)
        mailboxes.update(mailbox.id, folder="Support")
        assert (mailbox.uidvalidity, mailbox.last_uid) == (None, 0)
        assert secretbox.decrypt(mailbox.password_encrypted) == "pw"


def test_cli_polls_every_enabled_mailbox(app: Flask, world: World, imap_account: ImapAccount) -> None:
    mailbox_id = _mailbox(world.alpha.id, imap_account)
    imap_account.append(mail(subject="Über die Kommandozeile"))
    result = app.test_cli_runner().invoke(args=["channels", "imap-poll"])
    assert result.exit_code == 0, result.output
    assert f"mailbox {mailbox_id} " in result.output
    assert "1 stored" in result.output
    assert len(_tickets(world.alpha.id, "Über die Kommandozeile")) == 1
    again = app.test_cli_runner().invoke(args=["channels", "imap-poll", "--mailbox", str(mailbox_id)])
    assert again.exit_code == 0, again.output
    assert "0 stored" in again.output
