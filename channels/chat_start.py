"""The visitor's first step: starting a chat, or leaving a message when nobody is online.

A chat arrives like every other contact: `start` hands it to the intake (channel `chat`), so the
ticket exists from the first moment and nothing is lost if the visitor closes the tab.

A left message (nobody online) goes through the same intake as channel `chat`, flagged
`left_message`, with the usual e-mail acknowledgement: the conversation then continues by e-mail.
(Channel `email` would hand the record to the e-mail processor, which expects raw MIME.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from channels import chat_broker
from channels.chat_lines import add, check_length
from channels.chat_models import ChatAuthor, ChatSession, ChatStatus
from channels.chat_queue import online_languages
from core.errors import ServiceError, ValidationFailed
from core.extensions import db
from core.models_base import utcnow
from tenants.models import Tenant
from tickets import contacts, intake
from tickets.models import Channel


class NobodyOnline(ServiceError):
    status = 409
    code = "chat_offline"
    default_message = _l("No one is available to chat right now. Please leave us a message.")


@dataclass
class StartChat:
    """What the pre-chat form asks (and, for a left message, the message)."""

    name: str
    email: str | None
    language: str
    topic: str
    transcript: bool = False
    message: str = ""


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
    check_length(message)
    if errors:
        raise ValidationFailed(fields=errors)
    language = data.language if data.language in tenant.languages else tenant.default_language
    return StartChat(name, email, language, topic, data.transcript, message)


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


def _new_session(
    tenant: Tenant, data: StartChat, now: datetime, status: ChatStatus, **more: Any
) -> ChatSession:
    """The chat's row from the pre-chat form, written (its id names the intake record)."""
    session = ChatSession(
        tenant_id=tenant.id,
        visitor_name=data.name,
        visitor_email=data.email,
        language=data.language,
        topic=data.topic,
        status=status.value,
        created_at=now,
        last_activity_at=now,
        **more,
    )
    db.session.add(session)
    db.session.flush()
    return session


def start(tenant: Tenant, data: StartChat, *, now: datetime | None = None) -> ChatSession:
    """Open a chat, queued for the agents of this client and language. Refused with
    `NobodyOnline` when none of them is available, so the widget can offer a message instead."""
    data = _clean(tenant, data, need_message=False)
    if not online_languages(tenant).get(data.language):
        raise NobodyOnline()
    session = _new_session(
        tenant,
        data,
        now or utcnow(),
        ChatStatus.QUEUED,
        transcript_requested=bool(data.transcript and data.email),
    )
    _intake(tenant, session, data, left_message=False)
    with force_locale(session.language):
        add(session, ChatAuthor.SYSTEM, _("Thank you! An agent will be with you shortly."), event="queued")
    if data.message:
        add(session, ChatAuthor.VISITOR, data.message)
    chat_broker.notify([chat_broker.tenant_channel(tenant.id)], {"type": "queue"})
    return session


def leave_message(tenant: Tenant, data: StartChat, *, now: datetime | None = None) -> ChatSession:
    """Nobody online: the message becomes a ticket through the intake, answered by e-mail."""
    data = _clean(tenant, data, need_message=True)
    now = now or utcnow()
    session = _new_session(tenant, data, now, ChatStatus.OFFLINE, ended_at=now)
    add(session, ChatAuthor.VISITOR, data.message)
    _intake(tenant, session, data, left_message=True)
    return session
