"""Ending a chat: by the visitor, by the agent who holds it (also to escalate its ticket), or by
the idle sweep. The transcript then goes onto the chat's ticket, and the chat's time is billed."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from billing import usage
from billing.models import UsageKind
from channels import chat_broker
from channels.chat_lines import add
from channels.chat_models import ChatAuthor, ChatSession, ChatStatus
from channels.chat_sessions import ticket_of
from channels.chat_transcript import send_transcript, transcript
from core import scheduler
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.extensions import db
from core.models_base import utcnow
from tickets import services as tickets
from tickets.models import MessageKind, Ticket

ENDED_BY = ("visitor", "agent", "idle")


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
        add(session, ChatAuthor.SYSTEM, text, event="ended", now=now)
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
        send_transcript(session)
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
