"""The agents' side of a waiting chat: who is online for a client's language, the queue offered
to an agent (their clients, their languages), the chats they hold, accepting one, and giving the
held ones back when the agent leaves."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from agents import routing
from agents import services as agent_services
from agents.models import AgentLanguage
from channels import chat_broker
from channels.chat_lines import add
from channels.chat_models import ChatAuthor, ChatSession, ChatStatus
from channels.chat_sessions import ticket_of
from core.auth.models import User
from core.errors import Conflict, PermissionDenied
from core.extensions import db
from core.models_base import utcnow
from tenants.models import Tenant
from tickets import services as tickets


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
    # The first acceptance: the chat is billed from there to its end, across a handover.
    session.accepted_at = session.accepted_at or now
    session.last_activity_at = now
    ticket = ticket_of(session)
    if ticket is not None:
        tickets.assign(ticket, user.id)
    with force_locale(session.language):
        add(session, ChatAuthor.SYSTEM, _("%(name)s has joined the chat.", name=user.name), event="accepted")
    chat_broker.notify([chat_broker.tenant_channel(session.tenant_id)], {"type": "queue"})
    return session


def give_back(user_id: int, *, tenant_ids: Iterable[int] | None = None, now: datetime | None = None) -> int:
    """Put the chats an agent holds (of these clients, or all) back in their client's queue: the
    agent was deactivated or taken off the client, and a customer left with nobody answering
    would wait until the idle sweep closes the chat. The visitor is told; whoever accepts next
    sees the conversation so far. Returns how many chats went back."""
    query = select(ChatSession).where(
        ChatSession.agent_id == user_id, ChatSession.status == ChatStatus.ACTIVE.value
    )
    if tenant_ids is not None:
        query = query.where(ChatSession.tenant_id.in_(list(tenant_ids)))
    held = list(db.session.scalars(query.order_by(ChatSession.id).with_for_update()))
    for session in held:
        session.status = ChatStatus.QUEUED.value
        session.agent_id = None
        with force_locale(session.language):
            text = _("Your agent had to leave. Please stay: the next available agent will continue the chat.")
            add(session, ChatAuthor.SYSTEM, text, event="requeued", now=now)
        chat_broker.notify([chat_broker.tenant_channel(session.tenant_id)], {"type": "queue"})
    return len(held)
