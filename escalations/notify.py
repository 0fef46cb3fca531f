"""Who is told what when work moves between the levels: the team (by e-mail, threaded so that a
reply lands on the ticket), the desk agent, and the customer in their own language."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from core.auth.models import User
from core.extensions import db
from core.i18n import locale_of
from core.mail import absolute_url, send_email
from escalations.handoff import as_text
from escalations.models import Escalation, Team
from escalations.teams import members_of
from knowledge.models import ArticleTranslation
from tenants import services as tenants
from tenants.models import Tenant
from tickets import services as tickets
from tickets.macros import fill
from tickets.models import Contact, Message, MessageKind, Ticket


def article_titles(tenant_id: int, ids: list[int], language: str) -> dict[int, str]:
    """A title per article, in `language` where there is one."""
    if not ids:
        return {}
    titles: dict[int, str] = {}
    rows = db.session.execute(
        select(ArticleTranslation.article_id, ArticleTranslation.language, ArticleTranslation.title).where(
            ArticleTranslation.tenant_id == tenant_id, ArticleTranslation.article_id.in_(ids)
        )
    )
    for article_id, lang, title in rows:
        if article_id not in titles or lang == language:
            titles[article_id] = title
    return titles


def _portal_link(ticket: Ticket) -> str:
    return absolute_url("portal.ticket", ticket_id=ticket.id)


def handoff_message(ticket: Ticket, escalation: Escalation, team: Team, author_id: int | None) -> Message:
    """The packet on the ticket's timeline, in the client's language (the specialists read it)."""
    tenant = db.session.get_one(Tenant, ticket.tenant_id)
    language = tenant.default_language
    text = as_text(
        escalation.packet, article_titles(tenant.id, escalation.packet["articles"], language), language
    )
    message = tickets.add_message(ticket, MessageKind.HANDOFF, text, user_id=author_id)
    message.data = {"escalation_id": escalation.id, "team_id": team.id, "level": escalation.level}
    db.session.flush()
    return message


def mail_team(ticket: Ticket, escalation: Escalation, team: Team, handoff: Message) -> None:
    """To the team's shared address (or its members without one), from the client's support
    address: a reply comes back to that address, threads on this Message-ID, lands as a note."""
    recipients = [team.email] if team.email else [user.email for user in members_of(team)]
    if not recipients:
        return
    tenant = db.session.get_one(Tenant, ticket.tenant_id)
    number = tickets.display_number(tenant, ticket)
    with force_locale(tenant.default_language):
        subject = _(
            "[%(number)s] Escalated to %(team)s: %(subject)s",
            number=number,
            team=team.name,
            subject=ticket.subject,
        )
        intro = _("The first-level desk hands this ticket over to %(team)s.", team=team.name)
        answer = _(
            "Open it in the portal: %(link)s — or answer this e-mail: your reply is added to the ticket.",
            link=_portal_link(ticket),
        )
    sender = tenants.sender_of(tenant)
    sent = send_email(
        to=recipients,
        subject=subject,
        text=f"{intro}\n\n{handoff.body}\n\n{answer}",
        tenant_id=tenant.id,
        sender=sender,
        reply_to=sender,
        dedupe_key=f"escalation:{tenant.id}:{escalation.id}",
    )
    handoff.email_message_id = sent.payload["message_id"]


def tell_desk(ticket: Ticket, subject: str, body: str, key: str) -> None:
    """The agent who holds the ticket learns that the specialists moved it (a note is on the
    ticket too); an unassigned ticket is seen in the inbox instead."""
    if ticket.assignee_id is None:
        return
    agent = db.session.get(User, ticket.assignee_id)
    if agent is None or not agent.is_active:
        return
    tenant = db.session.get_one(Tenant, ticket.tenant_id)
    number = tickets.display_number(tenant, ticket)
    with force_locale(locale_of(agent)):
        line = _("[%(number)s] %(what)s", number=number, what=subject)
        link = absolute_url("agent.ticket", ticket_id=ticket.id)
    send_email(to=agent.email, subject=line, text=f"{body}\n\n{link}", tenant_id=tenant.id, dedupe_key=key)


def customer_text(ticket: Ticket, kind: str) -> str:
    """The client's own text for the customer if it set one, else the built-in one, always in the
    ticket's language. `kind`: "escalated" or "resolved"."""
    tenant = db.session.get_one(Tenant, ticket.tenant_id)
    contact = db.session.get(Contact, ticket.contact_id) if ticket.contact_id else None
    number = tickets.display_number(tenant, ticket)
    own = (tenant.escalation_notices or {}).get(ticket.language) if kind == "escalated" else None
    if own:
        values = {
            "ticket_number": number,
            "contact_name": contact.name if contact else "",
            "subject": ticket.subject,
        }
        return fill(own, values)
    with force_locale(ticket.language):
        if kind == "escalated":
            return _(
                "Thank you for your patience. Our specialists are now working on your request %(number)s "
                "(%(subject)s). We will get back to you as soon as they have an answer.",
                number=number,
                subject=ticket.subject,
            )
        return _(
            "Good news: your request %(number)s (%(subject)s) has been resolved by our specialists. "
            "If anything is still not right, simply reply to this message.",
            number=number,
            subject=ticket.subject,
        )
