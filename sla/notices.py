"""Who is told of an SLA warning or breach, and the e-mail they get, in their own language.

A ticket clock: the assignee and the client's supervisors (provider staff assigned to the client
with the supervisor role). A team clock: the team's members. Each recipient gets one mail per
event (the outbox deduplicates on the event and the user), in their locale and time zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from agents.models import AgentAssignment
from core.auth.models import User
from core.auth.roles import Role
from core.extensions import db
from core.i18n import locale_of
from core.mail import absolute_url, send_email
from escalations.models import Team, TeamMember
from sla.labels import CLOCK, duration, label
from sla.models import SlaEvent, SlaEventKind
from tenants.models import Tenant
from tickets.labels import PRIORITY
from tickets.models import Ticket
from tickets.services import display_number


def supervisors_of(tenant_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(AgentAssignment, AgentAssignment.user_id == User.id)
            .where(
                AgentAssignment.tenant_id == tenant_id,
                User.role == Role.SUPERVISOR.value,
                User.is_active.is_(True),
            )
            .order_by(User.id)
        )
    )


def members_of(team: Team) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(TeamMember, TeamMember.user_id == User.id)
            .where(
                TeamMember.tenant_id == team.tenant_id,
                TeamMember.team_id == team.id,
                User.is_active.is_(True),
            )
            .order_by(User.id)
        )
    )


def recipients(
    ticket: Ticket, supervisors: Iterable[User], team_members: Iterable[User] | None = None
) -> list[User]:
    """Each person once: the team's members for a team clock, else the assignee and supervisors."""
    if team_members is not None:
        people = list(team_members)
    else:
        assignee = db.session.get(User, ticket.assignee_id) if ticket.assignee_id else None
        people = [*([assignee] if assignee is not None and assignee.is_active else []), *supervisors]
    seen: set[int] = set()
    unique = []
    for person in people:
        if person.id not in seen and person.email:
            seen.add(person.id)
            unique.append(person)
    return unique


def _ticket_link(ticket: Ticket, for_team: bool) -> str:
    """The ticket where the recipient works on it: the client portal for a team, else the desk."""
    return absolute_url("portal.ticket" if for_team else "agent.ticket", ticket_id=ticket.id)


def send(
    event: SlaEvent,
    ticket: Ticket,
    tenant: Tenant,
    people: Iterable[User],
    *,
    team: Team | None = None,
    raised_to: str | None = None,
) -> int:
    """One mail per person about this event; returns how many were queued."""
    number = display_number(tenant, ticket)
    link = _ticket_link(ticket, team is not None)
    sent = 0
    for person in people:
        locale = locale_of(person, tenant.default_language)
        zone = ZoneInfo(person.timezone or tenant.timezone)
        with force_locale(locale):
            due = format_datetime(event.due_at, "short", tzinfo=zone, locale=locale)
            late = (
                duration(event.created_at - event.due_at, locale) if event.created_at > event.due_at else ""
            )
            left = (
                duration(event.due_at - event.created_at, locale) if event.due_at > event.created_at else ""
            )
            clock = label(CLOCK, event.clock)
            if event.kind == SlaEventKind.BREACH.value:
                subject = _("[%(number)s] SLA breached: %(clock)s", number=number, clock=clock)
            else:
                subject = _("[%(number)s] SLA warning: %(clock)s", number=number, clock=clock)
            text = render_template(
                "sla/email/notice.txt",
                event=event,
                ticket=ticket,
                tenant=tenant,
                team=team,
                number=number,
                clock=clock,
                due=due,
                late=late,
                left=left,
                link=link,
                raised_to=label(PRIORITY, raised_to) if raised_to else None,
                breach=event.kind == SlaEventKind.BREACH.value,
            )
        send_email(
            to=person.email,
            subject=subject,
            text=text,
            tenant_id=tenant.id,
            headers={"Auto-Submitted": "auto-generated"},
            dedupe_key=f"sla:{event.tenant_id}:{event.id}:{person.id}",
        )
        sent += 1
    return sent
