"""Every mail of a corpus of broken, odd and hostile real-world messages ends as a ticket or as a
visible, kept inbound record (ignored with an outcome, or failed with an error): none is lost,
none raises out of the intake.

The files in `corpus/` are the bytes as they arrive (CRLF and LF, 8-bit headers, NUL bytes);
`EXPECTED` says what an agent must see of each beyond "it is not lost".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from channels import mail_inbound
from channels.mail_parse import Unparseable, parse
from core import tenancy
from core.extensions import db
from tests.factories import World
from tickets import services as tickets
from tickets.models import Attachment, Contact, InboundRecord, InboundStatus, Message, MessageKind, Ticket

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(path.name for path in CORPUS.glob("*.eml"))
LIMIT = 100_000  # ATTACHMENT_MAX_BYTES for the corpus: `huge_attachment.eml` is over it


@dataclass(frozen=True)
class Expected:
    status: str = InboundStatus.PROCESSED.value
    outcome: str | None = "new_ticket"
    subject: str | None = None  # the ticket's subject, exactly
    words: tuple[str, ...] = ()  # in the message the agent reads
    absent: tuple[str, ...] = ()  # not in it (trimmed quotes, replacement characters, scripts)
    attachments: frozenset[str] | None = None  # stored attachment names, exactly
    rejected: tuple[str, ...] = ()  # named in the "was not kept" notes
    sender: str | None = ""  # the contact's address; None: no contact; "": not checked
    sender_name: str | None = None
    html_absent: tuple[str, ...] = ()  # not in the sanitized HTML (which must exist)
    error: str | None = None  # failed records: in the error


BAD = ("\ufffd", "\x00")  # a decoding that gave up, a byte PostgreSQL refuses
HOSTILE = (
    "<script",
    "onerror",
    "onload",
    "javascript:",
    "evil.example",
    "tracker.example",
    "<form",
    "<iframe",
)

EXPECTED: dict[str, Expected] = {
    "8bit_headers.eml": Expected(
        subject="Rückfrage zur Kündigung",
        sender_name="Jürgen Müller",
        words=("Ich möchte meinen Vertrag kündigen.",),
        absent=BAD,
    ),
    "bad_transfer_encoding.eml": Expected(words=("Die Waschmaschine schleudert nicht.",)),
    "binary_garbage.eml": Expected(status=InboundStatus.FAILED.value, outcome=None, error="Unparseable"),
    "boundary_never_closed.eml": Expected(
        words=("Anbei die Fotos vom Transportschaden.",), attachments=frozenset({"schaden.jpg"})
    ),
    "broken_quoted_printable.eml": Expected(
        words=("contrat n° 7781", "réglage ne fonctionne pas", "Code =ZZ affiché à l'écran"), absent=BAD
    ),
    "calendar_invite.eml": Expected(
        subject="Einladung: Wartungstermin",
        words=("Wartungstermin fuer die Klimaanlage",),
        absent=("BEGIN:VCALENDAR",),
        attachments=frozenset({"invite.ics"}),
    ),
    "cp1252_undeclared.eml": Expected(words=("„Preis 49€“ – auf der Rechnung", "Bitte prüfen."), absent=BAD),
    "deeply_nested.eml": Expected(words=("Ganz tief verschachtelt",)),
    "dsn_bounce.eml": Expected(status=InboundStatus.IGNORED.value, outcome="bounce_unmatched"),
    "empty_multipart.eml": Expected(
        subject="Leere Nachricht", words=("(empty message)",), attachments=frozenset()
    ),
    "encoded_word_headers.eml": Expected(
        subject="Anfrage zur Rückerstattung – dringend",
        sender="zoe.dupre@example.fr",
        sender_name="Zoë Dupré",
    ),
    "fifty_attachments.eml": Expected(
        words=("Anbei alle Messprotokolle der Woche.",),
        absent=("Messwert",),
        attachments=frozenset(f"messung-{i:02d}.txt" for i in range(1, 51)),
    ),
    "forwarded_rfc822.eml": Expected(
        words=("Die Bestellung ist nie angekommen",),
        absent=("Versandbestaetigung",),
        attachments=frozenset({"Ihre Bestellung 55120.eml"}),
    ),
    "garbage_date.eml": Expected(words=("Die Heizung ist aus.",)),
    "gmail_reply_en_wrapped.eml": Expected(
        words=("Thanks, the refund has not arrived yet.",), absent=("wrote:", "refund was issued", "+44 20")
    ),
    "headers_only.eml": Expected(subject="Bitte um Rueckruf", words=("(empty message)",)),
    "html_only_hostile.eml": Expected(
        words=("Mein Konto ist gesperrt seit gestern.", "Kundennummer K-9912"),
        absent=("document.cookie", "display:none", "alert("),
        html_absent=HOSTILE,
    ),
    "html_unclosed_head.eml": Expected(
        words=("Ich möchte den Artikel 4471 & das Zubehör zurücksenden.",),
        absent=("color: #333",),
        html_absent=("color: #333", "<title"),
    ),
    "huge_attachment.eml": Expected(
        words=("Anbei der Scan der Garantiekarte.",), attachments=frozenset(), rejected=("garantie.tif",)
    ),
    "invalid_from_address.eml": Expected(
        words=("die Frage ist trotzdem wichtig",), sender=None, sender_name="Kunde, Treuer"
    ),
    "invalid_from_domain.eml": Expected(words=("Der Export ist fehlgeschlagen.",), sender=None),
    "malformed_encoded_words.eml": Expected(
        subject="AW:Grüße aus Zürich =?utf-8?B?broken!!?= Ende", sender_name="Jürg Schär", absent=BAD
    ),
    "mbox_from_line.eml": Expected(words=("mbox-Export",), sender="hans@example.com"),
    "missing_boundary.eml": Expected(
        words=("Der Drucker zieht kein Papier ein, Fehler 0x13.",),
        absent=("--=_Part_42", "Content-Type"),
        attachments=frozenset({"log.csv"}),
    ),
    "mixed_line_endings.eml": Expected(words=("Erste Zeile\nzweite Zeile\nDritte Zeile",), absent=("\r",)),
    "nested_related_alternative.eml": Expected(
        words=("la facture ci-jointe ne correspond pas à la commande.",),
        attachments=frozenset({"logo.png", "facture-2025-031.pdf"}),
        html_absent=("<script",),
    ),
    "no_from.eml": Expected(words=("Lieferung fehlt",), sender=None),
    "no_message_id.eml": Expected(words=("Passwort zuruecksetzen",), sender="nina@example.com"),
    "no_subject.eml": Expected(subject="(no subject)", words=("la lavatrice perde acqua",)),
    "null_bytes.eml": Expected(
        subject="Export fehlerhaft", words=("Der Export enthält Nullbytes",), absent=BAD
    ),
    "out_of_range_date.eml": Expected(words=("Die Uhr meines Mailprogramms spinnt.",)),
    "outlook_reply_de.eml": Expected(
        words=("Der Techniker kann am Donnerstag ab 14 Uhr kommen.", "Hans Muster"),
        absent=("Von:", "Gesendet:", "wann passt"),
    ),
    "outlook_reply_fr.eml": Expected(
        words=("le problème persiste après la mise à jour.", "Julie"),
        absent=("Envoyé", "Merci de redémarrer"),
        html_absent=("<script",),
    ),
    "outlook_reply_it.eml": Expected(
        words=("la macchina da caffè non si accende più.",),
        absent=("Inviato da iPhone", "Oggetto:", "staccare la spina"),
    ),
    "qmail_bounce.eml": Expected(status=InboundStatus.IGNORED.value, outcome="bounce_unmatched"),
    "raw_utf8_headers.eml": Expected(
        subject="Frågor om fakturan – snälla svara", sender_name="Zoë Ångström", words=("Fakturan är fel.",)
    ),
    "truncated_base64.eml": Expected(words=("der Router startet seit dem Update ständig neu",)),
    "unknown_charset.eml": Expected(words=("Bitte um Rückerstattung.", "Freundliche Grüße"), absent=BAD),
    "utf8_label_latin1_bytes.eml": Expected(
        words=("die Spülmaschine läuft nicht mehr, die Türe schließt nicht richtig.",), absent=BAD
    ),
    "very_long_headers.eml": Expected(words=("Der Betreff ist etwas lang geraten.",)),
    "winmail_dat.eml": Expected(
        words=("Bitte senden Sie uns die Offerte für den Wartungsvertrag.",),
        attachments=frozenset({"winmail.dat"}),
    ),
}


def test_the_corpus_is_large_and_every_file_has_expectations() -> None:
    assert len(FILES) >= 25
    assert set(FILES) == set(EXPECTED)


@pytest.mark.parametrize("name", FILES)
def test_no_corpus_mail_is_lost(name: str, world: World, app, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", LIMIT)
    raw = (CORPUS / name).read_bytes()
    expected = EXPECTED[name]

    [delivery] = mail_inbound.receive_raw(raw, ["support@alpha.example"], source="test")

    assert delivery.tenant_id == world.alpha.id
    with tenancy.only(world.alpha.id):
        record = db.session.get_one(InboundRecord, delivery.record_id)
        db.session.refresh(record)
        assert db.session.scalar(select(InboundRecord.raw).where(InboundRecord.id == record.id)) == raw
        state = (record.status, record.outcome, record.error)
        if record.status == InboundStatus.PROCESSED.value:
            assert record.ticket_id is not None, state
        elif record.status == InboundStatus.IGNORED.value:
            assert record.outcome, state
        else:
            assert record.status == InboundStatus.FAILED.value, state
            assert record.error, state
        assert (record.status, record.outcome) == (expected.status, expected.outcome), state
        if expected.error:
            assert expected.error in record.error
        if record.ticket_id is None:
            return
        _check_ticket(db.session.get_one(Ticket, record.ticket_id), expected)


def _check_ticket(ticket: Ticket, expected: Expected) -> None:
    [message] = [m for m in tickets.messages_of(ticket) if m.kind == MessageKind.INBOUND.value]
    email = message.data["email"]
    assert ticket.channel == "email"
    if expected.subject is not None:
        assert ticket.subject == expected.subject
    for text in (ticket.subject, message.body, email.get("from_name") or ""):
        assert "\x00" not in text
        assert "\ufffd" not in text
    for word in expected.words:
        assert word in message.body
    for word in expected.absent:
        assert word not in message.body
    if expected.sender_name is not None:
        assert email["from_name"] == expected.sender_name
    if expected.sender != "":
        contact = db.session.get(Contact, ticket.contact_id) if ticket.contact_id else None
        assert (contact.email if contact else None) == expected.sender
    if expected.html_absent:
        assert email["html"]
        for fragment in expected.html_absent:
            assert fragment not in email["html"]
    names = set(db.session.scalars(select(Attachment.filename).where(Attachment.message_id == message.id)))
    if expected.attachments is not None:
        assert names == expected.attachments
    for name in expected.rejected:
        assert any(name in note for note in email["rejected"])


def test_parse_raises_nothing_but_unparseable_on_the_corpus() -> None:
    unparseable = []
    for name in FILES:
        try:
            mail = parse((CORPUS / name).read_bytes())
        except Unparseable:
            unparseable.append(name)
            continue
        assert "\x00" not in mail.text + mail.subject + mail.from_name, name
    assert unparseable == ["binary_garbage.eml"]


def test_bounces_in_the_corpus_are_read() -> None:
    dsn = parse((CORPUS / "dsn_bounce.eml").read_bytes()).bounce
    assert dsn is not None
    assert (dsn.recipients, dsn.status, dsn.original_message_ids) == (
        ["gone@customer.example"],
        "5.1.1",
        ["<ack-1001@alpha.example>"],
    )
    assert "User unknown in virtual mailbox table" in dsn.diagnostic
    qmail = parse((CORPUS / "qmail_bounce.eml").read_bytes()).bounce
    assert qmail is not None
    assert (qmail.recipients, qmail.status, qmail.original_message_ids) == (
        ["old.customer@oldhost.example"],
        "5.1.1",
        ["<reply-1002@alpha.example>"],
    )
    assert "no mailbox here" in qmail.diagnostic


def test_a_qmail_bounce_of_our_reply_lands_on_its_ticket(world: World) -> None:
    with tenancy.only(world.alpha.id):
        ticket = db.session.get_one(Ticket, world.alpha_ticket.id)
        sent = tickets.add_message(ticket, MessageKind.SYSTEM, "Ihre Lieferung ist unterwegs.")
        sent.email_message_id = "<reply-1002@alpha.example>"
        contact = Contact(tenant_id=world.alpha.id, email="old.customer@oldhost.example", name="Alt")
        db.session.add(contact)
        db.session.flush()

    [delivery] = mail_inbound.receive_raw(
        (CORPUS / "qmail_bounce.eml").read_bytes(), ["support@alpha.example"], source="test"
    )

    with tenancy.only(world.alpha.id):
        record = db.session.get_one(InboundRecord, delivery.record_id)
        assert (record.outcome, record.ticket_id) == ("bounce", ticket.id)
        last = db.session.scalars(
            select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id.desc())
        ).first()
        assert "old.customer@oldhost.example" in last.body
        db.session.refresh(contact)
        assert contact.email_failing_since is not None
        assert "5.1.1" in contact.email_failure


def test_inline_image_and_calendar_parts_are_kept_with_their_ids() -> None:
    nested = parse((CORPUS / "nested_related_alternative.eml").read_bytes())
    [logo] = [part for part in nested.attachments if part.filename == "logo.png"]
    assert (logo.content_id, logo.inline, logo.data[:4]) == ("logo@sig", True, b"\x89PNG")
    assert 'src="cid:logo@sig"' in (nested.html or "")
    invite = parse((CORPUS / "calendar_invite.eml").read_bytes())
    assert {part.content_type for part in invite.attachments} == {"text/calendar", "application/ics"}
    assert all(part.filename == "invite.ics" for part in invite.attachments)
