"""Raw RFC 822 bytes to what the desk needs of them, surviving the mail that real clients send.

The standard library's parser with the modern policy does the work; every access that can
raise on broken input (headers that are not what they claim, unknown or wrong charsets,
truncated base64) falls back to a lenient reading instead, and what was wrong is listed in
`defects`. Only input that is not a mail at all raises `Unparseable`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import EmailPolicy
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from email_validator import EmailNotValidError, validate_email

from channels.mail_text import html_to_text, sanitize_html, trim_reply

MESSAGE_ID_RE = re.compile(r"<[^<>\s]{1,250}>")
# `[ACME-1042]` anywhere in the subject; the prefix is checked against the tenant's own.
TICKET_REF_RE = re.compile(r"\[([A-Z][A-Z0-9]{0,11})-(\d{1,9})\]")
# RFC 2047 encoded words, also the sloppy ones clients write (glued to text, language suffix).
_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?\s]*)\?=")
# Control characters no column should hold (PostgreSQL refuses NUL in text outright).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MAX_DEPTH = 200  # nested multiparts deeper than this are kept as one attachment, not walked


class _ParsingPolicy(EmailPolicy):
    """The modern policy (`email.policy.default`), with each header value parsed once.

    The standard library parses a header again on every read, and reading a part's type,
    charset, boundary, disposition, filename and transfer encoding reads Content-Type and
    Content-Disposition over and over: most of the time of parsing a mail went there. Header
    objects are immutable, so a parsed value is shared, by name and exact value."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        if hasattr(value, "name"):
            return value
        return _parsed_header(self, name, value)


@functools.lru_cache(maxsize=2048)
def _parsed_header(parsing: EmailPolicy, name: str, value: str) -> str:
    return EmailPolicy.header_fetch_parse(parsing, name, value)  # type: ignore[no-any-return]


POLICY = _ParsingPolicy()


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
    try:
        message = message_from_bytes(raw, policy=POLICY)
    except RecursionError:  # the standard library's parser recurses per nested multipart
        raise Unparseable("nested too deeply") from None
    defects = [type(d).__name__ for d in message.defects]
    body = _Body()
    _collect(message, body, defects, top=True)
    text = _clean_text(body.text())
    html = sanitize_html(_clean_text(body.html)) if body.html else None
    headers = {}
    for name in _CLASSIFYING:
        values = _header_all(message, name, defects)
        if values:
            headers[name] = "\n".join(values)
    from_name, from_address = _address(_header(message, "from", defects))
    reply_name, reply_address = _address(_header(message, "reply-to", defects))
    subject = " ".join(_header(message, "subject", defects).split())[:300]
    if body.bounce is None and _looks_like_bounce(from_address, subject):
        body.bounce = _loose_bounce(text, body.attachments)
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
        subject=subject,
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
    """Every value of a header, decoded; never raises, never returns control characters.

    Raw 8-bit bytes in a header (no encoded words, as many clients send names and subjects)
    are read as UTF-8, else Windows-1252, before the policy's header classes see them: those
    would turn each such byte into U+FFFD."""
    values = []
    for key, raw_value in message._headers:  # type: ignore[attr-defined]
        if key.lower() != name:
            continue
        source = _unescape_bytes(re.sub(r"[\r\n]", "", str(raw_value)))
        try:
            value = str(message.policy.header_factory(key, source))  # type: ignore[union-attr]
        except Exception as exc:  # the modern policy's header classes raise on some broken values
            defects.append(f"header {name}: {type(exc).__name__}")
            value = _decode_words(source)
        if ("\ufffd" in value and "\ufffd" not in source) or _ENCODED_WORD_RE.search(value):
            # An encoded word in an unknown or wrong charset, or one the policy left undecoded.
            value = _decode_words(source)
        values.append(_CONTROL_RE.sub("", value.replace("\t", " ")))
    return values


def _decode_words(value: str) -> str:
    """Encoded words (=?utf-8?q?...?=) by hand, for headers the policy could not read: adjacent
    words in one charset are joined before decoding (clients split UTF-8 sequences between
    them), a word that does not decode stays as it was written."""
    value = _unescape_bytes(value)
    out: list[str] = []
    pending: list[bytes] = []
    pending_charset = ""
    position = 0
    after_word = False  # the last thing read was a decoded word

    def flush() -> None:
        if pending:
            out.append(_decode_bytes(b"".join(pending), pending_charset))
            pending.clear()

    for match in _ENCODED_WORD_RE.finditer(value):
        between = value[position : match.start()]
        charset = match.group(1).split("*", 1)[0].lower()
        data = _word_bytes(match.group(2), match.group(3))
        if data is None:
            flush()
            out.append(between + match.group(0))
            after_word = False
        else:
            # Whitespace between two encoded words is not part of the text (RFC 2047 6.2).
            if not after_word or between.strip():
                flush()
                out.append(between)
            elif charset != pending_charset:
                flush()
            pending.append(data)
            pending_charset = charset
            after_word = True
        position = match.end()
    flush()
    out.append(value[position:])
    return "".join(out)


def _word_bytes(encoding: str, text: str) -> bytes | None:
    if encoding in "qQ":
        data = text.replace("_", " ").encode("ascii", "replace")
        return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), data)
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _unescape_bytes(value: str) -> str:
    """The parser keeps undecodable header bytes as surrogate escapes: read them as text."""
    if not any("\udc80" <= char <= "\udcff" for char in value):
        return value
    return _decode_bytes(value.encode("utf-8", "surrogateescape"), "")


def _decode_bytes(data: bytes, declared: str) -> str:
    """Text in the declared charset if it is one and the bytes fit it, else UTF-8, else
    Windows-1252 (what mislabeled and unlabeled Western mail nearly always is)."""
    declared = (declared or "").strip().strip("\"'").lower()
    if declared in ("us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1"):
        # Windows-1252 is the superset clients really mean; ASCII is claimed for 8-bit text.
        declared = "cp1252" if declared.startswith(("iso", "latin")) else ""
    for charset in (declared, "utf-8", "cp1252"):
        if not charset:
            continue
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


def _clean_text(value: str) -> str:
    return _CONTROL_RE.sub("", value)


def _address(value: str) -> tuple[str, str | None]:
    """Display name and address; an address that cannot receive mail (`root@localhost`,
    `a..b@x`) is None, so it is never stored on a contact or answered."""
    name, address = parseaddr(value)
    name = name.strip()[:200]
    address = address.strip()
    if "@" not in address or len(address) > 254 or " " in address:
        return name, None
    try:
        return name, validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return name, None


def _first_id(value: str) -> str | None:
    found = MESSAGE_ID_RE.search(value)
    if found:
        return found.group(0)
    value = value.strip()
    return f"<{value[:250]}>" if value and " " not in value else None


def _date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    try:
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except OverflowError:  # "31 Dec 9999 23:00 -1200" is past the last representable instant
        return None


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


def _collect(part: Message, body: _Body, defects: list[str], *, top: bool = False, depth: int = 0) -> None:
    """Walk the tree ourselves: an attached mail (message/rfc822) is one attachment, not more
    body text, except the copy of our own message inside a bounce report."""
    try:
        content_type = part.get_content_type()
    except Exception as exc:
        defects.append(f"content-type: {type(exc).__name__}")
        content_type = "application/octet-stream"
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
        data = _message_bytes(part)
        body.attachments.append(MailPart(filename or _message_name(data), content_type, data))
        return
    if content_type.startswith("multipart/") and depth >= _MAX_DEPTH:
        defects.append("nested too deeply")
        body.attachments.append(
            MailPart(_fallback_name("", len(body.attachments) + 1), content_type, _source(part))
        )
        return
    if part.is_multipart():
        if content_type == "multipart/report":
            body.bounce = body.bounce or Bounce(recipients=[])
        if content_type == "multipart/alternative":
            _alternative(part, body, defects, depth)
            return
        for child in part.get_payload() or []:  # type: ignore[union-attr]
            if isinstance(child, Message):
                _collect(child, body, defects, depth=depth + 1)
        return
    if content_type.startswith("multipart/"):
        # No boundary parameter, or a boundary that never occurs: the parts are still in there.
        _unsplit_multipart(part, body, defects, depth)
        return
    try:
        _leaf(part, content_type, filename, body, defects)
    except Exception as exc:  # a header of this part the policy cannot read: keep its bytes
        defects.append(f"part: {type(exc).__name__}")
        body.attachments.append(
            MailPart(
                filename or _fallback_name(content_type, len(body.attachments) + 1),
                content_type,
                _bytes(part, defects),
            )
        )


def _leaf(part: Message, content_type: str, filename: str | None, body: _Body, defects: list[str]) -> None:
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
        content_id = _CONTROL_RE.sub("", str(part.get("content-id", "") or "")).strip().strip("<>") or None
        body.attachments.append(
            MailPart(
                filename=filename or _fallback_name(content_type, len(body.attachments) + 1),
                content_type=content_type,
                data=data,
                content_id=content_id,
                inline=disposition == "inline" or (content_id is not None and disposition != "attachment"),
            )
        )


def _unsplit_multipart(part: Message, body: _Body, defects: list[str], depth: int) -> None:
    """A multipart the parser could not split: the boundary is guessed from its first `--...`
    line and the body parsed again; without one, the body is read as plain text."""
    payload = part.get_payload()
    text = payload if isinstance(payload, str) else ""
    if not text.strip():
        return  # an empty multipart: nothing was lost
    guessed = re.search(r"^--([0-9A-Za-z'()+_,./:=?-]{1,70})[ \t]*\r?$", text, re.MULTILINE)
    if guessed:
        boundary = guessed.group(1).removesuffix("--")
        head = f'Content-Type: {part.get_content_type()}; boundary="{boundary}"\r\n\r\n'
        try:
            again = message_from_bytes(head.encode() + text.encode("utf-8", "surrogateescape"), policy=POLICY)
        except Exception as exc:
            defects.append(f"multipart: {type(exc).__name__}")
        else:
            if again.is_multipart():
                defects.append("boundary guessed")
                _collect(again, body, defects, depth=depth + 1)
                return
    body.plain.append(_decode_bytes(text.encode("utf-8", "surrogateescape"), ""))


def _alternative(part: Message, body: _Body, defects: list[str], depth: int) -> None:
    """Of the alternatives, the plain text for text and the HTML for display; anything else
    (an invitation's text/calendar) is kept as an attachment."""
    plain: str | None = None
    for child in part.get_payload() or []:  # type: ignore[union-attr]
        if not isinstance(child, Message):
            continue
        kind = child.get_content_type()
        if kind == "text/plain" and plain is None:
            plain = _text(child, defects)
        elif kind == "text/html" and body.html is None:
            body.html = _text(child, defects)
        elif kind in ("text/plain", "text/html"):
            continue  # a second rendering of the same text
        elif kind.startswith("multipart/"):  # multipart/related with the HTML and its inline images
            inner = _Body()
            _collect(child, inner, defects, depth=depth + 1)
            if body.html is None:
                body.html = inner.html
            if plain is None and inner.plain:
                plain = "\n\n".join(inner.plain)
            body.attachments += inner.attachments
        else:
            _collect(child, body, defects, depth=depth + 1)
    if plain is not None:
        body.plain.append(plain)


def _text(part: Message, defects: list[str]) -> str:
    """The part's text, decoded by us: the policy's `get_content` replaces every byte that does
    not fit the declared (or missing) charset with U+FFFD, where Windows-1252 reads it right."""
    data = _bytes(part, defects)
    try:
        declared = part.get_content_charset() or ""
    except Exception as exc:
        defects.append(f"charset: {type(exc).__name__}")
        declared = ""
    text = _decode_bytes(data, declared)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _bytes(part: Message, defects: list[str]) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:
        defects.append(f"payload: {type(exc).__name__}")
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _source(part: Message) -> bytes:
    try:
        return part.as_bytes(policy=policy.compat32)
    except Exception:
        return b""


def _filename(part: Message, defects: list[str]) -> str | None:
    try:
        name = part.get_filename()
    except Exception as exc:
        defects.append(f"filename: {type(exc).__name__}")
        name = None
    if not name:
        return None
    return _decode_words(str(name)).replace("\x00", "").strip()[:200] or None


_EXTENSIONS = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "text/calendar": "ics",
    "text/plain": "txt",
    "text/html": "html",
}


def _fallback_name(content_type: str, index: int) -> str:
    if content_type == "application/ms-tnef":
        return "winmail.dat"
    if content_type == "text/calendar":
        return "invite.ics"
    return f"part-{index}.{_EXTENSIONS.get(content_type, 'bin')}"


def _message_name(data: bytes) -> str:
    """An attached mail is named by its subject, as mail clients show it."""
    try:
        headers = BytesHeaderParser(policy=POLICY).parsebytes(data[:65536], headersonly=True)
        subject = _header_all(headers, "subject", [])
    except Exception:
        subject = []
    name = " ".join(re.sub(r'[\\/:*?"<>|]+', " ", subject[0] if subject else "").split())[:120]
    return f"{name or 'message'}.eml"


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
                bounce.diagnostic = " ".join(value.split(";", 1)[-1].split())[:500]


_BOUNCE_SUBJECT_RE = re.compile(
    r"deliver|undeliver|failure|returned|non remis|unzustellbar|non recapitabile", re.I
)
_QMAIL_RECIPIENT_RE = re.compile(r"^<([^<>\s@]+@[^<>\s@]+)>:\s*$", re.MULTILINE)
_STATUS_RE = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")


def _looks_like_bounce(from_address: str | None, subject: str) -> bool:
    """A mailer daemon's notice in its own format (qmail, old Exchange): not RFC 3464."""
    local = (from_address or "").split("@", 1)[0]
    return local in ("mailer-daemon", "postmaster") and bool(_BOUNCE_SUBJECT_RE.search(subject))


def _loose_bounce(text: str, attachments: list[MailPart]) -> Bounce:
    """What can be read from a free-form bounce: the `<address>:` lines qmail writes, the
    first status code and the line it is on, and the Message-ID of the copy of our message."""
    notice, _sep, copy = text.partition("\n--- Below this line is a copy of the message.")
    bounce = Bounce(recipients=list(dict.fromkeys(a.lower() for a in _QMAIL_RECIPIENT_RE.findall(notice))))
    status = _STATUS_RE.search(notice)
    if status:
        bounce.status = status.group(1)
        line_start = notice.rfind("\n", 0, status.start()) + 1
        line_end = notice.find("\n", status.end())
        bounce.diagnostic = notice[line_start : line_end if line_end >= 0 else None].strip()[:500]
    copies = [copy or notice] + [
        part.data.decode("utf-8", "replace")
        for part in attachments
        if part.content_type in ("message/rfc822", "text/rfc822-headers")
    ]
    for original in copies:
        found = re.search(r"^Message-ID:\s*(<[^<>\s]{1,250}>)", original, re.IGNORECASE | re.MULTILINE)
        if found and found.group(1) not in bounce.original_message_ids:
            bounce.original_message_ids.append(found.group(1))
    return bounce


def _original_ids(part: Message) -> list[str]:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        value = str(payload[0].get("message-id", ""))
    else:
        text = payload if isinstance(payload, str) else ""
        found = re.search(r"^Message-ID:\s*(.+)$", text, re.IGNORECASE | re.MULTILINE)
        value = found.group(1) if found else ""
    return MESSAGE_ID_RE.findall(value)
