"""The customer satisfaction survey: when a ticket is resolved, its customer is mailed a one-click
rating (1 = very dissatisfied ... 5 = very satisfied) in the ticket's language and the client's
name; the answer (and a comment) lands on the ticket and in the reports (reports.facts reads the
answered surveys).

One survey per ticket: a ticket reopened and resolved again asks again only while the first
request is unanswered (the same links, mailed once more); once answered it is never asked again,
but the customer may change their answer through the same links.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from core import audit
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from core.mail import absolute_url, send_email
from core.models_base import utcnow
from tenants import services as tenants
from tenants.models import Tenant
from tickets import services as tickets
from tickets.labels import RATING
from tickets.models import Contact, SatisfactionSurvey, Ticket

RATINGS = (1, 2, 3, 4, 5)
MAX_COMMENT = 2000
TOKEN_MAX = 64


def survey_of(ticket: Ticket) -> SatisfactionSurvey | None:
    """The ticket's survey (sent, perhaps answered), for the ticket views and the API."""
    return db.session.scalar(
        select(SatisfactionSurvey).where(
            SatisfactionSurvey.tenant_id == ticket.tenant_id, SatisfactionSurvey.ticket_id == ticket.id
        )
    )


def answered_of(rows: Iterable[Ticket]) -> dict[int, SatisfactionSurvey]:
    """The answered surveys of a page of tickets by ticket id, in one query (API listings)."""
    ids = [ticket.id for ticket in rows]
    if not ids:
        return {}
    found = db.session.scalars(
        select(SatisfactionSurvey).where(
            SatisfactionSurvey.ticket_id.in_(ids), SatisfactionSurvey.answered_at.is_not(None)
        )
    )
    return {survey.ticket_id: survey for survey in found}


def by_token(tenant_id: int, token: str) -> SatisfactionSurvey:
    """The survey behind a mailed link, only among the tenant's of the URL: another client's
    token under this client's slug is as unknown as a made-up one."""
    survey = (
        db.session.scalar(
            select(SatisfactionSurvey).where(
                SatisfactionSurvey.tenant_id == tenant_id, SatisfactionSurvey.token == token
            )
        )
        if 0 < len(token) <= TOKEN_MAX
        else None
    )
    if survey is None:
        raise NotFound(_("This survey link is not valid. Please use the link in the e-mail we sent you."))
    return survey


def _reachable(ticket: Ticket) -> Contact | None:
    """The customer to ask, when there is one whose mail arrives."""
    contact = db.session.get(Contact, ticket.contact_id) if ticket.contact_id else None
    if contact is None or not contact.email or contact.email_failing_since is not None:
        return None
    return contact


@tickets.on_resolved
def offer(ticket: Ticket, now: datetime) -> SatisfactionSurvey | None:
    """Every way of resolving passes here (desk, portal, API, macro, problem ticket). Nothing is
    sent when the client switched the survey off, the customer has no working address, the
    ticket was merged into another, or the customer already answered for this ticket."""
    tenant = db.session.get_one(Tenant, ticket.tenant_id)
    if not tenant.csat_enabled or ticket.merged_into_id is not None:
        return None
    contact = _reachable(ticket)
    if contact is None:
        return None
    survey = survey_of(ticket)
    if survey is not None and survey.answered_at is not None:
        return None
    if survey is None:
        survey = SatisfactionSurvey(
            tenant_id=ticket.tenant_id, ticket_id=ticket.id, token=secrets.token_urlsafe(32)
        )
        db.session.add(survey)
    survey.contact_id = contact.id
    survey.language = ticket.language
    survey.sent_at = now
    db.session.flush()
    send_email(
        **_survey_mail(tenant, ticket, survey, str(contact.email)),
        # A second resolution of an unanswered survey asks once more; the same one twice, never.
        dedupe_key=f"csat:{ticket.tenant_id}:{survey.id}:{now.isoformat()}",
    )
    tickets.record_event(ticket, "satisfaction_sent", to=contact.email)
    return survey


def _survey_mail(tenant: Tenant, ticket: Ticket, survey: SatisfactionSurvey, to: str) -> dict[str, Any]:
    number = tickets.display_number(tenant, ticket)
    links = [
        (value, absolute_url("rating.rate", slug=tenant.slug, token=survey.token, rating=value))
        for value in RATINGS
    ]
    values = {
        "tenant": tenant,
        "ticket": ticket,
        "number": number,
        "links": links,
        "labels": RATING,
        "language": survey.language,
        "signature": tenant.text_for(tenant.signatures, survey.language)[0],
        "page_url": absolute_url("rating.page", slug=tenant.slug, token=survey.token),
    }
    with force_locale(survey.language):
        subject = _("[%(number)s] How satisfied are you with our help?", number=number)
        text = render_template("tickets/email/satisfaction.txt", **values)
        html = render_template("tickets/email/satisfaction.html", **values)
    sender = tenants.sender_of(tenant)
    return {
        "to": to,
        "subject": subject,
        "text": text,
        "html": html,
        "tenant_id": tenant.id,
        "sender": sender,
        "reply_to": sender,
        # Sent by a machine: out-of-office replies must not answer it (and reopen the ticket).
        "headers": {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
    }


def _customer(survey: SatisfactionSurvey) -> audit.Actor:
    """The history names the customer, not "anonymous", as the one who rated."""
    contact = db.session.get(Contact, survey.contact_id) if survey.contact_id else None
    label = (contact.name or contact.email or "") if contact else ""
    current = audit.current_actor()
    return audit.Actor(None, label or "customer", current.ip)


def answer(
    survey: SatisfactionSurvey, rating: int | None, comment: str | None, now: datetime | None = None
) -> bool:
    """Record the customer's rating (and comment; None keeps the one given before). A later
    answer replaces the earlier one and its time; the same answer again changes nothing, so a
    reloaded link does not fill the history. Returns whether anything changed."""
    errors: dict[str, object] = {}
    if rating not in RATINGS:
        errors["rating"] = _("Choose a rating from 1 to 5.")
    text = None if comment is None else comment.strip()
    if text is not None and len(text) > MAX_COMMENT:
        errors["comment"] = _("At most %(num)d characters.", num=MAX_COMMENT)
    if errors:
        raise ValidationFailed(fields=errors)
    new_comment = survey.comment if text is None else (text or None)
    if survey.answered_at is not None and (rating, new_comment) == (survey.rating, survey.comment):
        return False
    ticket = db.session.get_one(Ticket, survey.ticket_id)
    old = survey.rating
    survey.rating, survey.comment, survey.answered_at = rating, new_comment, now or utcnow()
    with audit.acting_as(_customer(survey)):
        tickets.record_event(ticket, "satisfaction", rating=rating, old=old, comment=bool(new_comment))
    db.session.flush()
    return True
