"""A hand-made set of tickets whose figures are known by heart (see test_metrics.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.extensions import db
from escalations.models import Escalation, EscalationStatus
from sla.models import BusinessCalendar, SlaPolicy
from tenants.models import Tenant
from tests.factories import make_team, make_tenant
from tickets.models import SatisfactionSurvey, Ticket

ZONE = ZoneInfo("Europe/Zurich")
MONDAY = date(2026, 3, 2)


def at(day: date, hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=ZONE).astimezone(ZoneInfo("UTC"))


def _ticket(tenant: Tenant, number: int, **values: object) -> Ticket:
    ticket = Ticket(tenant_id=tenant.id, number=number, subject=f"Case {number}", **values)
    db.session.add(ticket)
    db.session.flush()
    return ticket


def build(slug: str = "gamma") -> Tenant:
    """Five tickets created on Monday 2 March 2026 (Zurich), four resolved on Tuesday.

    | # | channel | lang | outcome                         | first answer    | resolution        |
    |---|---------|------|---------------------------------|-----------------|-------------------|
    | 1 | email   | de   | FCR with an article, rated 5    | 10 min (met)    | 2 h (met)         |
    | 2 | phone   | de   | level 1 after a round trip, 2   | 45 min (missed) | 26 h (missed)     |
    | 3 | email   | en   | escalated to L2, resolved there | 5 min (met)     | 7 h (met)         |
    | 4 | chat    | en   | L2, forwarded to L3             | 29 min (met)    | 25 h (met)        |
    | 5 | email   | de   | still open, no answer           |                 |                   |

    Ticket 2 runs on a calendar open Monday to Friday 08:00-17:00: created 16:30, resolved
    Tuesday 18:30, so 26 h in calendar time and 9 h 30 min in business time.
    Escalations: #3 to L2 (acknowledged in 20 min of 60, resolved in 5 h of 3 days);
    #4 to L2 (acknowledged in 30 min, forwarded) and to L3 (acknowledged in 2 h of 60 min,
    resolved in 20 h of 3 days).
    """
    tenant = make_tenant(slug, languages=["de", "en"], timezone="Europe/Zurich")
    calendar = BusinessCalendar(
        tenant_id=tenant.id,
        name="Office",
        timezone="Europe/Zurich",
        hours={str(d): [["08:00", "17:00"]] for d in range(5)},
    )
    db.session.add(calendar)
    db.session.flush()
    policy = SlaPolicy(tenant_id=tenant.id, name="Office hours", calendar_id=calendar.id, targets={})
    db.session.add(policy)
    l2 = make_team(tenant, "Second level", level=2, ack_minutes=60, resolve_minutes=3 * 24 * 60)
    l3 = make_team(tenant, "IT", level=3, ack_minutes=60, resolve_minutes=3 * 24 * 60)
    tuesday = MONDAY + timedelta(days=1)
    common = {"status": "resolved", "category": "usage_question"}
    t1 = _ticket(
        tenant, 1, channel="email", language="de", **common,
        created_at=at(MONDAY, "09:00"), first_response_at=at(MONDAY, "09:10"),
        first_response_due_at=at(MONDAY, "09:30"), resolved_at=at(MONDAY, "11:00") + timedelta(days=1),
        resolution_due_at=at(tuesday, "17:00"), first_contact_resolution=True, kb_resolution=True,
        time_spent_seconds=300,
    )  # fmt: skip
    t2 = _ticket(
        tenant, 2, channel="phone", language="de", **common, sla_policy_id=policy.id,
        created_at=at(MONDAY, "16:30"), first_response_at=at(MONDAY, "17:15"),
        first_response_due_at=at(MONDAY, "17:00"), resolved_at=at(tuesday, "18:30"),
        resolution_due_at=at(tuesday, "16:30"), customer_round_trip=True, time_spent_seconds=900,
    )  # fmt: skip
    t3 = _ticket(
        tenant, 3, channel="email", language="en", **common, level=2, was_escalated=True, team_id=l2.id,
        created_at=at(MONDAY, "10:00"), first_response_at=at(MONDAY, "10:05"),
        first_response_due_at=at(MONDAY, "10:30"), resolved_at=at(MONDAY, "17:00") + timedelta(days=1),
        resolution_due_at=at(MONDAY, "10:00") + timedelta(days=3),
    )  # fmt: skip
    t4 = _ticket(
        tenant, 4, channel="chat", language="en", **common, level=3, was_escalated=True, team_id=l3.id,
        created_at=at(MONDAY, "12:00"), first_response_at=at(MONDAY, "12:29"),
        first_response_due_at=at(MONDAY, "12:30"), resolved_at=at(tuesday, "13:00"),
        resolution_due_at=at(MONDAY, "12:00") + timedelta(days=3),
    )  # fmt: skip
    _ticket(
        tenant, 5, channel="email", language="de", status="open", category="fault",
        created_at=at(MONDAY, "23:30"),
    )  # fmt: skip
    # t1 and t3 resolve on Tuesday too (the + 1 day above).
    t1.resolved_at = at(tuesday, "11:00")
    t3.resolved_at = at(tuesday, "17:00")

    def escalation(ticket: Ticket, team_id: int, level: int, start: datetime, ack: int, fix: int | None,
                   status: str) -> None:  # fmt: skip
        db.session.add(
            Escalation(
                tenant_id=tenant.id,
                ticket_id=ticket.id,
                team_id=team_id,
                level=level,
                status=status,
                packet={},
                created_at=start,
                ack_due_at=start + timedelta(minutes=60),
                resolve_due_at=start + timedelta(days=3),
                acknowledged_at=start + timedelta(minutes=ack),
                closed_at=start + timedelta(hours=fix) if fix is not None else start + timedelta(hours=1),
            )  # fmt: skip
        )

    escalation(t3, l2.id, 2, at(MONDAY, "12:00"), 20, 5, EscalationStatus.RESOLVED.value)
    escalation(t4, l2.id, 2, at(MONDAY, "13:00"), 30, None, EscalationStatus.FORWARDED.value)
    escalation(t4, l3.id, 3, at(MONDAY, "15:00"), 120, 20, EscalationStatus.RESOLVED.value)
    for ticket, rating in ((t1, 5), (t2, 2)):
        db.session.add(
            SatisfactionSurvey(
                tenant_id=tenant.id,
                ticket_id=ticket.id,
                token=f"{slug}-{ticket.id}",
                language="de",
                rating=rating,
                answered_at=at(tuesday, "20:00"),
            )  # fmt: skip
        )
    db.session.flush()
    return tenant
