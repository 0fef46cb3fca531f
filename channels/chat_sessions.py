"""Finding a chat: the tenant a widget key names, the visitor's session by its token, an agent's
chat by id, and the ticket a chat became.

Live chat, module by module: `chat_start` opens a chat (or takes a message when nobody is
online), `chat_queue` offers it to the agents and lets one accept it, `chat_lines` adds what is
said, `chat_feed` reads it back for the streams, `chat_ending` finishes it (by the visitor, the
agent or the idle sweep) and `chat_transcript` writes it up for the ticket and the visitor.

Functions flush, never commit; the request or job boundary commits, and the broker delivers
notifications only after that commit (see `chat_broker.notify`).
"""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select, update

from channels.chat_models import ChatSession, ChatStatus
from core.errors import NotFound
from core.extensions import db
from tenants import services as tenants
from tenants.models import ChannelKind
from tickets import intake
from tickets.models import Ticket

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{4,64}$")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
STATUS_LABELS = {
    ChatStatus.QUEUED.value: _l("Waiting"),
    ChatStatus.ACTIVE.value: _l("In progress"),
    ChatStatus.ENDED.value: _l("Ended"),
    ChatStatus.OFFLINE.value: _l("Message left"),
}


def tenant_for_key(key: str) -> tenants.ChannelTenant:
    """The tenant a widget key belongs to; looked up before any scope exists, like a phone number."""
    owner = tenants.channel_tenant(ChannelKind.CHAT, key) if KEY_RE.match(key) else None
    if owner is None:
        raise NotFound(_("There is no such chat."))
    return owner


def for_visitor(token: str) -> ChatSession:
    """The visitor's session, within the tenant in scope: another tenant's token is not found."""
    session = db.session.scalar(_by_token(), {"token": token}) if TOKEN_RE.match(token) else None
    if session is None:
        raise _no_such_chat()
    return session


def claim_for_visitor(token: str, now: datetime) -> ChatSession:
    """The visitor's session for a new line: found, its row locked and its last activity set, in
    one `UPDATE ... RETURNING` (see `chat_lines.add` for why a line locks its chat first). A
    lookup and then an UPDATE were two statements and a unit of work per line (bench/chat.py); a
    line that is refused after this rolls the UPDATE back with it."""
    found = _claim("token", {"by_token": token, "now": now}) if TOKEN_RE.match(token) else None
    if found is None:
        raise _no_such_chat()
    return found


def claim(chat_id: int, now: datetime) -> ChatSession:
    """`get` for a new line from the agent's side: the chat, locked, its last activity set."""
    found = _claim("id", {"by_id": chat_id, "now": now})
    if found is None:
        raise _not_yours()
    return found


def _claim(by: str, params: dict[str, Any]) -> ChatSession | None:
    # RETURNING loads the row; "synchronize" would evaluate the WHERE (and the scope's criteria,
    # over every tenant-scoped mapper) against the objects of the session on every line.
    options = {"populate_existing": True, "synchronize_session": False}
    return db.session.scalar(_claim_statement(by), params, execution_options=options)


@functools.cache
def _claim_statement(by: str) -> Any:
    """Built once per column; the tenancy scope's criteria are added at execution, as to any
    UPDATE, so another tenant's chat is not found (and not touched)."""
    return (
        update(ChatSession)
        .where(getattr(ChatSession, by) == bindparam(f"by_{by}"))
        .values(last_activity_at=bindparam("now"))
        .returning(ChatSession)
    )


@functools.cache
def _by_token() -> Any:
    """Built once: every request of the widget looks its chat up (building the query cost as much
    as running it); the tenancy scope's criteria are added to it at execution, as to any query."""
    return select(ChatSession).where(ChatSession.token == bindparam("token"))


def get(chat_id: int) -> ChatSession:
    """A chat in the caller's scope (an agent's clients); anything else is not found."""
    session = db.session.get(ChatSession, chat_id)
    if session is None:
        raise _not_yours()
    return session


def _no_such_chat() -> NotFound:
    return NotFound(_("This chat does not exist."))


def _not_yours() -> NotFound:
    return NotFound(_("This chat does not exist or is not yours to see."))


def session_json(session: ChatSession) -> dict[str, Any]:
    return {"id": session.id, "status": session.status, "language": session.language}


def ticket_of(session: ChatSession) -> Ticket | None:
    """The chat's ticket; processes its intake record now if the queue has not done it yet."""
    if session.ticket_id is None and session.inbound_id is not None:
        session.ticket_id = intake.ticket_of(session.inbound_id) or intake.process(session.inbound_id)
    return db.session.get(Ticket, session.ticket_id) if session.ticket_id else None
