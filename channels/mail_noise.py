"""Mail that must not be answered automatically: auto-replies, bulk mail, bounces, and our own
mail coming back.

Answering an auto-reply with an acknowledgement starts a loop between two robots; answering a
bounce mails a postmaster. Our outgoing mail carries `X-Loop: firstline <token>`, the token an
HMAC of the tenant under the platform's secret: a mail that carries a valid token is ours
(a forwarding rule sent it back) and is ignored; one that only *claims* to be ours is treated as
a customer's mail but never acknowledged, so a spoofed header cannot start a loop either way.
"""

from __future__ import annotations

import hmac
from enum import StrEnum

from channels.mail_parse import ParsedMail
from core.mail import LOOP_HEADER, LOOP_VALUE, loop_token


class Noise(StrEnum):
    NONE = ""
    AUTO_REPLY = "auto_reply"
    BULK = "bulk"
    BOUNCE = "bounce"
    LOOP = "loop"  # our own mail, back again
    LOOP_CLAIMED = "loop_claimed"  # says it is ours, cannot prove it


def classify(mail: ParsedMail, tenant_id: int) -> Noise:
    headers = mail.headers
    loops = [value.strip().lower() for value in headers.get(LOOP_HEADER.lower(), "").splitlines()]
    ours = [value for value in loops if value.split(" ", 1)[0] == LOOP_VALUE]
    if ours:
        token = loop_token(tenant_id)
        if any(hmac.compare_digest(value.partition(" ")[2].strip(), token) for value in ours):
            return Noise.LOOP
        return Noise.LOOP_CLAIMED
    if mail.bounce is not None or _from_mailer_daemon(mail) or headers.get("x-failed-recipients"):
        return Noise.BOUNCE
    if headers.get("return-path", "").strip() in ("<>", "") and "return-path" in headers:
        return Noise.BOUNCE
    auto = headers.get("auto-submitted", "").strip().lower()
    if (auto and not auto.startswith("no")) or "x-autoreply" in headers or "x-autorespond" in headers:
        return Noise.AUTO_REPLY
    suppress = headers.get("x-auto-response-suppress", "").lower()
    if any(token in suppress for token in ("all", "oof", "autoreply")):
        return Noise.AUTO_REPLY
    if headers.get("precedence", "").strip().lower() in ("bulk", "junk", "list", "auto_reply"):
        return Noise.BULK
    if "list-id" in headers:
        return Noise.BULK
    return Noise.NONE


def _from_mailer_daemon(mail: ParsedMail) -> bool:
    local = (mail.from_address or "").split("@", 1)[0]
    return local in ("mailer-daemon", "postmaster") and (
        "delivery" in mail.subject.lower()
        or "undeliver" in mail.subject.lower()
        or mail.bounce is not None
        or "failure" in mail.subject.lower()
        or "returned" in mail.subject.lower()
    )
