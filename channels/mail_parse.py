"""Raw RFC 822 bytes to what the desk needs of them, surviving the mail that real clients send.

The standard library's parser with the modern policy does the work; every access that can
raise on broken input (headers that are not what they claim, unknown or wrong charsets,
truncated base64) falls back to a lenient reading instead, and what was wrong is listed in
`defects`. Only input that is not a mail at all raises `Unparseable`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from channels.mail_text import html_to_text, sanitize_html, trim_reply

MESSAGE_ID_RE = re.compile(r"<[^<>\s]{1,250}>")
# `[ACME-1042]` anywhere in the subject; the prefix is checked against the tenant's own.
TICKET_REF_RE = re.compile(r"\[([A-Z][A-Z0-9]{0,11})-(\d{1,9})\]")


class Unparseable(ValueError):
    """Not a mail at all (no headers, binary garbage); the raw bytes are kept regardless."""


@dataclass
class MailPart:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None
    inline: bool = False


@dataclass
class Bounce:
    """A delivery status notification: whom it concerns and which of our messages bounced."""

    recipients: list[str]
    status: str = ""
    diagnostic: str = ""
    original_message_ids: list[str] = field(default_factory=list)


@dataclass
class ParsedMail:
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    from_name: str
    from_address: str | None
    reply_to: str | None
    recipients: list[str]
    subject: str
    date: datetime | None
    text: str  # the whole text (HTML-only mail converted)
    visible: str  # the new part of it: quoted history and signature trimmed
    html: str | None  # sanitized, inline images as cid: references
    attachments: list[MailPart]
    headers: dict[str, str]  # the few that classify a message, lower-cased names
    bounce: Bounce | None = None
    defects: list[str] = field(default_factory=list)

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this one answers, nearest first (In-Reply-To, then References newest first)."""
        seen: dict[str, None] = {}
        for value in [*self.in_reply_to, *reversed(self.references)]:
            seen.setdefault(value, None)
        return list(seen)


_CLASSIFYING = (
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "precedence",
    "x-auto-response-suppress",
    "x-loop",
    "return-path",
    "list-id",
    "list-unsubscribe",
    "x-failed-recipients",
    "x-firstline-loop",
)


def parse(raw: bytes) -> ParsedMail:
    if not raw or not raw.strip():
        raise Unparseable("empty message")
    head = raw[:8192].lstrip()
    if not re.match(rb"^[!-9;-~]+:", head) and not head.startswith(b"From "):
        raise Unparseable("no header block")
    message = message_from_bytes(raw, policy=policy.default)
    defects = [type(d).__name__ for d in message.defects]
    body = _Body()
    _collect(message, body, defects, top=True)
    text = body.text()
    html = sanitize_html(body.html) if body.html else None
    headers = {}
    for name in _CLASSIFYING:
        values = _header_all(message, name, defects)
        if values:
            headers[name] = "\n".join(values)
    from_name, from_address = _address(_header(message, "from", defects))
    reply_name, reply_address = _address(_header(message, "reply-to", defects))
    recipients: list[str] = []
    for name in ("to", "cc", "delivered-to", "x-original-to", "envelope-to"):
        for value in _header_all(message, name, defects):
            recipients += [addr.lower() for _n, addr in getaddresses([value]) if "@" in addr]
    return ParsedMail(
        message_id=_first_id(_header(message, "message-id", defects)),
        in_reply_to=MESSAGE_ID_RE.findall(_header(message, "in-reply-to", defects)),
        references=MESSAGE_ID_RE.findall(_header(message, "references", defects))[-50:],
        from_name=from_name,
        from_address=from_address,
        reply_to=reply_address,
        recipients=list(dict.fromkeys(recipients)),
        subject=" ".join(_header(message, "subject", defects).split())[:300],
        date=_date(_header(message, "date", defects)),
        text=text,
        visible=trim_reply(text) if text else "",
        html=html,
        attachments=body.attachments,
        headers=headers,
        bounce=body.bounce,
        defects=defects,
    )


# --- headers --------------------------------------------------------------------------------


def _header(message: Message, name: str, defects: list[str]) -> str:
    values = _header_all(message, name, defects)
    return values[0] if values else ""


def _header_all(message: Message, name: str, defects: list[str]) -> list[str]:
    try:
        return [str(value) for value in (message.get_all(name) or [])]
    except Exception as exc:  # the modern policy's header classes raise on some broken values
        defects.append(f"header {name}: {type(exc).__name__}")
    values = []
    for key, raw_value in message._headers:  # type: ignore[attr-defined]
        if key.lower() == name:
            values.append(_decode_words(str(raw_value)))
    return values


def _decode_words(value: str) -> str:
    """Encoded words (=?utf-8?q?...?=) by hand, for headers the policy could not read."""
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value


def _address(value: str) -> tuple[str, str | None]:
    name, address = parseaddr(value)
    address = address.strip().lower()
    if "@" not in address or len(address) > 254 or " " in address:
        return name.strip()[:200], None
    return name.strip()[:200], address


def _first_id(value: str) -> str | None:
    found = MESSAGE_ID_RE.search(value)
    if found:
        return found.group(0)
    value = value.strip()
    return f"<{value[:250]}>" if value and " " not in value else None


def _date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- bodies ---------------------------------------------------------------------------------


@dataclass
class _Body:
    plain: list[str] = field(default_factory=list)
    html: str | None = None
    attachments: list[MailPart] = field(default_factory=list)
    bounce: Bounce | None = None

    def text(self) -> str:
        plain = "\n\n".join(part.strip() for part in self.plain if part.strip())
        # An empty text alternative next to the HTML is common (and useless): read the HTML.
        return plain or (html_to_text(self.html) if self.html else "")


def _collect(part: Message, body: _Body, defects: list[str], *, top: bool = False) -> None:
    """Walk the tree ourselves: an attached mail (message/rfc822) is one attachment, not more
    body text, except the copy of our own message inside a bounce report."""
    content_type = part.get_content_type()
    filename = _filename(part, defects)
    # These three hold parsed messages or header blocks (so `is_multipart()` is true for them):
    # decide on them before descending.
    if content_type == "message/delivery-status":
        _delivery_status(part, body)
        return
    if content_type in ("message/rfc822", "text/rfc822-headers") and body.bounce is not None:
        body.bounce.original_message_ids += _original_ids(part)
        return
    if content_type == "message/rfc822":
        body.attachments.append(MailPart(filename or "message.eml", content_type, _message_bytes(part)))
        return
    if part.is_multipart():
        if content_type == "multipart/report":
            body.bounce = body.bounce or Bounce(recipients=[])
        if content_type == "multipart/alternative":
            _alternative(part, body, defects)
            return
        for child in part.get_payload() or []:  # type: ignore[union-attr]
            if isinstance(child, Message):
                _collect(child, body, defects)
        return
    disposition = (part.get_content_disposition() or "").lower()
    is_attachment = disposition == "attachment" or (
        filename and content_type not in ("text/plain", "text/html")
    )
    if content_type == "text/plain" and not is_attachment:
        body.plain.append(_text(part, defects))
    elif content_type == "text/html" and not is_attachment:
        html = _text(part, defects)
        body.html = html if body.html is None else body.html + html
    else:
        data = _bytes(part, defects)
        content_id = (str(part.get("content-id", "")) or "").strip().strip("<>") or None
        body.attachments.append(
            MailPart(
                filename=filename or _fallback_name(content_type, len(body.attachments) + 1),
                content_type=content_type,
                data=data,
                content_id=content_id,
                inline=disposition == "inline" or (content_id is not None and disposition != "attachment"),
            )
        )


def _alternative(part: Message, body: _Body, defects: list[str]) -> None:
    """Of the alternatives, the plain text for text and the HTML for display."""
    plain: str | None = None
    for child in part.get_payload() or []:  # type: ignore[union-attr]
        if not isinstance(child, Message):
            continue
        kind = child.get_content_type()
        if kind == "text/plain" and plain is None:
            plain = _text(child, defects)
        elif kind == "text/html" and body.html is None:
            body.html = _text(child, defects)
        elif child.is_multipart():  # multipart/related with the HTML and its inline images
            inner = _Body()
            _collect(child, inner, defects)
            if body.html is None:
                body.html = inner.html
            if plain is None and inner.plain:
                plain = "\n\n".join(inner.plain)
            body.attachments += inner.attachments
    if plain is not None:
        body.plain.append(plain)


def _text(part: Message, defects: list[str]) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
    except Exception as exc:  # unknown charset, broken transfer encoding
        defects.append(f"text: {type(exc).__name__}")
    data = _bytes(part, defects)
    declared = part.get_content_charset() or ""
    for charset in (declared, "utf-8", "cp1252"):
        if not charset:
            continue
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1", errors="replace")


def _bytes(part: Message, defects: list[str]) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:
        defects.append(f"payload: {type(exc).__name__}")
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", errors="replace") if isinstance(raw, str) else b""


def _filename(part: Message, defects: list[str]) -> str | None:
    try:
        name = part.get_filename()
    except Exception as exc:
        defects.append(f"filename: {type(exc).__name__}")
        name = None
    if not name:
        return None
    return _decode_words(str(name)).replace("\x00", "").strip()[:200] or None


_EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif"}


def _fallback_name(content_type: str, index: int) -> str:
    if content_type == "application/ms-tnef":
        return "winmail.dat"
    return f"part-{index}.{_EXTENSIONS.get(content_type, 'bin')}"


def _message_bytes(part: Message) -> bytes:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if isinstance(inner, Message):
        try:
            return inner.as_bytes(policy=policy.default.clone(linesep="\r\n"))
        except Exception:
            return inner.as_bytes(policy=policy.compat32)
    return payload.encode("utf-8", errors="replace") if isinstance(payload, str) else b""


def _delivery_status(part: Message, body: _Body) -> None:
    """RFC 3464 fields: Final-Recipient, Status, Diagnostic-Code (per-recipient blocks)."""
    bounce = body.bounce or Bounce(recipients=[])
    body.bounce = bounce
    blocks = part.get_payload()
    texts: list[str] = []
    if isinstance(blocks, list):
        for block in blocks:
            if isinstance(block, Message):
                texts.append("\n".join(f"{k}: {v}" for k, v in block.items()))
    elif isinstance(blocks, str):
        texts.append(blocks)
    for text in texts:
        for line in text.splitlines():
            name, _sep, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name in ("final-recipient", "original-recipient") and ";" in value:
                address = value.split(";", 1)[1].strip().strip("<>").lower()
                if address and address not in bounce.recipients:
                    bounce.recipients.append(address)
            elif name == "status" and not bounce.status:
                bounce.status = value[:20]
            elif name == "diagnostic-code" and not bounce.diagnostic:
                bounce.diagnostic = value.split(";", 1)[-1].strip()[:500]


def _original_ids(part: Message) -> list[str]:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        value = str(payload[0].get("message-id", ""))
    else:
        text = payload if isinstance(payload, str) else ""
        found = re.search(r"^Message-ID:\s*(.+)$", text, re.IGNORECASE | re.MULTILINE)
        value = found.group(1) if found else ""
    return MESSAGE_ID_RE.findall(value)
