"""On call: an urgent escalation outside the team's working hours pages the person on call, and
the next one if nobody acknowledges in time.

`page` is called by the escalation service when an escalation is created (if `should_page`), and
by the sweep when the page is due and still unacknowledged. Each page is an `OnCallPage` row,
unique per escalation and attempt, so two sweeps (or a sweep and a retry) page a person once.
The sweep goes down the current rota once, starting after the person paged last and wrapping
around to the top, skipping whoever was already paged for this escalation; when everybody has
been paged and nobody acknowledged, it stops and tells the team's shared address.

The page mail carries a one-click acknowledge link: a token signed with the app's secret that
names the escalation and the person, good for `ACK_TOKEN_MAX_AGE`, handled by
`escalations.portal_views` behind the sign-in (a forwarded mail acknowledges nothing).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import audit, tenancy
from core.auth.models import User
from core.errors import NotFound, PermissionDenied
from core.extensions import db
from core.i18n import locale_of
from core.mail import absolute_url, send_email
from core.models_base import utcnow
from core.scheduler import periodic
from escalations import webhooks
from escalations.models import Escalation, EscalationStatus, OnCallPage, Team
from escalations.rota import on_call
from sla.calendar import is_open
from sla.models import BusinessCalendar
from tenants.models import Tenant
from tickets import services as tickets
from tickets.models import Ticket

__all__ = ["ack_token", "on_call", "page", "read_ack_token", "should_page", "sweep"]

log = logging.getLogger(__name__)
ACK_TOKEN_MAX_AGE = timedelta(days=7)
SWEEP_BATCH = 200


# --- working hours ----------------------------------------------------------------------------


def should_page(escalation: Escalation, now: datetime | None = None) -> bool:
    """Urgent, and the team is outside its working hours (a team without a calendar works 24/7,
    so it is always inside them and nobody is woken up)."""
    if not escalation.urgent or escalation.status != EscalationStatus.OPEN.value:
        return False
    team = db.session.get_one(Team, escalation.team_id)
    if team.calendar_id is None:
        return False
    calendar = db.session.get(BusinessCalendar, team.calendar_id)
    return calendar is not None and not is_open(calendar, now or utcnow())


# --- paging -----------------------------------------------------------------------------------


def page(escalation: Escalation, now: datetime | None = None) -> User | None:
    """Page the next person on call for `escalation`; None if there is nobody (left) to page.

    Nobody on call records nothing: the caller tells the team's address instead."""
    now = now or utcnow()
    team = db.session.get_one(Team, escalation.team_id)
    person = _next_person(escalation, team, now)
    if person is None:
        return None
    attempt = escalation.page_attempts + 1
    try:
        with db.session.begin_nested():
            db.session.add(
                OnCallPage(
                    tenant_id=escalation.tenant_id,
                    escalation_id=escalation.id,
                    user_id=person.id,
                    attempt=attempt,
                    sent_at=now,
                )
            )
    except IntegrityError:
        # Another sweep paged this attempt a moment ago: its page stands, nothing is sent twice.
        earlier = db.session.scalar(
            select(OnCallPage).where(OnCallPage.escalation_id == escalation.id, OnCallPage.attempt == attempt)
        )
        return db.session.get(User, earlier.user_id) if earlier else None
    escalation.paged_user_id = person.id
    escalation.page_attempts = attempt
    escalation.page_due_at = now + timedelta(minutes=team.oncall_ack_minutes)
    _mail_page(escalation, team, person, attempt)
    webhooks.send(
        team,
        "escalation.paged",
        {
            "escalation_id": escalation.id,
            "ticket_id": escalation.ticket_id,
            "team_id": team.id,
            "attempt": attempt,
            "paged_user": {"id": person.id, "name": person.name, "email": person.email},
            "acknowledge_by": escalation.page_due_at,
        },
        escalation_id=escalation.id,
    )
    audit.record(
        "escalation.paged",
        tenant_id=escalation.tenant_id,
        target=escalation,
        data={"user_id": person.id, "attempt": attempt},
    )
    db.session.flush()
    return person


def _next_person(escalation: Escalation, team: Team, now: datetime) -> User | None:
    """The first on the rota after the last one paged, wrapping once, not paged for this yet."""
    people = on_call(team, now)
    if not people:
        return None
    paged = set(
        db.session.scalars(select(OnCallPage.user_id).where(OnCallPage.escalation_id == escalation.id))
    )
    ids = [person.id for person in people]
    start = ids.index(escalation.paged_user_id) + 1 if escalation.paged_user_id in ids else 0
    for person in people[start:] + people[:start]:
        if person.id not in paged:
            return person
    return None


def _mail_page(escalation: Escalation, team: Team, person: User, attempt: int) -> None:
    tenant = db.session.get_one(Tenant, escalation.tenant_id)
    ticket = db.session.get_one(Ticket, escalation.ticket_id)
    number = tickets.display_number(tenant, ticket)
    packet: dict[str, Any] = escalation.packet or {}
    with force_locale(locale_of(person, tenant.default_language)):
        subject = _(
            "[%(number)s] On call: please acknowledge – %(subject)s", number=number, subject=ticket.subject
        )
        text = render_template(
            "escalations/email/page.txt",
            person=person,
            team=team,
            tenant=tenant,
            ticket=ticket,
            number=number,
            summary=str(packet.get("summary") or ""),
            urgency=str(packet.get("urgency") or ""),
            escalation=escalation,
            ticket_url=absolute_url("portal.ticket", ticket_id=ticket.id),
            ack_url=absolute_url("team_portal.acknowledge", token=ack_token(escalation, person)),
            minutes=team.oncall_ack_minutes,
        )
    send_email(
        to=person.email,
        subject=subject,
        text=text,
        tenant_id=escalation.tenant_id,
        headers={"Auto-Submitted": "auto-generated", "X-Priority": "1"},
        dedupe_key=f"oncall-page:{escalation.id}:{attempt}",
    )


# --- acknowledging ----------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="oncall-ack")


def ack_token(escalation: Escalation, user: User) -> str:
    return _serializer().dumps({"e": escalation.id, "u": user.id})


def read_ack_token(token: str, user: User) -> Escalation:
    """The escalation a page link names, for the person it was sent to; NotFound otherwise."""
    try:
        data = _serializer().loads(token, max_age=int(ACK_TOKEN_MAX_AGE.total_seconds()))
    except BadSignature:  # expired ones too
        raise NotFound(_("This link is not valid or has expired.")) from None
    escalation = db.session.get(Escalation, int(data.get("e", 0)))
    if escalation is None:
        raise NotFound(_("This link is not valid or has expired."))
    if data.get("u") != user.id:
        raise PermissionDenied(_("This link was sent to someone else; open the ticket from the portal."))
    return escalation


# --- the sweep --------------------------------------------------------------------------------


def sweep(now: datetime | None = None, limit: int = SWEEP_BATCH) -> int:
    """Re-page every open escalation whose page is due; returns how many were handled."""
    now = now or utcnow()
    due = db.session.scalars(
        select(Escalation)
        .where(Escalation.status == EscalationStatus.OPEN.value, Escalation.page_due_at <= now)
        .order_by(Escalation.page_due_at)
        .limit(limit)
    ).all()
    for escalation in due:
        try:
            with tenancy.only(escalation.tenant_id), db.session.begin_nested():
                if page(escalation, now) is None:
                    _give_up(escalation, now)
        except Exception:  # one broken escalation must not stop the pages of the others
            log.exception("on-call sweep: escalation %s failed", escalation.id)
    db.session.flush()
    return len(due)


def _give_up(escalation: Escalation, now: datetime) -> None:
    """Everybody on call was paged (or nobody is on call any more): tell the team's address once."""
    escalation.page_due_at = None
    team = db.session.get_one(Team, escalation.team_id)
    audit.record(
        "escalation.pages_exhausted",
        tenant_id=escalation.tenant_id,
        target=escalation,
        data={"attempts": escalation.page_attempts},
    )
    if not team.email:
        return
    tenant = db.session.get_one(Tenant, escalation.tenant_id)
    ticket = db.session.get_one(Ticket, escalation.ticket_id)
    number = tickets.display_number(tenant, ticket)
    with force_locale(tenant.default_language):
        subject = _(
            "[%(number)s] Nobody on call acknowledged – %(subject)s", number=number, subject=ticket.subject
        )
        text = render_template(
            "escalations/email/unacknowledged.txt",
            team=team,
            ticket=ticket,
            number=number,
            summary=str((escalation.packet or {}).get("summary") or ""),
            attempts=escalation.page_attempts,
            ticket_url=absolute_url("portal.ticket", ticket_id=ticket.id),
        )
    send_email(
        to=team.email,
        subject=subject,
        text=text,
        tenant_id=escalation.tenant_id,
        headers={"Auto-Submitted": "auto-generated", "X-Priority": "1"},
        dedupe_key=f"oncall-unacknowledged:{escalation.id}",
    )


@periodic("oncall_sweep", timedelta(minutes=1))
def oncall_sweep(tenant_id: None, now: datetime | None = None) -> int:
    return sweep(now)
