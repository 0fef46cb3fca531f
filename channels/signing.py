"""Signed webhooks from telephony and fax gateways: HMAC-SHA256 over timestamp and body.

Header: `X-Firstline-Signature: t=<unix seconds>,v1=<hex digest>` where the digest is
HMAC-SHA256(tenant webhook secret, f"{t}." + raw body). A signature older than the tolerance is
refused, so a captured request cannot be replayed later; within the tolerance the event's own id
makes a replay harmless (idempotent processing).
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Firstline-Signature"
TOLERANCE_SECONDS = 300


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str | None, body: bytes, *, now: float | None = None) -> bool:
    if not header:
        return False
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp, given = parts.get("t", ""), parts.get("v1", "")
    if not timestamp.isdigit() or not given:
        return False
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    expected = sign(secret, body, int(timestamp)).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)
