"""The SMTP listener for the tenants' support addresses (aiosmtpd).

An MTA (or the client's mail provider, forwarding) delivers to it. Recipients are checked at
RCPT time against the support addresses of active tenants, so mail for anybody else is refused
before its body is sent (550) and the sender's server bounces it, not us. After DATA the raw
message is committed before the 250 goes back; if the database is down the answer is 451 and
the sending server retries later, so nothing is lost on either side.
"""

from __future__ import annotations

import asyncio
import logging

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from flask import Flask

from channels import mail_inbound

log = logging.getLogger(__name__)


class SupportAddressHandler:
    def __init__(self, app: Flask) -> None:
        self.app = app

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook names)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        loop = asyncio.get_running_loop()
        try:
            tenant_id = await loop.run_in_executor(None, self._owner, address)
        except Exception:
            log.exception("RCPT lookup failed for %s", address)
            return "451 4.3.0 Temporary failure, try again later"
        if tenant_id is None:
            return "550 5.1.1 No such support address here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw).encode("utf-8", errors="surrogateescape")
        loop = asyncio.get_running_loop()
        try:
            deliveries = await loop.run_in_executor(None, self._store, raw, list(envelope.rcpt_tos))
        except mail_inbound.UnknownRecipient:
            return "550 5.1.1 No such support address here"
        except Exception:
            log.exception("storing inbound mail failed")
            return "451 4.3.0 Temporary failure, try again later"
        return f"250 OK queued as {','.join(str(d.record_id) for d in deliveries)}"

    def _owner(self, address: str) -> int | None:
        with self.app.app_context():
            return mail_inbound.accepting_tenant(address)

    def _store(self, raw: bytes, recipients: list[str]) -> list[mail_inbound.Delivery]:
        with self.app.app_context():
            return mail_inbound.receive_raw(raw, recipients, source="smtp")


def controller(app: Flask, host: str, port: int) -> Controller:
    """A started-on-demand listener thread; `.start()` / `.stop()`."""
    return Controller(
        SupportAddressHandler(app),
        hostname=host,
        port=port,
        ready_timeout=10,
        data_size_limit=app.config["MAIL_MAX_BYTES"],
        enable_SMTPUTF8=True,
        # A slow sending server may take its time; it must not hold a connection forever.
        timeout=120,
    )


def parse_listen(value: str) -> tuple[str, int]:
    """ "127.0.0.1:2525" -> ("127.0.0.1", 2525)."""
    host, _sep, port = value.rpartition(":")
    return host or "127.0.0.1", int(port)
