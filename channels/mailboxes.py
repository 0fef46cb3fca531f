"""Mailboxes a client keeps at its own mail provider, which the desk polls over IMAP.

The password is stored encrypted (`core.secretbox`) and only ever decrypted by the poller;
nothing here returns it. Changing where a mailbox points (host, user, folder) starts its
reading position over: the intake's Message-ID idempotency keeps mail already taken in from
becoming a second ticket.
"""

from __future__ import annotations

import ipaddress
import re

from flask_babel import gettext as _
from sqlalchemy import select

from channels.models import Mailbox
from core import audit, secretbox
from core.errors import NotFound, ValidationFailed
from core.extensions import db

_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
HOSTNAME_RE = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
MAX_PASSWORD = 1000


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _clean(
    tenant_id: int,
    host: str,
    port: int | str,
    use_ssl: bool,
    username: str,
    folder: str,
    exclude: int | None = None,
) -> dict[str, object]:
    errors: dict[str, str] = {}
    host = (host or "").strip().lower().rstrip(".")
    if not (HOSTNAME_RE.match(host) or _is_ip(host)):
        errors["host"] = _("Give the mail server's host name, such as imap.example.com.")
    try:
        port = int(port)
    except (TypeError, ValueError):
        port = 0
    if not 1 <= port <= 65535:
        errors["port"] = _("Give a port between 1 and 65535 (IMAP over SSL is usually 993).")
    use_ssl = bool(use_ssl)
    if not use_ssl and "host" not in errors and not _is_loopback(host):
        # The password would cross the network in clear text.
        errors["use_ssl"] = _("Mail servers other than this machine must be reached over SSL.")
    username = (username or "").strip()
    if not 1 <= len(username) <= 254 or any(ord(c) < 32 for c in username):
        errors["username"] = _("Give the user name of the mailbox, at most 254 characters.")
    folder = (folder or "").strip() or "INBOX"
    if len(folder) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in folder):
        errors["folder"] = _("Give a folder name of at most 200 characters.")
    if not errors:
        clash = db.session.scalar(
            select(Mailbox.id).where(
                Mailbox.tenant_id == tenant_id,
                Mailbox.host == host,
                Mailbox.username == username,
                Mailbox.folder == folder,
            )
        )
        if clash is not None and clash != exclude:
            errors["username"] = _("This mailbox is set up already.")
    if errors:
        raise ValidationFailed(fields=errors)
    return {"host": host, "port": port, "use_ssl": use_ssl, "username": username, "folder": folder}


def _check_password(password: str) -> str:
    if len(password) > MAX_PASSWORD or any(c in password for c in "\r\n\0"):
        raise ValidationFailed(fields={"password": _("This password cannot be used for IMAP.")})
    return password


def create(
    tenant_id: int,
    host: str,
    port: int | str,
    use_ssl: bool,
    username: str,
    password: str,
    folder: str = "INBOX",
) -> Mailbox:
    fields = _clean(tenant_id, host, port, use_ssl, username, folder)
    if not password:
        raise ValidationFailed(fields={"password": _("Give the mailbox's password.")})
    mailbox = Mailbox(
        tenant_id=tenant_id,
        password_encrypted=secretbox.encrypt(_check_password(password)),
        enabled=True,
        last_uid=0,
        **fields,
    )
    db.session.add(mailbox)
    db.session.flush()
    audit.record("mailbox.created", tenant_id=tenant_id, target=mailbox, data=_audit_data(mailbox))
    return mailbox


def update(
    mailbox_id: int,
    *,
    host: str | None = None,
    port: int | str | None = None,
    use_ssl: bool | None = None,
    username: str | None = None,
    password: str | None = None,
    folder: str | None = None,
    enabled: bool | None = None,
) -> Mailbox:
    """Change what is given; an empty or missing password keeps the stored one (forms never
    show it, so they send nothing unless it is being changed)."""
    mailbox = get(mailbox_id)
    fields = _clean(
        mailbox.tenant_id,
        mailbox.host if host is None else host,
        mailbox.port if port is None else port,
        mailbox.use_ssl if use_ssl is None else use_ssl,
        mailbox.username if username is None else username,
        mailbox.folder if folder is None else folder,
        exclude=mailbox.id,
    )
    secret = _check_password(password) if password else None
    moved = any(fields[key] != getattr(mailbox, key) for key in ("host", "username", "folder"))
    for key, value in fields.items():
        setattr(mailbox, key, value)
    if secret is not None:
        mailbox.password_encrypted = secretbox.encrypt(secret)
    if moved:
        mailbox.uidvalidity = None
        mailbox.last_uid = 0
    if enabled is not None:
        mailbox.enabled = bool(enabled)
    if moved or secret is not None or enabled:
        mailbox.last_error = None  # the next poll says whether the new settings work
    db.session.flush()
    data = {**_audit_data(mailbox), "password_changed": secret is not None}
    audit.record("mailbox.updated", tenant_id=mailbox.tenant_id, target=mailbox, data=data)
    return mailbox


def delete(mailbox_id: int) -> None:
    """Stop polling it; the mail already taken in stays on its tickets."""
    mailbox = get(mailbox_id)
    audit.record("mailbox.deleted", tenant_id=mailbox.tenant_id, target=mailbox, data=_audit_data(mailbox))
    db.session.delete(mailbox)
    db.session.flush()


def get(mailbox_id: int, tenant_id: int | None = None) -> Mailbox:
    """A mailbox in the current tenancy scope (and of `tenant_id`, when the URL names one)."""
    # A query, not `session.get`: an object already in the identity map would skip the scope.
    query = select(Mailbox).where(Mailbox.id == mailbox_id)
    if tenant_id is not None:
        query = query.where(Mailbox.tenant_id == tenant_id)
    mailbox = db.session.scalar(query)
    if mailbox is None:
        raise NotFound(_("Not found."))
    return mailbox


def listing(tenant_id: int | None = None) -> list[Mailbox]:
    query = select(Mailbox).order_by(Mailbox.tenant_id, Mailbox.host, Mailbox.username, Mailbox.folder)
    if tenant_id is not None:
        query = query.where(Mailbox.tenant_id == tenant_id)
    return list(db.session.scalars(query))


def password_of(mailbox: Mailbox) -> str:
    """The stored password in clear, for the poller's LOGIN only; raises secretbox.InvalidToken
    when the key it was encrypted with is gone."""
    return secretbox.decrypt(mailbox.password_encrypted)


def _audit_data(mailbox: Mailbox) -> dict[str, object]:
    return {
        "host": mailbox.host,
        "port": mailbox.port,
        "username": mailbox.username,
        "folder": mailbox.folder,
        "enabled": mailbox.enabled,
    }
