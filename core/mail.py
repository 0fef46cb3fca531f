"""Outgoing e-mail through the outbox: queued in the transaction, sent over SMTP by a job.

Without `SMTP_HOST` (the embedded demo) messages are written as .eml files under
`instance/outgoing-mail/`, so nothing leaves the machine and a developer can still read them.
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import current_app

from core import outbox
from core.outbox import OutboxMessage

LOOP_HEADER = "X-Loop"
LOOP_VALUE = "firstline"


def loop_token(tenant_id: int | None) -> str:
    """Proves a returning mail is ours: an HMAC of the tenant under the platform's secret."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"x-loop:{tenant_id}".encode(), hashlib.sha256).hexdigest()[:24]


def send_email(
    *,
    to: str | list[str],
    subject: str,
    text: str,
    html: str | None = None,
    tenant_id: int | None,
    sender: str | None = None,
    reply_to: str | None = None,
    headers: dict[str, str] | None = None,
    dedupe_key: str | None = None,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    attachments: list[dict[str, str]] | None = None,
) -> OutboxMessage:
    """Queue a message; it is sent after the current transaction commits.

    `in_reply_to`/`references` make the customer's client thread it; `attachments` are
    `{"filename", "content_type", "path"}` with the path relative to the instance folder (the
    file is read when the mail is sent, so the outbox row stays small)."""
    recipients = [to] if isinstance(to, str) else list(to)
    domain = (sender or current_app.config["MAIL_FROM"]).rsplit("@", 1)[-1].strip("> ")
    payload: dict[str, Any] = {
        "to": recipients,
        "from": sender or current_app.config["MAIL_FROM"],
        "reply_to": reply_to,
        "subject": subject,
        "text": text,
        "html": html,
        "headers": headers or {},
        "message_id": make_msgid(domain=domain or None),
        "in_reply_to": in_reply_to,
        "references": (references or [])[-20:],
        "attachments": attachments or [],
    }
    return outbox.add("email", payload, tenant_id=tenant_id, dedupe_key=dedupe_key)


def build_message(payload: dict[str, Any], tenant_id: int | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = payload["from"]
    message["To"] = ", ".join(payload["to"])
    message["Subject"] = payload["subject"]
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = payload["message_id"]
    message[LOOP_HEADER] = f"{LOOP_VALUE} {loop_token(tenant_id)}"
    if payload.get("reply_to"):
        message["Reply-To"] = payload["reply_to"]
    if payload.get("in_reply_to"):
        message["In-Reply-To"] = payload["in_reply_to"]
    if payload.get("references"):
        message["References"] = " ".join(payload["references"])
    for name, value in payload["headers"].items():
        if name not in message:
            message[name] = value
    message.set_content(payload["text"])
    if payload.get("html"):
        message.add_alternative(payload["html"], subtype="html")
    instance = Path(current_app.config["INSTANCE_PATH"]).resolve()
    for item in payload.get("attachments") or []:
        path = (instance / item["path"]).resolve()
        if instance not in path.parents:
            raise ValueError(f"attachment outside the instance folder: {item['path']}")
        maintype, _sep, subtype = item["content_type"].partition("/")
        message.add_attachment(
            path.read_bytes(), maintype=maintype, subtype=subtype or "octet-stream", filename=item["filename"]
        )
    return message


@outbox.handler("email")
def _deliver_email(row: OutboxMessage) -> None:
    config = current_app.config
    message = build_message(row.payload, row.tenant_id)
    if not config["SMTP_HOST"]:
        drop = Path(config["MAIL_DROP_DIR"])
        drop.mkdir(parents=True, exist_ok=True)
        (drop / f"{row.id:08d}.eml").write_bytes(bytes(message))
        return
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=config["SMTP_TIMEOUT"]) as smtp:
        if config["SMTP_STARTTLS"]:
            smtp.starttls()
        if config["SMTP_USERNAME"]:
            smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"] or "")
        smtp.send_message(message)


def absolute_url(endpoint: str, **values: Any) -> str:
    """A link for an e-mail, on `BASE_URL`: jobs and sweeps have no request to take the host from,
    and a link in a mail must not depend on which host the request came in on."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)
