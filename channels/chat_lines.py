"""What is said in a chat: a line from the visitor or the agent who holds it, the system's lines
(queued, joined, ended), and "typing…", each passed on to the streams through the broker.

The lines of one chat are committed in id order (see `add`); the streams rely on it, since they
send what is "after the last id sent" (`chat_feed`).
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, literal_column, select

from channels import chat_broker, chat_feed
from channels.chat_models import ChatAuthor, ChatMessage, ChatSession
from core import tenancy
from core.errors import Conflict, PermissionDenied, ServiceError, ValidationFailed
from core.extensions import db
from core.models_base import utcnow


class MessageTooLong(ServiceError):
    status = 413
    code = "message_too_long"


def check_length(body: str) -> None:
    limit = int(current_app.config["CHAT_MAX_CHARS"])
    if len(body) > limit:
        raise MessageTooLong(_("A chat message can have at most %(count)d characters.", count=limit))


def add(
    session: ChatSession,
    author: ChatAuthor,
    body: str,
    *,
    user_id: int | None = None,
    event: str | None = None,
    now: datetime | None = None,
    claimed: bool = False,
) -> ChatMessage:
    """Unchecked: `post` checks what people write; the system's own lines (queued, joined, ended)
    need no check."""
    now = now or utcnow()
    # The chat's row is written (so locked until the commit) before the line takes its id: the
    # lines of one chat are then committed in id order, which the streams rely on (they send
    # what is "after the last id sent", per chat). With the INSERT first, two lines posted to a
    # chat at once could commit out of order and the earlier one was never streamed. A chat
    # found by `chat_sessions.claim` for this line is locked already.
    if not claimed:
        session.last_activity_at = now
        db.session.flush()
    message, previous = _insert(session, author, body, user_id, event, now)
    # Both sides' streams are woken, and the notification carries the line as they send it and
    # the id of the chat's line before it: a stream whose last line sent is that one writes the
    # line straight from the notification, without reading the database (bench/chat.py: the
    # wake-up's app context, connection and query were about a third of the web CPU per line).
    # On any gap, a reconnect or a keepalive poll it reads the database as before, so nothing
    # reaches a stream that was not committed first, and nothing is skipped. The author's own
    # stream is woken too (the widget and the console drop an id they show already): a stream
    # that never heard of its own side's lines would find every next line after a gap, and read
    # the database for each.
    chat_broker.notify(
        [_console_channel(session), chat_broker.session_channel(session.id)],
        {
            "type": "message",
            "session_id": session.id,
            "id": message.id,
            "after": previous,
            "agent_id": session.agent_id,
            "line": chat_feed.as_json(message, session),
        },
    )
    return message


@functools.cache
def _insert_statement() -> Any:
    """Built once (building it took longer than running it), on the table: the ORM's INSERT with
    RETURNING costs more than the line's whole unit of work (SQLAlchemy 2.1). It returns the new
    id and the id of the chat's line before it, 0 for the first; the subquery names the new row by
    its table, as the correlation of a subquery with the INSERT's own table cannot be expressed
    (PostgreSQL's subquery does not see the statement's own row anyway; `id <` keeps it out on
    SQLite too)."""
    table = ChatMessage.__table__
    earlier = table.alias()
    previous = (
        select(func.coalesce(func.max(earlier.c.id), 0))
        # The chat's tenant is named for the index (tenant_id, session_id, id), so the max is one
        # step down it; with the session and row-level security alone, PostgreSQL scanned the
        # lines of every chat below the new id.
        .where(earlier.c.tenant_id == bindparam("tenant_id"), earlier.c.session_id == bindparam("session_id"))
        .where(earlier.c.id < literal_column("chat_messages.id"))
        .scalar_subquery()
    )
    return (
        table.insert()
        .values({column: bindparam(column) for column in _COLUMNS})
        .returning(table.c.id, previous)
    )


_COLUMNS = ("tenant_id", "session_id", "author", "author_user_id", "event", "body", "created_at")


def _insert(
    session: ChatSession,
    author: ChatAuthor,
    body: str,
    user_id: int | None,
    event: str | None,
    now: datetime,
) -> tuple[ChatMessage, int]:
    """The line and the id of the chat's line before it, in one `INSERT ... RETURNING`. Its subquery
    runs after the chat's row is locked, in a snapshot of its own (READ COMMITTED takes one per
    statement), so it sees every earlier line of the chat: they committed before this transaction
    got the lock. The INSERT bypasses the unit of work, so the tenancy scope's write rule is
    checked here, as the `before_flush` hook would; row-level security checks it again on
    PostgreSQL. The line returned is not in the session (nothing changes it after this)."""
    tenancy.check_write(ChatMessage.__name__, session.tenant_id)
    values = {
        "tenant_id": session.tenant_id,
        "session_id": session.id,
        "author": author.value,
        "author_user_id": user_id,
        "event": event,
        "body": body,
        "created_at": now,
    }
    line_id, before = db.session.execute(_insert_statement(), values).one()
    return ChatMessage(id=line_id, **values), int(before)


def _console_channel(session: ChatSession) -> str:
    """Where the consoles hear of a chat's lines: only the holder's once it is accepted (no other
    console shows them); the client's team while it waits."""
    if session.agent_id is not None:
        return chat_broker.agent_channel(session.agent_id)
    return chat_broker.tenant_channel(session.tenant_id)


def post(
    session: ChatSession,
    author: ChatAuthor,
    body: str,
    *,
    user_id: int | None = None,
    now: datetime | None = None,
    claimed: bool = False,
) -> ChatMessage:
    """A line from the visitor or from the agent who holds the chat; `claimed`: the chat was found
    with `chat_sessions.claim` (or `claim_for_visitor`) for this line, so it is locked already."""
    check_length(body)
    body = body.strip()
    if not body:
        raise ValidationFailed(fields={"body": _("Write something first.")})
    if not session.is_open:
        raise Conflict(_("This chat has ended."))
    if author is ChatAuthor.AGENT and (session.agent_id is None or session.agent_id != user_id):
        raise PermissionDenied(_("Accept the chat before you answer it."))
    return add(session, author, body, user_id=user_id, now=now, claimed=claimed)  # also the last activity


def typing(session: ChatSession, who: ChatAuthor) -> None:
    """Not stored: the other side shows "typing…" for a few seconds."""
    if session.is_open:
        # The visitor's typing is shown by the holder's console, the agent's by the widget.
        channel = _console_channel(session) if who is ChatAuthor.VISITOR else None
        chat_broker.publish_now(
            [c for c in (channel, chat_broker.session_channel(session.id)) if c is not None],
            {"type": "typing", "session_id": session.id, "who": who.value, "agent_id": session.agent_id},
        )
