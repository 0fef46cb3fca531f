"""What is said in a chat: a line from the visitor or the agent who holds it, the system's lines
(queued, joined, ended), and "typing…", each passed on to the other side through the broker.

The lines of one chat are committed in id order (see `add`); the streams rely on it, since they
send what is "after the last id sent" (`chat_feed`).
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import gettext as _

from channels import chat_broker
from channels.chat_models import ChatAuthor, ChatMessage, ChatSession
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
) -> ChatMessage:
    """Unchecked: `post` checks what people write; the system's own lines (queued, joined, ended)
    need no check."""
    now = now or utcnow()
    # The chat's row is written (so locked until the commit) before the line takes its id: the
    # lines of one chat are then committed in id order, which the streams rely on (they send
    # what is "after the last id sent", per chat). With the INSERT first, two lines posted to a
    # chat at once could commit out of order and the earlier one was never streamed.
    session.last_activity_at = now
    db.session.flush()
    message = ChatMessage(
        tenant_id=session.tenant_id,
        session_id=session.id,
        author=author.value,
        author_user_id=user_id,
        event=event,
        body=body,
        created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    # The other side is woken, not the author's own stream: the widget and the console show
    # what they posted from the POST's answer, and their stream sends it along with the next
    # line it is woken for (or at the next keepalive poll). That halves the wake-ups, each a
    # database read, at one line a second per chat (bench/chat.py).
    channels = [
        channel
        for channel, side in (
            (_console_channel(session), ChatAuthor.AGENT),
            (chat_broker.session_channel(session.id), ChatAuthor.VISITOR),
        )
        if author is not side
    ]
    chat_broker.notify(channels, {"type": "message", "session_id": session.id, "id": message.id})
    return message


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
) -> ChatMessage:
    """A line from the visitor or from the agent who holds the chat."""
    check_length(body)
    body = body.strip()
    if not body:
        raise ValidationFailed(fields={"body": _("Write something first.")})
    if not session.is_open:
        raise Conflict(_("This chat has ended."))
    if author is ChatAuthor.AGENT and (session.agent_id is None or session.agent_id != user_id):
        raise PermissionDenied(_("Accept the chat before you answer it."))
    return add(session, author, body, user_id=user_id, now=now)  # also the chat's last activity


def typing(session: ChatSession, who: ChatAuthor) -> None:
    """Not stored: the other side shows "typing…" for a few seconds."""
    if session.is_open:
        # The visitor's typing is shown by the holder's console, the agent's by the widget.
        channel = _console_channel(session) if who is ChatAuthor.VISITOR else None
        chat_broker.publish_now(
            [c for c in (channel, chat_broker.session_channel(session.id)) if c is not None],
            {"type": "typing", "session_id": session.id, "who": who.value},
        )
