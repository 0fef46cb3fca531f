"""A chat written up as plain text: stored on its ticket when it ends (`chat_ending`), and e-mailed
to the visitor if they asked for it, before or during the chat or after it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_time
from flask_babel import force_locale
from flask_babel import gettext as _

from channels.chat_feed import as_json, messages_after
from channels.chat_models import ChatAuthor, ChatSession
from core.errors import ValidationFailed
from core.extensions import db
from core.mail import send_email
from core.models_base import utcnow
from tenants import services as tenants
from tenants.models import Tenant


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


def request_transcript(session: ChatSession) -> None:
    """The visitor's "e-mail me the transcript": sent now if the chat is over, else at its end."""
    if not session.visitor_email:
        raise ValidationFailed(fields={"email": _("We need your e-mail address to answer you by e-mail.")})
    session.transcript_requested = True
    if not session.is_open:
        send_transcript(session)


def send_transcript(session: ChatSession) -> None:
    """Once per chat, however often it is asked for (the dedupe key guards the outbox too)."""
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
