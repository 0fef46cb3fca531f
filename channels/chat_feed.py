"""Reading a chat's lines back: what the widget's and the console's streams send next, and each
line as the JSON they receive, from the database or from the notification that carries it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import and_, func, or_, select

from channels.chat_models import ChatAuthor, ChatMessage, ChatSession
from core.auth.models import User
from core.extensions import db

Names = dict[tuple[str, int], str]


def messages_after(session_ids: Iterable[int], after: int = 0, limit: int = 500) -> list[ChatMessage]:
    ids = list(session_ids)
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(ChatMessage)
            .where(ChatMessage.session_id.in_(ids), ChatMessage.id > after)
            .order_by(ChatMessage.id)
            .limit(limit)
        )
    )


def agent_messages_after(
    user_id: int, after: int, chats: Mapping[int, int] | None = None, limit: int = 500
) -> list[ChatMessage]:
    """New lines in the chats this agent holds or held (so an end by the visitor reaches them):
    after `after`, and in the chats of `chats` after the last id sent of each instead.

    The lines of one chat are committed in id order (see `chat_lines.add`), those of different
    chats are not: with one cursor for all, a console that had sent line 105 of one chat skipped
    line 104 of another that committed a moment later (bench/chat.py saw such lines never arrive
    under load). So the console keeps a cursor per chat it holds."""
    new = ChatMessage.id > after
    if chats:
        new = or_(
            and_(ChatMessage.session_id.not_in(list(chats)), new),
            *(and_(ChatMessage.session_id == chat, ChatMessage.id > last) for chat, last in chats.items()),
        )
    return list(
        db.session.scalars(
            select(ChatMessage)
            .join(ChatSession, ChatSession.id == ChatMessage.session_id)
            .where(ChatSession.agent_id == user_id, new)
            .order_by(ChatMessage.id)
            .limit(limit)
        )
    )


def follows(note: Mapping[str, Any], last_sent: int) -> bool | None:
    """Whether the line a notification carries (`chat_lines.add`) comes right after `last_sent`, the
    last id a stream sent of that chat: True, send it from the notification; False, it was sent
    already (notifications from two processes can arrive out of order); None, lines are missing in
    between or the notification carries no line, so the stream reads the database. The lines of a
    chat commit in id order, so "the line before it is the last one sent" means none is skipped."""
    line_id, before = note.get("id"), note.get("after")
    if "line" not in note or not isinstance(line_id, int) or not isinstance(before, int):
        return None
    if line_id <= last_sent:
        return False
    return True if before == last_sent else None


def last_message_id() -> int:
    return int(db.session.scalar(select(func.max(ChatMessage.id))) or 0)


def _json(message: ChatMessage, name: str) -> dict[str, Any]:
    return {
        "id": message.id,
        "session_id": message.session_id,
        "author": message.author,
        "name": name,
        "event": message.event,
        "body": message.body,
        "at": message.created_at.isoformat(),
    }


def as_json(message: ChatMessage, session: ChatSession | None = None) -> dict[str, Any]:
    """A message as the widget and the console receive it; they insert `body` as text."""
    session = session or db.session.get_one(ChatSession, message.session_id)
    if message.author == ChatAuthor.VISITOR.value:
        name = session.visitor_name
    elif message.author_user_id is not None:
        user = db.session.get(User, message.author_user_id)
        name = user.name if user else ""
    else:
        name = ""
    return _json(message, name)


def as_json_many(messages: list[ChatMessage], names: Names | None = None) -> list[dict[str, Any]]:
    """`as_json` of what a stream sends in one step, with one query for the visitors' names and
    one for the agents' instead of a session and a user lookup per message (that N+1 was a third
    of the web CPU at 200 chats, bench/chat.py). `names` is the stream's cache, keyed
    ("session", id) and ("user", id), so a stream asks for a name once in its life (a renamed
    agent shows the new name from the next stream on, at most `CHAT_STREAM_SECONDS` later)."""
    names = {} if names is None else names
    visitor = ChatAuthor.VISITOR.value
    sessions = {
        m.session_id for m in messages if m.author == visitor and ("session", m.session_id) not in names
    }
    users = {
        m.author_user_id
        for m in messages
        if m.author != visitor and m.author_user_id is not None and ("user", m.author_user_id) not in names
    }
    if sessions:
        rows = db.session.execute(
            select(ChatSession.id, ChatSession.visitor_name).where(ChatSession.id.in_(sessions))
        )
        names.update({("session", session_id): name for session_id, name in rows})
    if users:
        rows = db.session.execute(select(User.id, User.name).where(User.id.in_(users)))
        names.update({("user", user_id): name for user_id, name in rows})
    found = []
    for message in messages:
        if message.author == visitor:
            name = names.get(("session", message.session_id), "")
        elif message.author_user_id is not None:
            name = names.get(("user", message.author_user_id), "")
        else:
            name = ""
        found.append(_json(message, name))
    return found
