"""Inbound e-mail, whichever way it arrives (SMTP listener, IMAP poll, MTA pipe): the raw
message is stored for each tenant it is addressed to, then processed by the intake's job.

Processing threads it onto a ticket (In-Reply-To/References against stored Message-IDs, then
`[PREFIX-1042]` in the subject), or opens a new one; bounces are attached to the ticket they
bounced from and mark the address as failing; our own mail coming back is kept but ignored;
auto-replies and bulk mail never get an acknowledgement.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from channels import mail_threading
from channels.mail_noise import Noise, classify
from channels.mail_parse import ParsedMail, Unparseable, parse
from core import jobs, memo, tenancy
from core.extensions import db
from core.models_base import utcnow
from escalations import services as escalations
from tenants import services as tenants
from tenants.models import ChannelKind, Tenant
from tickets import attachments, contacts, intake
from tickets import services as tickets
from tickets.models import Attachment, Channel, Contact, InboundRecord, Message, MessageKind, Status, Ticket

OUTCOME_THREADED = "threaded"
OUTCOME_FOLLOW_UP = "follow_up"  # a reply to a closed ticket: a new ticket, related to it
OUTCOME_BOUNCE = "bounce"
OUTCOME_BOUNCE_UNMATCHED = "bounce_unmatched"
OUTCOME_LOOP = "loop"
# Never stored as attachments, whatever the sender claims (agents would open them).
BLOCKED_EXTENSIONS = {
    "exe", "bat", "cmd", "com", "scr", "pif", "vbs", "vbe", "js", "jse", "wsf", "msi", "ps1", "jar",
    "lnk", "hta", "cpl",
}  # fmt: skip


class UnknownRecipient(LookupError):
    """No tenant has a support address among the recipients: refused, not stored."""


@dataclass(frozen=True)
class Delivery:
    """Where one message went: a record per tenant addressed."""

    tenant_id: int
    record_id: int


def recipients_from_headers(raw: bytes) -> list[str]:
    """Envelope recipients are authoritative; without them (a pipe that does not pass them),
    the addresses in the header block."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw[:65536], headersonly=True)
    values = []
    for name in ("delivered-to", "x-original-to", "envelope-to", "to", "cc"):
        values += [str(v) for v in headers.get_all(name) or []]
    return [addr.lower() for _n, addr in getaddresses(values) if "@" in addr]


def accepting_tenant(address: str) -> int | None:
    """The tenant a support address belongs to, or None (the SMTP listener's RCPT check). A
    suspended tenant keeps receiving mail: its customers' messages must not bounce or be lost."""
    return tenants.channel_owner(ChannelKind.EMAIL, address.strip().lower())


def receive_raw(raw: bytes, recipients: list[str] | None = None, *, source: str) -> list[Delivery]:
    """Store the message once per tenant addressed and commit; processing follows as a job.

    The same message delivered twice (an MTA retrying after a lost 250) is stored once: the
    Message-ID (or, without one, the bytes' hash) is the intake's idempotency key."""
    addresses = [a.strip().lower() for a in (recipients or recipients_from_headers(raw)) if a.strip()]
    tenant_ids = list(dict.fromkeys(t for t in (accepting_tenant(a) for a in addresses) if t is not None))
    if not tenant_ids:
        raise UnknownRecipient(", ".join(addresses) or "no recipients")
    key = _idempotency_key(raw)
    return [_store(t, raw, key, source=source, addresses=addresses) for t in tenant_ids]


def receive_for_tenant(
    tenant_id: int, raw: bytes, *, source: str, recipients: list[str] | None = None
) -> Delivery:
    """Store the message for one tenant known from the transport (an IMAP mailbox it keeps),
    without the support-address check, and commit; idempotent like `receive_raw`."""
    addresses = recipients if recipients is not None else recipients_from_headers(raw)
    return _store(tenant_id, raw, _idempotency_key(raw), source=source, addresses=addresses)


def _store(tenant_id: int, raw: bytes, key: str, *, source: str, addresses: list[str]) -> Delivery:
    with tenancy.only(tenant_id):
        record = intake.receive(
            tenant_id,
            intake.InboundContact(
                channel=Channel.EMAIL,
                external_id=key,
                subject="",
                body="",
                extra={"source": source, "recipients": addresses[:50], "size": len(raw)},
            ),
            raw=raw,
        )
        delivery = Delivery(tenant_id, record.id)
        jobs.commit()
    return delivery


def _idempotency_key(raw: bytes) -> str:
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw[:65536], headersonly=True)
    message_id = str(headers.get("message-id") or "").strip()
    if message_id and len(message_id) <= 190 and " " not in message_id:
        return f"mid:{message_id}"
    return f"sha:{hashlib.sha256(raw).hexdigest()}"


# --- processing -----------------------------------------------------------------------------


@intake.preparer(Channel.EMAIL)
def prepare_mails(records: list[InboundRecord]) -> None:
    """Ahead of a batch: each mail parsed, and the contacts of all senders (and their
    organisations) and what the mails thread onto loaded with one query each, instead of
    lookups per mail. A mail that cannot be parsed is left to `process_mail`, which fails it."""
    mails = []
    for record in records:
        try:
            mail = parse(record.raw or b"")
        except Exception:  # noqa: S112  (process_mail parses it again and records the failure)
            continue
        memo.remember(("parsed_mail", record.id), mail)
        mails.append(mail)
    if mails:
        tenant = db.session.get_one(Tenant, records[0].tenant_id)
        contacts.prefetch(tenant.id, [mail.from_address for mail in mails if mail.from_address])
        mail_threading.prefetch(tenant, mails)


@intake.processor(Channel.EMAIL)
def process_mail(record: InboundRecord) -> Ticket | None:
    raw = record.raw
    if raw is None:
        raise Unparseable("the raw message is missing")
    mail = memo.read(("parsed_mail", record.id), lambda: parse(raw))
    noise = classify(mail, record.tenant_id)
    if noise is Noise.LOOP:
        record.outcome = OUTCOME_LOOP
        return None
    if noise is Noise.BOUNCE:
        return _bounce(record, mail)
    tenant = db.session.get_one(Tenant, record.tenant_id)
    ticket = mail_threading.thread(tenant, mail)
    stored, rejected = _store_attachments(record, mail)
    extra = _message_data(mail, noise, stored, rejected)
    body = mail.visible or mail.text or _("(empty message)")
    if ticket is not None and ticket.status != Status.CLOSED.value:
        # The specialists answering the escalation by e-mail write a note, not a customer message
        # (and they do not become the client's customers).
        expert_note = None
        if noise is Noise.NONE:
            expert_note = escalations.expert_mail(ticket, mail.from_address, body)
        if expert_note is not None:
            message = expert_note
            extra = {**expert_note.data, **extra}
        elif noise in (Noise.AUTO_REPLY, Noise.BULK):
            contact = _sender(record.tenant_id, mail, ticket.language)
            message = tickets.add_message(
                ticket, MessageKind.INBOUND, body, contact_id=contact.id if contact else None
            )
            tickets.record_event(ticket, "auto_reply")
        else:
            contact = _sender(record.tenant_id, mail, ticket.language)
            message = tickets.customer_wrote(
                ticket,
                body,
                contact_id=contact.id if contact else None,
                email_message_id=mail.message_id,
                data=extra,
            )
        message.email_message_id = mail.message_id
        message.data = extra
        mail_threading.written(record.tenant_id, mail.message_id, ticket)
        _link(stored, message)
        # Set last: a query above would otherwise flush it as an UPDATE of its own.
        record.outcome = OUTCOME_THREADED
        return ticket
    new, message = intake.open_from(
        record,
        intake.InboundContact(
            channel=Channel.EMAIL,
            external_id=record.external_id,
            subject=mail.subject,
            body=body,
            name=mail.from_name,
            email=mail.from_address,
            acknowledge=noise is Noise.NONE,
            extra=extra,
            message_id=mail.message_id,
        ),
    )
    mail_threading.written(record.tenant_id, mail.message_id, new)
    _link(stored, message)
    _clear_failing(record.tenant_id, mail.from_address)
    if ticket is not None:  # the customer answered a closed ticket: a follow-up, related to it
        tickets.link_parent(new, ticket)
        record.outcome = OUTCOME_FOLLOW_UP
    else:
        record.outcome = intake.OUTCOME_NEW
    return new


def _sender(tenant_id: int, mail: ParsedMail, language: str) -> Contact | None:
    if not mail.from_address:
        return None
    contact = contacts.find_or_create(
        tenant_id, email=mail.from_address, name=mail.from_name, language=language
    )
    _clear_failing(tenant_id, mail.from_address)
    return contact


def _clear_failing(tenant_id: int, address: str | None) -> None:
    """They wrote to us, so the address works again."""
    if not address or address not in _maybe_failing(tenant_id):
        return
    for contact in db.session.scalars(
        select(Contact).where(
            Contact.tenant_id == tenant_id, Contact.email == address, Contact.email_failing_since.is_not(None)
        )
    ):
        contact.email_failing_since = None
        contact.email_failure = None


def _maybe_failing(tenant_id: int) -> set[str]:
    """The tenant's addresses that may be failing: the ones that bounced, read once per batch
    (`core.memo`; few senders are among them, so most mails need no query to clear theirs), plus
    those the batch's own bounces mark. A superset is harmless: an address in it is looked up."""
    return memo.read(
        ("failing_addresses", tenant_id),
        lambda: set(
            db.session.scalars(
                select(Contact.email).where(
                    Contact.tenant_id == tenant_id,
                    Contact.email.is_not(None),
                    Contact.email_failing_since.is_not(None),
                )
            )
        ),
    )


def _bounce(record: InboundRecord, mail: ParsedMail) -> Ticket | None:
    bounce = mail.bounce
    failed = list(bounce.recipients) if bounce else []
    failed += [a.strip().lower() for a in mail.headers.get("x-failed-recipients", "").split(",") if "@" in a]
    failed = list(dict.fromkeys(failed))
    reason = " ".join(
        p for p in ((bounce.status if bounce else ""), (bounce.diagnostic if bounce else "")) if p
    )
    now = utcnow()
    if failed:
        for contact in db.session.scalars(
            select(Contact).where(Contact.tenant_id == record.tenant_id, Contact.email.in_(failed))
        ):
            contact.email_failing_since = contact.email_failing_since or now
            contact.email_failure = (reason or _("Mail to this address bounced."))[:500]
        _maybe_failing(record.tenant_id).update(failed)
    ticket = mail_threading.ticket_of_messages(record.tenant_id, mail_threading.lookup_ids(mail))
    if ticket is None:
        record.outcome = OUTCOME_BOUNCE_UNMATCHED
        return None
    with force_locale(ticket.language):
        text = _(
            "Delivery failed to %(addresses)s: %(reason)s",
            addresses=", ".join(failed) or _("the customer"),
            reason=reason or mail.subject or _("no reason given"),
        )
    message = tickets.add_message(ticket, MessageKind.SYSTEM, text)
    message.email_message_id = mail.message_id
    message.data = {
        "bounce": {"recipients": failed, "status": bounce.status if bounce else "", "diagnostic": reason}
    }
    tickets.record_event(ticket, "bounce", recipients=failed)
    db.session.flush()
    record.outcome = OUTCOME_BOUNCE
    return ticket


def _store_attachments(
    record: InboundRecord, mail: ParsedMail
) -> tuple[list[tuple[Attachment, str | None]], list[str]]:
    """Attachments within the size limit and not executable are stored (inline images too);
    the rest is listed on the message as a note: the mail itself still becomes a ticket."""
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    stored: list[tuple[Attachment, str | None]] = []
    rejected: list[str] = []
    for part in mail.attachments:
        name = attachments.safe_name(part.filename)
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if len(part.data) > limit:
            rejected.append(
                _("%(name)s was not kept: larger than %(size)d MB.", name=name, size=limit // (1024 * 1024))
            )
            continue
        if extension in BLOCKED_EXTENSIONS:
            rejected.append(_("%(name)s was not kept: files of this type are not accepted.", name=name))
            continue
        upload = attachments.Upload(filename=name, content_type=part.content_type, data=part.data)
        stored.append((attachments.store(record.tenant_id, upload, inbound_id=record.id), part.content_id))
    if any(attachment.id is None for attachment, _cid in stored):
        db.session.flush()  # their ids, for the inline images' references (a batch gave them)
    return stored, rejected


def _link(stored: list[tuple[Attachment, str | None]], message: Message) -> None:
    if stored and message.id is None:
        db.session.flush()  # the message's id (inside a batch it has one already)
    for attachment, _cid in stored:
        attachment.message_id = message.id


def _message_data(
    mail: ParsedMail, noise: Noise, stored: list[tuple[Attachment, str | None]], rejected: list[str]
) -> dict[str, object]:
    email: dict[str, object] = {
        "from": mail.from_address,
        "from_name": mail.from_name,
        "reply_to": mail.reply_to,
        "subject": mail.subject,
        "inline": {cid: attachment.id for attachment, cid in stored if cid},
    }
    if mail.text.strip() != mail.visible.strip():
        email["full_text"] = mail.text[:200_000]
    if mail.html:
        email["html"] = mail.html[:500_000]
    if rejected:
        email["rejected"] = rejected
    if noise is not Noise.NONE:
        email["noise"] = noise.value
    if mail.defects:
        email["defects"] = mail.defects[:20]
    return {"email": email}
