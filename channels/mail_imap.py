"""IMAP polling of the mailboxes clients keep at their own providers.

A poll reads the messages whose UID is above the mailbox's `last_uid`, stores each one for the
mailbox's tenant through the same path as the SMTP listener (`mail_inbound.receive_for_tenant`)
and advances `last_uid` in the same commit, so a crash between two messages loses nothing and
duplicates nothing. Bodies are fetched with BODY.PEEK[] and flagged \\Seen only once stored.
When the server's UIDVALIDITY changes, UIDs mean something else: the poll starts over at 0 and
the intake's Message-ID idempotency keeps mail already taken in from becoming a second ticket.

Failures (authentication, network, a password the current key cannot decrypt) are written to
`last_error` and never raised: the sweep enqueues every enabled mailbox every minute, and one
broken mailbox must not hold up the others.
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import logging
import re
import ssl
from collections.abc import Iterator
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select

from channels import mail_inbound, mailboxes
from channels.models import Mailbox
from core import jobs, scheduler, secretbox
from core.errors import NotFound
from core.extensions import db
from core.jobs import job
from core.models_base import utcnow

log = logging.getLogger(__name__)
POLL_EVERY = timedelta(seconds=60)
SOURCE = "imap"
_FETCH_UID_RE = re.compile(rb"\bUID (\d+)")
_FETCH_SIZE_RE = re.compile(rb"\bRFC822\.SIZE (\d+)")


class PollError(Exception):
    """The server answered something the poll cannot go on from."""


def poll(mailbox_id: int) -> int:
    """Take in a mailbox's new messages; returns how many were handed to the intake (after a
    UIDVALIDITY change that includes mail it knew already and kept once). Commits per message.

    Runs in the caller's tenancy scope (the job and the CLI use the mailbox's tenant)."""
    try:
        mailbox = mailboxes.get(mailbox_id)
    except NotFound:
        return 0  # deleted since the poll was enqueued
    if not mailbox.enabled:
        return 0  # the mail waits on the server until the mailbox is enabled again
    stored = 0
    notes: list[str] = []
    try:
        with _session(mailbox) as conn:
            stored = _take_in(conn, mailbox, notes)
    except Exception as exc:  # recorded for the client admin, never raised out of the sweep
        db.session.rollback()
        if not isinstance(exc, imaplib.IMAP4.error | OSError | secretbox.InvalidToken | PollError):
            log.exception("polling mailbox %s failed", mailbox_id)
        mailbox = mailboxes.get(mailbox_id)
        mailbox.last_error = _describe(exc)
    else:
        mailbox.last_error = "\n".join(notes)[:2000] or None
    mailbox.last_polled_at = utcnow()
    jobs.commit()
    return stored


@contextlib.contextmanager
def _session(mailbox: Mailbox) -> Iterator[imaplib.IMAP4]:
    timeout = float(current_app.config["IMAP_TIMEOUT"])
    conn: imaplib.IMAP4
    if mailbox.use_ssl:
        context = ssl.create_default_context()
        conn = imaplib.IMAP4_SSL(mailbox.host, mailbox.port, ssl_context=context, timeout=timeout)
    else:  # loopback only (the mailbox service refuses plain IMAP to other hosts)
        conn = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=timeout)
    try:
        password = mailboxes.password_of(mailbox)
        if password.isascii() and mailbox.username.isascii():
            conn.login(mailbox.username, password)
        else:  # LOGIN is ASCII-only in imaplib; SASL PLAIN carries UTF-8
            plain = f"\0{mailbox.username}\0{password}".encode()
            conn.authenticate("PLAIN", lambda _challenge: plain)
        typ, data = conn.select(_quote(_utf7(mailbox.folder)))
        if typ != "OK":
            raise PollError(f"SELECT {mailbox.folder}: {_text(data)}")
        yield conn
    finally:
        with contextlib.suppress(Exception):
            conn.logout()


def _take_in(conn: imaplib.IMAP4, mailbox: Mailbox, notes: list[str]) -> int:
    _typ, values = conn.response("UIDVALIDITY")
    if not values or values[0] is None:
        raise PollError("the server sent no UIDVALIDITY")
    uidvalidity = int(values[-1])
    if mailbox.uidvalidity != uidvalidity:
        if mailbox.uidvalidity is not None:
            log.warning("mailbox %s: UIDVALIDITY changed, reading it again from the start", mailbox.id)
        mailbox.uidvalidity = uidvalidity
        mailbox.last_uid = 0
        jobs.commit()
    typ, data = conn.uid("SEARCH", f"UID {mailbox.last_uid + 1}:*")
    if typ != "OK":
        raise PollError(f"UID SEARCH: {_text(data)}")
    # `n:*` always matches the highest UID, even below n: keep only what is new.
    uids = sorted(
        u for u in {int(x) for x in b" ".join(d or b"" for d in data).split()} if u > mailbox.last_uid
    )
    batch = max(1, int(current_app.config["IMAP_BATCH"]))
    limit = int(current_app.config["MAIL_MAX_BYTES"])
    stored = 0
    for start in range(0, len(uids), batch):
        chunk = uids[start : start + batch]
        sizes = _fetch_sizes(conn, chunk)
        wanted = [uid for uid in chunk if sizes.get(uid, 0) <= limit]
        for uid in chunk:
            if sizes.get(uid, 0) > limit:
                # Left unread in the mailbox for the client to see; never taken in.
                notes.append(
                    f"UID {uid}: {sizes[uid]} bytes, more than the {limit} accepted; left on the server"
                )
        bodies = _fetch_bodies(conn, wanted) if wanted else {}
        for uid in chunk:
            raw = bodies.get(uid)
            mailbox.last_uid = uid  # committed together with the stored message
            if raw is None:
                jobs.commit()
                continue
            mail_inbound.receive_for_tenant(mailbox.tenant_id, raw, source=SOURCE)  # commits
            stored += 1
        if wanted:
            typ, data = conn.uid("STORE", _uid_set(wanted), "+FLAGS.SILENT", r"(\Seen)")
            if typ != "OK":
                raise PollError(f"UID STORE: {_text(data)}")
    return stored


def _fetch_sizes(conn: imaplib.IMAP4, uids: list[int]) -> dict[int, int]:
    typ, data = conn.uid("FETCH", _uid_set(uids), "(UID RFC822.SIZE)")
    if typ != "OK":
        raise PollError(f"UID FETCH: {_text(data)}")
    sizes = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        uid, size = _FETCH_UID_RE.search(line or b""), _FETCH_SIZE_RE.search(line or b"")
        if uid and size:
            sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def _fetch_bodies(conn: imaplib.IMAP4, uids: list[int]) -> dict[int, bytes]:
    typ, data = conn.uid("FETCH", _uid_set(uids), "(UID BODY.PEEK[])")
    if typ != "OK":
        raise PollError(f"UID FETCH: {_text(data)}")
    bodies = {}
    for item in data:
        # A literal arrives as (b'7 (UID 12 BODY[] {1234}', b'<message>'); flag updates the
        # server adds on its own are plain bytes and ignored.
        if isinstance(item, tuple) and (uid := _FETCH_UID_RE.search(item[0])):
            bodies[int(uid.group(1))] = item[1]
    return bodies


def _uid_set(uids: list[int]) -> str:
    return ",".join(str(uid) for uid in uids)


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _utf7(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 5.1.3): "Eingänge" -> "Eing&AOQ-nge"."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode()
            out.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def _text(data: object) -> str:
    if isinstance(data, list | tuple):
        return " ".join(_text(d) for d in data)
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return str(data)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, secretbox.InvalidToken):
        text = "the stored password cannot be decrypted (the encryption key changed); enter it again"
    elif isinstance(exc, TimeoutError):
        text = "the mail server did not answer in time"
    else:
        text = _text(exc.args[0] if len(exc.args) == 1 else exc.args) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:2000]


# --- jobs -------------------------------------------------------------------------------------


@job("mail", retries=0)  # the sweep comes back in a minute
def poll_mailbox(tenant_id: int, mailbox_id: int) -> int:
    return poll(mailbox_id)


def due(now: datetime | None = None) -> list[tuple[int, int]]:
    """(tenant id, mailbox id) of every enabled mailbox that was not polled within the last
    interval (a suspended tenant's too: its mail is still taken in). Needs the system scope."""
    now = now or utcnow()
    rows = db.session.execute(
        select(Mailbox.tenant_id, Mailbox.id)
        .where(
            Mailbox.enabled.is_(True),
            or_(Mailbox.last_polled_at.is_(None), Mailbox.last_polled_at <= now - POLL_EVERY / 2),
        )
        .order_by(Mailbox.id)
    )
    return [(tenant_id, mailbox_id) for tenant_id, mailbox_id in rows]


@scheduler.periodic("channels.imap_poll", every=POLL_EVERY, queue="mail")
def poll_sweep(tenant_id: None) -> int:
    """Enqueue a poll of every mailbox that is due; each runs in its own tenant's scope."""
    mailboxes_due = due()
    for owner, mailbox_id in mailboxes_due:
        poll_mailbox.enqueue(owner, mailbox_id)
    return len(mailboxes_due)
