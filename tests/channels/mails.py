"""Mail as customers' clients, auto-responders and mail servers write it, for the tests."""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from email.utils import formatdate

from tickets import intake
from tickets.models import Channel, InboundRecord


def mail(
    *,
    to: str = "support@alpha.example",
    sender: str = "Hans Muster <hans@example.com>",
    subject: str = "Geschirrspüler defekt",
    body: str = "Guten Tag, mein Geschirrspüler zeigt den Fehler E24 und pumpt nicht mehr ab.",
    html: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate()
    message["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@mail.example.com>"
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = " ".join(references)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(message)


def dsn(*, to: str, failed: str, original_message_id: str, status: str = "5.1.1") -> bytes:
    """A delivery status notification (RFC 3464) as Postfix sends it."""
    boundary = "dsn-boundary-42"
    return (
        f"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
        f"To: {to}\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@mx.example.com>\r\n"
        f"Auto-Submitted: auto-replied\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        f"\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"I'm sorry to have to inform you that your message could not be delivered.\r\n\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {failed}\r\n"
        f"Action: failed\r\n"
        f"Status: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{failed}>: Recipient address rejected: User unknown\r\n\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: text/rfc822-headers\r\n\r\n"
        f"From: Alpina <support@alpha.example>\r\n"
        f"To: {failed}\r\n"
        f"Message-ID: {original_message_id}\r\n"
        f"Subject: [ALPHA-1001] Re\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode()


def process_as_one_batch(tenant_id: int, raws: list[bytes]) -> list[InboundRecord]:
    """Mails stored for the tenant, then processed by one job, as a worker does under a backlog
    (inside the tenant's scope)."""
    records = [
        intake.receive(
            tenant_id,
            intake.InboundContact(channel=Channel.EMAIL, external_id=f"batch-{n}", subject="", body=""),
            raw=raw,
        )
        for n, raw in enumerate(raws)
    ]
    intake.process_batch(tenant_id, records[0].id)
    return records
