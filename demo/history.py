"""A generated history of the last four months for each demo client, so that every dashboard has
something to show: a few thousand tickets with their answers, waits, escalations to the client's
teams, surveys, knowledge-base searches and time entries, then the daily rollups rebuilt over it.

The history is seeded (the same `now` gives the same rows) and plausible rather than uniform:
more contacts on weekdays and in office hours, some at night and on weekends (the desk is 24/7),
the client's own languages, channels and topics; answers mostly in time, some late; most
resolved at the first level, some after the customer's reply, about a sixth escalated to the
client's second level and a few on to a department; the last days' tickets still open, plus a
few old ones stuck, as a real backlog.

Rows are inserted in bulk, bypassing the services: nothing is mailed, enqueued or billed (the
demo's invoice comes from demo/billing.py's own ledger; generating usage rows for the history
would double it). Ticket numbers continue the client's counter, so new tickets never collide.
A client that already has tickets from before the last two days keeps what it has: loading the
demo again changes nothing.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from agents import routing
from core import tenancy
from core.extensions import db
from core.models_base import utcnow
from demo import history_desk
from demo import history_text as text
from demo.history_desk import bulk
from demo.history_rows import Esc, Story, pick
from demo.history_story import live
from escalations.models import Escalation
from knowledge.models import ArticleUse, KbSearch
from reports import rollup
from sla.models import SlaEvent
from tenants.models import Tenant
from tickets.models import Message, SatisfactionSurvey, Ticket, TicketCounter, TimeEntry

DAYS = 120
# Contacts on an average weekday, the languages and channels they come in.
PROFILES: dict[str, dict[str, Any]] = {
    "alpina": {
        "per_day": 24,
        "languages": {"de": 76, "en": 24},
        "channels": {"email": 38, "phone": 30, "webform": 12, "chat": 16, "fax": 4},
        "phone": "+41 79 {:03d} {:02d} {:02d}",
    },
    "lumiere": {
        "per_day": 16,
        "languages": {"fr": 68, "it": 22, "en": 10},
        "channels": {"email": 40, "phone": 34, "webform": 11, "chat": 15},
        "phone": "+33 6 {:02d} {:02d} {:02d} 00",
        # A storm six weeks ago: a day of outage calls on top of the usual.
        "spike": (44, 40, "outage"),
    },
}
WEEKDAY = (1.2, 1.05, 1.0, 1.0, 0.9, 0.35, 0.25)
HOURS_WEEKDAY = (2, 1, 1, 1, 1, 3, 6, 12, 18, 20, 19, 17, 12, 14, 17, 16, 14, 11, 8, 6, 5, 4, 3, 2)
HOURS_WEEKEND = (3, 2, 1, 1, 1, 2, 3, 5, 8, 10, 11, 11, 10, 10, 10, 9, 8, 7, 6, 5, 5, 4, 3, 3)


def seed(by_slug: dict[str, Tenant], now: datetime | None = None) -> dict[str, int]:
    """Generate the history of each demo client that has none; the ticket count per client.
    The caller commits."""
    now = now or utcnow()
    made: dict[str, int] = {}
    with tenancy.system_scope():
        for slug, tenant in sorted(by_slug.items()):
            if slug not in PROFILES or _has_history(tenant.id, now):
                continue
            made[slug] = _generate(tenant, now)
        if made:
            routing.recount()  # the agents' open tickets include the backlog
        db.session.flush()
    return made


def _has_history(tenant_id: int, now: datetime) -> bool:
    oldest = db.session.scalar(select(func.min(Ticket.created_at)).where(Ticket.tenant_id == tenant_id))
    return oldest is not None and oldest < now - timedelta(days=2)


def _generate(tenant: Tenant, now: datetime) -> int:
    profile = PROFILES[tenant.slug]
    rng = random.Random(f"history:{tenant.slug}")  # noqa: S311  (repeatable demo data)
    zone = ZoneInfo(tenant.timezone)
    today = now.astimezone(zone).date()
    first = today - timedelta(days=DAYS)
    desk = history_desk.load(tenant, now, rng, first, profile["phone"])
    topics = text.TOPICS[tenant.slug]
    stories = [
        live(desk, rng, created, topics, profile["languages"], profile["channels"])
        for created in _arrivals(rng, profile, zone, first, now)
    ]
    if "spike" in profile:  # the storm's extra calls are all about the outage
        days_ago, count, category = profile["spike"]
        outage = [t for t in topics if t.category == category]
        day = today - timedelta(days=days_ago)
        for _n in range(count):
            created = _at(rng, zone, day, HOURS_WEEKDAY)
            stories.append(live(desk, rng, created, outage, profile["languages"], {"phone": 3, "email": 1}))
    stories.sort(key=lambda story: story.ticket["created_at"])
    _insert(tenant, stories)
    _searches(tenant, rng, zone, first, now)
    rollup.rebuild(tenant.id, first, today, now)
    return len(stories)


def _at(rng: random.Random, zone: ZoneInfo, day: date, hours: tuple[int, ...]) -> datetime:
    hour = rng.choices(range(24), weights=hours)[0]
    local = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), zone)
    return local.astimezone(ZoneInfo("UTC"))


def _arrivals(
    rng: random.Random, profile: dict[str, Any], zone: ZoneInfo, first: date, now: datetime
) -> list[datetime]:
    """When contacts came in: per day by weekday, a slow growth and some noise; per hour as the
    day's curve (flatter on weekends)."""
    out = []
    for n in range(DAYS + 1):
        day = first + timedelta(days=n)
        weekday = day.weekday()
        trend = 0.9 + 0.15 * n / DAYS
        count = round(profile["per_day"] * WEEKDAY[weekday] * trend * rng.lognormvariate(0, 0.18))
        hours = HOURS_WEEKDAY if weekday < 5 else HOURS_WEEKEND
        out += [at for at in (_at(rng, zone, day, hours) for _n in range(count)) if at <= now]
    return out


# --- writing it -------------------------------------------------------------------------------


def _insert(tenant: Tenant, stories: list[Story]) -> None:
    counter = db.session.get(TicketCounter, tenant.id)
    if counter is None:
        counter = TicketCounter(tenant_id=tenant.id, last_number=1000)
        db.session.add(counter)
        db.session.flush()
    start = counter.last_number
    for n, story in enumerate(stories, start=1):
        story.ticket["number"] = start + n
    bulk(Ticket, [story.ticket for story in stories])
    db.session.execute(
        update(TicketCounter)
        .where(TicketCounter.tenant_id == tenant.id)
        .values(last_number=start + len(stories))
        .execution_options(synchronize_session=False)
    )
    db.session.expire(counter)
    by_number = dict(
        db.session.execute(
            select(Ticket.number, Ticket.id).where(Ticket.tenant_id == tenant.id, Ticket.number > start)
        ).all()
    )
    ids = [by_number[story.ticket["number"]] for story in stories]
    common = {"tenant_id": tenant.id}
    # Escalations first, by tier: a forwarded one is the `previous` of the next.
    tier = [
        (esc, row, ticket_id)
        for story, ticket_id in zip(stories, ids, strict=True)
        for esc, row in story.escalations
    ]
    while tier:
        now_rows = [
            (esc, row, t) for esc, row, t in tier if esc.previous is None or esc.previous.id is not None
        ]
        last_id = db.session.scalar(select(func.max(Escalation.id))) or 0
        bulk(
            Escalation,
            [
                {**common, **row, "ticket_id": t, "previous_id": esc.previous.id if esc.previous else None}
                for esc, row, t in now_rows
            ],
        )
        made = db.session.execute(
            select(Escalation.id, Escalation.ticket_id, Escalation.team_id, Escalation.created_at).where(
                Escalation.tenant_id == tenant.id, Escalation.id > last_id
            )
        )
        key = {(t, team_id, created): esc_id for esc_id, t, team_id, created in made}
        for esc, _row, t in now_rows:
            esc.id = key[(t, esc.team.id, esc.created_at)]
        tier = [entry for entry in tier if entry[0].id is None]
    messages, events, surveys, entries, uses = [], [], [], [], []
    for story, ticket_id in zip(stories, ids, strict=True):
        for message in story.messages:
            handoff: Esc | None = message.pop("_esc", None)
            data = (
                {"escalation_id": handoff.id, "team_id": handoff.team.id, "level": handoff.team.level}
                if handoff
                else {}
            )
            messages.append(
                {
                    "author_user_id": None,
                    "author_contact_id": None,
                    "email_message_id": None,
                    **message,
                    **common,
                    "ticket_id": ticket_id,
                    "data": data,
                }
            )
        events += [
            {**common, **row, "ticket_id": ticket_id, "escalation_id": esc.id}
            for esc, row in story.sla_events
        ]
        if story.survey:
            surveys.append(
                {**common, **story.survey, "ticket_id": ticket_id, "contact_id": story.ticket["contact_id"]}
            )
        if story.time_entry:
            entries.append({**common, **story.time_entry, "ticket_id": ticket_id})
        if story.article_use:
            uses.append({**common, **story.article_use, "ticket_id": ticket_id})
    for model, rows in (
        (Message, messages),
        (SlaEvent, events),
        (SatisfactionSurvey, surveys),
        (TimeEntry, entries),
        (ArticleUse, uses),
    ):
        bulk(model, rows)


def _searches(tenant: Tenant, rng: random.Random, zone: ZoneInfo, first: date, now: datetime) -> None:
    """Agents and help-center visitors searching the knowledge base; the misses are its gaps."""
    weights = PROFILES[tenant.slug]["languages"]
    rows = []
    for n in range(DAYS + 1):
        day = first + timedelta(days=n)
        for _n in range(rng.randint(6, 14) if day.weekday() < 5 else rng.randint(1, 5)):
            at = _at(rng, zone, day, HOURS_WEEKDAY)
            language = pick(rng, weights)
            options = text.SEARCHES[language]
            query, found = rng.choices(options, weights=[5 if hit else 1 for _q, hit in options])[0]
            if at <= now:
                rows.append(
                    {
                        "tenant_id": tenant.id,
                        "query": query,
                        "language": language,
                        "source": rng.choice(("desk", "desk", "help_center")),
                        "hits": rng.randint(1, 4) if found else 0,
                        "created_at": at,
                    }
                )
    bulk(KbSearch, rows)
