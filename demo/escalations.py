"""The demo clients' escalation paths: teams and departments, the rules that pick them, and the
demo ticket that waits at Alpina's second level (escalated with a full handoff packet)."""

from __future__ import annotations

from sqlalchemy import select

from core import tenancy
from core.auth.models import User
from core.extensions import db
from demo import oncall
from escalations import routing, teams
from escalations import services as escalations
from escalations.models import Team
from sla.models import BusinessCalendar
from tenants.models import Tenant
from tickets.models import Category, Channel, InboundRecord, Ticket

ESCALATED_KEY = "demo-1"
PACKET = {
    "summary": "Geschirrspüler startet nicht, Anzeige blinkt rot ohne Fehlercode.",
    "reported": "Seit dem Stromausfall gestern startet das Gerät nicht mehr; die Anzeige blinkt rot.",
    "tried": "Kunde hat Gerät aus- und eingeschaltet, Sieb gereinigt. Anzeige blinkt weiter rot, kein "
    "Fehlercode. Bitte um Einschätzung durch den 2nd Level.",
    "urgency": "medium",
    "impact": "one",
    "availability": "Werktags 8–12 Uhr per E-Mail oder Telefon.",
}
# name, level, e-mail, member e-mails
TEAMS = {
    "alpina": [
        (
            "2nd-Level Kundendienst",
            2,
            "kundendienst@alpina.example",
            ["it@alpina.example", "technik@alpina.example"],
        ),
        ("Technik", 3, "technik@alpina.example", ["technik@alpina.example"]),
        ("Buchhaltung", 3, "buchhaltung@alpina.example", ["admin@alpina.example"]),
    ],
    "lumiere": [
        (
            "Support niveau 2",
            2,
            "niveau2@lumiere.example",
            ["compta@lumiere.example", "admin@lumiere.example"],
        ),
        ("Comptabilité", 3, "compta@lumiere.example", ["compta@lumiere.example"]),
    ],
}
# team name -> (categories, keywords)
RULES = {
    "alpina": [("Buchhaltung", [Category.BILLING.value], []), ("Technik", [], ["Firmware", "App", "WLAN"])],
    "lumiere": [("Comptabilité", [Category.BILLING.value], ["facture"])],
}


def _users(emails: list[str]) -> list[int]:
    return list(db.session.scalars(select(User.id).where(User.email.in_(emails))))


def seed(by_slug: dict[str, Tenant]) -> dict[str, dict[str, Team]]:
    """The teams and rules (idempotent: an existing team of the same name is left as it is)."""
    made: dict[str, dict[str, Team]] = {}
    with tenancy.system_scope():
        for slug, rows in TEAMS.items():
            tenant = by_slug[slug]
            existing = {team.name: team for team in teams.teams_of(tenant.id)}
            # The client's business hours (demo/sla.py): outside them, urgent escalations page.
            calendar_id = db.session.scalar(
                select(BusinessCalendar.id)
                .where(BusinessCalendar.tenant_id == tenant.id)
                .order_by(BusinessCalendar.id)
            )
            made[slug] = dict(existing)
            for name, level, email, members in rows:
                if name in existing:
                    continue
                made[slug][name] = teams.save_team(
                    tenant.id,
                    teams.TeamInput(
                        name=name,
                        level=level,
                        email=email,
                        member_ids=_users(members),
                        calendar_id=calendar_id,
                    ),
                )
            first = made[slug][rows[0][0]]
            oncall.seed(
                first,
                list(db.session.scalars(select(User).where(User.email.in_(rows[0][3])).order_by(User.id))),
            )
            if not routing.rules_of(tenant.id):
                for team_name, categories, keywords in RULES[slug]:
                    rule = routing.RuleInput(
                        team_id=made[slug][team_name].id, categories=categories, keywords=keywords
                    )
                    routing.save_rule(tenant.id, rule)
        db.session.flush()
    return made


def escalate(by_slug: dict[str, Tenant]) -> None:
    """After the demo contacts became tickets: the first one waits at Alpina's second level."""
    with tenancy.system_scope():
        tenant = by_slug["alpina"]
        ticket = db.session.scalar(
            select(Ticket)
            .join(InboundRecord, InboundRecord.ticket_id == Ticket.id)
            .where(
                InboundRecord.tenant_id == tenant.id,
                InboundRecord.channel == Channel.WEBFORM.value,
                InboundRecord.external_id == ESCALATED_KEY,
            )
        )
        if ticket is None or ticket.was_escalated:
            return
        agent = db.session.scalar(select(User).where(User.email == "anna@firstline.example"))
        team = db.session.scalar(select(Team).where(Team.tenant_id == tenant.id, Team.level == 2))
        if agent is None or team is None:
            return
        escalations.escalate(ticket, agent, team.id, PACKET, tell_customer=True)
        db.session.flush()
