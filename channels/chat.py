"""Live chat rules: starting a chat (or leaving a message when nobody is online), posting,
typing, the agents' queue, accepting, ending, and the transcript on the ticket.

A chat arrives like every other contact: `start` hands it to the intake (channel `chat`), so the
ticket exists from the first moment and nothing is lost if the visitor closes the tab. When the
chat ends (by the visitor, the agent, or the idle sweep) its transcript is stored on that ticket,
and e-mailed to the visitor if they asked for it.

A left message (nobody online) goes through the same intake as channel `chat`, flagged
`left_message`, with the usual e-mail acknowledgement: the conversation then continues by e-mail.
(Channel `email` would hand the record to the e-mail processor, which expects raw MIME.)

Functions flush, never commit; the request or job boundary commits, and the broker delivers
notifications only after that commit (see `chat_broker.notify`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_time
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select

from agents import routing
from agents import services as agent_services
from agents.models import AgentLanguage
from billing import usage
from billing.models import UsageKind
from channels import chat_broker
from channels.chat_models import ChatAuthor, ChatMessage, ChatSession, ChatStatus
from core import scheduler
from core.auth.models import User
from core.errors import Conflict, NotFound, PermissionDenied, ServiceError, ValidationFailed
from core.extensions import db
from core.mail import send_email
from core.models_base import utcnow
from tenants import services as tenants
from tenants.models import ChannelKind, Tenant
from tickets import contacts, intake
from tickets import services as tickets
from tickets.models import Channel, MessageKind, Ticket

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{4,64}$")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
ENDED_BY = ("visitor", "agent", "idle")
STATUS_LABELS = {
    ChatStatus.QUEUED.value: _l("Waiting"),
    ChatStatus.ACTIVE.value: _l("In progress"),
    ChatStatus.ENDED.value: _l("Ended"),
    ChatStatus.OFFLINE.value: _l("Message left"),
}


class NobodyOnline(ServiceError):
    status = 409
    code = "chat_offline"
    default_message = _l("No one is available to chat right now. Please leave us a message.")


class MessageTooLong(ServiceError):
    status = 413
    code = "message_too_long"


@dataclass
class StartChat:
    """What the pre-chat form asks (and, for a left message, the message)."""

    name: str
    email: str | None
    language: str
    topic: str
    transcript: bool = False
    message: str = ""


# --- finding things ---------------------------------------------------------------------------


def tenant_for_key(key: str) -> int:
    """The tenant a widget key belongs to; looked up before any scope exists, like a phone number."""
    owner = tenants.channel_owner(ChannelKind.CHAT, key) if KEY_RE.match(key) else None
    if owner is None:
        raise NotFound(_("There is no such chat."))
    return owner


def for_visitor(token: str) -> ChatSession:
    """The visitor's session, within the tenant in scope: another tenant's token is not found."""
    session = (
        db.session.scalar(select(ChatSession).where(ChatSession.token == token))
        if TOKEN_RE.match(token)
        else None
    )
    if session is None:
        raise NotFound(_("This chat does not exist."))
    return session


def get(chat_id: int) -> ChatSession:
    """A chat in the caller's scope (an agent's clients); anything else is not found."""
    session = db.session.get(ChatSession, chat_id)
    if session is None:
        raise NotFound(_("This chat does not exist or is not yours to see."))
    return session


def languages_of(user_id: int) -> list[str]:
    return list(db.session.scalars(select(AgentLanguage.language).where(AgentLanguage.user_id == user_id)))


def online_languages(tenant: Tenant) -> dict[str, bool]:
    """Per language of the tenant: is an agent who serves it and speaks it available now?"""
    return {
        language: any(c.available for c in routing.eligible(tenant.id, language))
        for language in tenant.languages
    }


def queue_for(user: User, limit: int = 50) -> list[ChatSession]:
    """Waiting chats offered to this person: of the clients they are assigned to, in a language
    they speak, oldest first."""
    tenant_ids = agent_services.assigned_tenant_ids(user.id)
    languages = languages_of(user.id)
    if not tenant_ids or not languages:
        return []
    return list(
        db.session.scalars(
            select(ChatSession)
            .where(
                ChatSession.tenant_id.in_(tenant_ids),
                ChatSession.status == ChatStatus.QUEUED.value,
                ChatSession.language.in_(languages),
            )
            .order_by(ChatSession.created_at, ChatSession.id)
            .limit(limit)
        )
    )


def held_by(user_id: int) -> list[ChatSession]:
    return list(
        db.session.scalars(
            select(ChatSession)
            .where(ChatSession.agent_id == user_id, ChatSession.status == ChatStatus.ACTIVE.value)
            .order_by(ChatSession.accepted_at, ChatSession.id)
        )
    )


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

    The lines of one chat are committed in id order (see `_add`), those of different chats are
    not: with one cursor for all, a console that had sent line 105 of one chat skipped line 104
    of another that committed a moment later (bench/chat.py saw such lines never arrive under
    load). So the console keeps a cursor per chat it holds."""
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


Names = dict[tuple[str, int], str]


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


def session_json(session: ChatSession) -> dict[str, Any]:
    return {"id": session.id, "status": session.status, "language": session.language}


# --- the visitor's side -----------------------------------------------------------------------


def _clean(tenant: Tenant, data: StartChat, *, need_message: bool) -> StartChat:
    errors: dict[str, str] = {}
    name = " ".join(data.name.split())[:200]
    topic = " ".join(data.topic.split())[:300]
    if not name:
        errors["name"] = _("Please tell us your name.")
    if not topic:
        errors["topic"] = _("Please tell us what it is about.")
    email = None
    if data.email and data.email.strip():
        try:
            email = contacts.normalize_email(data.email)
        except ValidationFailed as exc:
            errors.update({k: str(v) for k, v in exc.fields.items()})
    elif data.transcript or need_message:
        errors["email"] = _("We need your e-mail address to answer you by e-mail.")
    message = data.message.strip()
    if need_message and not message:
        errors["message"] = _("Write something first.")
    _check_length(message)
    if errors:
        raise ValidationFailed(fields=errors)
    language = data.language if data.language in tenant.languages else tenant.default_language
    return StartChat(name, email, language, topic, data.transcript, message)


def _check_length(body: str) -> None:
    limit = int(current_app.config["CHAT_MAX_CHARS"])
    if len(body) > limit:
        raise MessageTooLong(_("A chat message can have at most %(count)d characters.", count=limit))


def _intake(tenant: Tenant, session: ChatSession, data: StartChat, *, left_message: bool) -> None:
    record = intake.receive(
        tenant.id,
        intake.InboundContact(
            channel=Channel.CHAT,
            external_id=f"chat:{session.id}",
            subject=data.topic,
            body=data.message or data.topic,
            name=data.name,
            email=data.email,
            language=data.language,
            # A left message is answered by e-mail: confirm it with the ticket number.
            acknowledge=left_message,
            extra={"chat_session_id": session.id, "left_message": left_message},
        ),
    )
    session.inbound_id = record.id


def start(tenant: Tenant, data: StartChat, *, now: datetime | None = None) -> ChatSession:
    """Open a chat, queued for the agents of this client and language. Refused with
    `NobodyOnline` when none of them is available, so the widget can offer a message instead."""
    data = _clean(tenant, data, need_message=False)
    if not online_languages(tenant).get(data.language):
        raise NobodyOnline()
    now = now or utcnow()
    session = ChatSession(
        tenant_id=tenant.id,
        visitor_name=data.name,
        visitor_email=data.email,
        language=data.language,
        topic=data.topic,
        status=ChatStatus.QUEUED.value,
        transcript_requested=bool(data.transcript and data.email),
        created_at=now,
        last_activity_at=now,
    )
    db.session.add(session)
    db.session.flush()
    _intake(tenant, session, data, left_message=False)
    with force_locale(session.language):
        _add(session, ChatAuthor.SYSTEM, _("Thank you! An agent will be with you shortly."), event="queued")
    if data.message:
        _add(session, ChatAuthor.VISITOR, data.message)
    chat_broker.notify([chat_broker.tenant_channel(tenant.id)], {"type": "queue"})
    return session


def leave_message(tenant: Tenant, data: StartChat, *, now: datetime | None = None) -> ChatSession:
    """Nobody online: the message becomes a ticket through the intake, answered by e-mail."""
    data = _clean(tenant, data, need_message=True)
    now = now or utcnow()
    session = ChatSession(
        tenant_id=tenant.id,
        visitor_name=data.name,
        visitor_email=data.email,
        language=data.language,
        topic=data.topic,
        status=ChatStatus.OFFLINE.value,
        created_at=now,
        ended_at=now,
        last_activity_at=now,
    )
    db.session.add(session)
    db.session.flush()
    _add(session, ChatAuthor.VISITOR, data.message)
    _intake(tenant, session, data, left_message=True)
    return session


def _add(
    session: ChatSession,
    author: ChatAuthor,
    body: str,
    *,
    user_id: int | None = None,
    event: str | None = None,
    now: datetime | None = None,
) -> ChatMessage:
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
    _check_length(body)
    body = body.strip()
    if not body:
        raise ValidationFailed(fields={"body": _("Write something first.")})
    if not session.is_open:
        raise Conflict(_("This chat has ended."))
    if author is ChatAuthor.AGENT and (session.agent_id is None or session.agent_id != user_id):
        raise PermissionDenied(_("Accept the chat before you answer it."))
    return _add(session, author, body, user_id=user_id, now=now)  # also the chat's last activity


def typing(session: ChatSession, who: ChatAuthor) -> None:
    """Not stored: the other side shows "typing…" for a few seconds."""
    if session.is_open:
        # The visitor's typing is shown by the holder's console, the agent's by the widget.
        channel = _console_channel(session) if who is ChatAuthor.VISITOR else None
        chat_broker.publish_now(
            [c for c in (channel, chat_broker.session_channel(session.id)) if c is not None],
            {"type": "typing", "session_id": session.id, "who": who.value},
        )


def request_transcript(session: ChatSession) -> None:
    """The visitor's "e-mail me the transcript": sent now if the chat is over, else at its end."""
    if not session.visitor_email:
        raise ValidationFailed(fields={"email": _("We need your e-mail address to answer you by e-mail.")})
    session.transcript_requested = True
    if not session.is_open:
        _send_transcript(session)


# --- the agent's side -------------------------------------------------------------------------


def ticket_of(session: ChatSession) -> Ticket | None:
    """The chat's ticket; processes its intake record now if the queue has not done it yet."""
    if session.ticket_id is None and session.inbound_id is not None:
        session.ticket_id = intake.ticket_of(session.inbound_id) or intake.process(session.inbound_id)
    return db.session.get(Ticket, session.ticket_id) if session.ticket_id else None


def accept(session: ChatSession, user: User, *, now: datetime | None = None) -> ChatSession:
    """Take a waiting chat. The row lock makes two agents clicking at once end with one owner."""
    db.session.refresh(session, with_for_update=True)
    if session.status != ChatStatus.QUEUED.value:
        raise Conflict(
            _("Another agent has taken this chat already.")
            if session.status == ChatStatus.ACTIVE.value
            else _("This chat has ended.")
        )
    if not routing.serves(session.tenant_id, user.id) or session.language not in languages_of(user.id):
        raise PermissionDenied(_("You do not serve this client in this language."))
    now = now or utcnow()
    session.status = ChatStatus.ACTIVE.value
    session.agent_id = user.id
    session.accepted_at = now
    session.last_activity_at = now
    ticket = ticket_of(session)
    if ticket is not None:
        tickets.assign(ticket, user.id)
    with force_locale(session.language):
        _add(session, ChatAuthor.SYSTEM, _("%(name)s has joined the chat.", name=user.name), event="accepted")
    chat_broker.notify([chat_broker.tenant_channel(session.tenant_id)], {"type": "queue"})
    return session


def end(
    session: ChatSession, by: str, *, user_id: int | None = None, now: datetime | None = None
) -> Ticket | None:
    """Finish a chat: the transcript goes onto the ticket, and to the visitor if they asked.
    Ending an ended chat changes nothing."""
    if by not in ENDED_BY:
        raise ValueError(by)
    if by == "agent" and session.agent_id is not None and session.agent_id != user_id:
        raise PermissionDenied(_("Only the agent who holds this chat can end it."))
    if not session.is_open:
        return ticket_of(session)
    now = now or utcnow()
    was_queued = session.status == ChatStatus.QUEUED.value
    session.status = ChatStatus.ENDED.value
    session.ended_at = now
    session.ended_by = by
    with force_locale(session.language):
        text = {
            "visitor": _("The customer has ended the chat."),
            "agent": _("The chat has ended. Thank you for contacting us."),
            "idle": _("The chat was closed after a period of inactivity."),
        }[by]
        _add(session, ChatAuthor.SYSTEM, text, event="ended", now=now)
    ticket = ticket_of(session)
    if ticket is not None:
        text = transcript(session)
        tickets.add_message(ticket, MessageKind.CHAT_TRANSCRIPT, text, user_id=session.agent_id)
        tickets.touch(ticket, now)
        tickets.record_event(ticket, "chat_transcript", chat_id=session.id, ended_by=by)
        db.session.flush()
    if session.accepted_at is not None:
        usage.record(
            session.tenant_id,
            UsageKind.CHAT,
            f"chat:{session.id}",
            quantity=max(0, int((now - session.accepted_at).total_seconds())),
            ticket_id=ticket.id if ticket else None,
            occurred_at=session.accepted_at,
            language=session.language,
        )
    if session.transcript_requested:
        _send_transcript(session)
    if was_queued:
        chat_broker.notify([chat_broker.tenant_channel(session.tenant_id)], {"type": "queue"})
    return ticket


def end_for_escalation(session: ChatSession, user_id: int, reason: str) -> Ticket:
    """End the chat (transcript on the ticket) with the reason as an internal note; the agent then
    writes the handoff packet on the ticket's escalation page."""
    if not reason.strip():
        raise ValidationFailed(fields={"reason": _("Write something first.")})
    ticket = end(session, "agent", user_id=user_id)
    if ticket is None:
        raise Conflict(_("The chat's ticket is not there yet; try again in a moment."))
    tickets.add_note(ticket, user_id, reason)
    return ticket


# --- transcripts ------------------------------------------------------------------------------


def transcript(session: ChatSession) -> str:
    """Plain text, in the visitor's language and the client's time zone."""
    tenant = db.session.get_one(Tenant, session.tenant_id)
    zone = ZoneInfo(tenant.timezone)
    lines = []
    with force_locale(session.language):
        lines.append(
            _(
                "Live chat of %(date)s: %(topic)s",
                date=format_datetime(session.created_at.astimezone(zone), "medium", locale=session.language),
                topic=session.topic,
            )
        )
        lines.append("")
        for message in messages_after([session.id]):
            at = format_time(message.created_at.astimezone(zone), "short", locale=session.language)
            if message.author == ChatAuthor.SYSTEM.value:
                lines.append(f"[{at}] — {message.body}")
            else:
                name = as_json(message, session)["name"] or _("Agent")
                lines.append(f"[{at}] {name}: {message.body}")
    return "\n".join(lines)


def _send_transcript(session: ChatSession) -> None:
    if session.transcript_sent_at is not None or not session.visitor_email:
        return
    tenant = db.session.get_one(Tenant, session.tenant_id)
    with force_locale(session.language):
        subject = _("Your chat with %(name)s", name=tenant.name)
        signature = tenant.text_for(tenant.signatures, session.language)[0]
    text = transcript(session) + (f"\n\n-- \n{signature}" if signature else "")
    send_email(
        to=session.visitor_email,
        subject=subject,
        text=text,
        tenant_id=tenant.id,
        sender=tenants.sender_of(tenant),
        dedupe_key=f"chat-transcript:{tenant.id}:{session.id}",
    )
    session.transcript_sent_at = utcnow()


# --- the idle sweep ---------------------------------------------------------------------------


def end_idle(now: datetime | None = None, limit: int = 200) -> int:
    """Close chats nobody has written in for `CHAT_IDLE_MINUTES` (system scope)."""
    now = now or utcnow()
    cutoff = now - timedelta(minutes=int(current_app.config["CHAT_IDLE_MINUTES"]))
    idle = list(
        db.session.scalars(
            select(ChatSession)
            .where(
                ChatSession.status.in_([ChatStatus.QUEUED.value, ChatStatus.ACTIVE.value]),
                ChatSession.last_activity_at < cutoff,
            )
            .order_by(ChatSession.last_activity_at)
            .limit(limit)
        )
    )
    for session in idle:
        end(session, "idle", now=now)
    return len(idle)


@scheduler.periodic("chat.end_idle", every=timedelta(minutes=1))
def end_idle_chats(tenant_id: None) -> int:
    return end_idle()
