"""The life of one generated demo ticket (demo/history.py), from the contact to the resolution,
then cut at `now`: what lies after it has not happened yet, which is where the open backlog of
the last days comes from.

Times follow the clients' own rules: due times come from the ticket's SLA policy and calendar
(tickets.sla.Terms), team clocks from the team's targets and calendar, and a wait for the
customer moves the resolution due time by the business time that was left, as tickets.sla does.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from typing import Any

from demo import history_text as text
from demo.history_rows import HOUR, LIVE, MINUTE, Desk, Esc, Life, Story, TeamInfo, pick, records, spread
from sla.calendar import add_business_seconds, business_seconds_between

PRIORITIES = {
    "outage": {"urgent": 25, "high": 50, "normal": 25},
    "complaint_return": {"high": 30, "normal": 65, "low": 5},
    "fault": {"urgent": 3, "high": 20, "normal": 67, "low": 10},
}
OTHER_PRIORITIES = {"urgent": 1, "high": 7, "normal": 75, "low": 17}
# Median minutes to the first written answer, by priority (a lognormal spread around it).
ANSWER_MEDIAN = {"urgent": 8, "high": 18, "normal": 40, "low": 80}
NIGHT_FROM, DAY_FROM = 18, 6  # the demo's shift pattern (demo/staffing.py), local hours
BUSY = 0.04  # answers that come after their due time anyway
WAITS = 0.22  # the agent needs something from the customer first
STUCK = 0.004  # older tickets left in the backlog (the customer never replied, or nobody closed it)
KB = 0.6  # a topic with an article in the ticket's language is solved with it this often
LATE_ACK, LATE_FIX = 0.12, 0.1
FORWARD = 0.06  # second level to a department, unless the topic says otherwise


def _agent(desk: Desk, rng: random.Random, language: str, at: datetime) -> tuple[int | None, datetime | None]:
    """Who takes a contact at `at`, and the earliest they can answer: by night the night shift if
    it speaks the language, else the next morning's day shift (Italian at night waits)."""
    local = at.astimezone(desk.zone)
    night = local.hour >= NIGHT_FROM or local.hour < DAY_FROM
    if night and desk.night_agents.get(language):
        return rng.choice(desk.night_agents[language]), None
    day = desk.day_agents.get(language) or desk.day_agents.get(desk.language) or []
    if not day:
        return None, None
    user_id = rng.choices([u for u, _w in day], weights=[w for _u, w in day])[0]
    if not night:
        return user_id, None
    morning = local.date() + timedelta(days=1 if local.hour >= NIGHT_FROM else 0)
    return user_id, datetime.combine(morning, time(DAY_FROM), desk.zone).astimezone(at.tzinfo)


def _handoff(
    rng: random.Random, team: TeamInfo, at: datetime, by: int | None, packet: dict[str, Any]
) -> tuple[Esc, float]:
    """One handoff to `team` at `at`: acknowledged mostly within the team's target, and the
    business seconds that took. Its end is filled in by the caller."""
    ack_due = add_business_seconds(team.schedule, at, team.ack_minutes * MINUTE)
    resolve_due = add_business_seconds(team.schedule, at, team.resolve_minutes * MINUTE)
    share = rng.uniform(1.1, 4.0) if rng.random() < LATE_ACK else rng.uniform(0.05, 0.9)
    ack_seconds = team.ack_minutes * MINUTE * share
    ack_at = add_business_seconds(team.schedule, at, ack_seconds)
    acker = rng.choice(team.members) if team.members else by
    esc = Esc(team, at, by, ack_due, resolve_due, ack_at, acker, ack_at, "resolved", "", packet)
    return esc, ack_seconds


def _chain(desk: Desk, rng: random.Random, topic: text.Topic, start: datetime, by: int | None,
           packet: dict[str, Any]) -> list[Esc]:  # fmt: skip
    """The handoffs: to the team the client's rules pick for the topic (else the second level),
    maybe forwarded on to a department, resolved by the last one."""
    team = desk.teams.get(topic.team or "") or desk.l2
    chain: list[Esc] = []
    at = start
    while True:
        esc, ack_seconds = _handoff(rng, team, at, by, packet)
        esc.previous = chain[-1] if chain else None
        chain.append(esc)
        target = desk.forward_to
        if team.level == 2 and target is not None and rng.random() < topic.extra.get("forward", FORWARD):
            esc.closed_at = add_business_seconds(
                team.schedule, esc.acknowledged_at, rng.uniform(0.5, 8) * HOUR
            )
            esc.status, esc.outcome = "forwarded", text.FORWARD[desk.slug]
            team, at, by = target, esc.closed_at, esc.acknowledged_by_id
            continue
        share = rng.uniform(1.05, 1.8) if rng.random() < LATE_FIX else rng.uniform(0.03, 0.6)
        fix = max(team.resolve_minutes * MINUTE * share, ack_seconds + 10 * MINUTE)
        esc.closed_at = add_business_seconds(team.schedule, at, fix)
        esc.outcome = text.OUTCOME[desk.slug]
        return chain


def _packet(desk: Desk, topic: text.Topic, language: str, priority: str) -> dict[str, Any]:
    return {
        "summary": topic.subjects.get(desk.language) or topic.subjects[language],
        "reported": f"{topic.subjects[language]}. {text.ASK[language]}",
        "tried": text.TRIED[language],
        "urgency": {"urgent": "critical", "high": "high", "normal": "medium"}.get(priority, "low"),
        "impact": "one",
        "availability": text.AVAILABILITY[language],
        "articles": [],
    }


def live(desk: Desk, rng: random.Random, created: datetime, topics: list[text.Topic],
         languages: dict[str, int], channels: dict[str, int]) -> Story:  # fmt: skip
    """One ticket's whole life from `created`, cut at `desk.now`."""
    topic = topics[rng.choices(range(len(topics)), weights=[t.weight for t in topics])[0]]
    language, channel = pick(rng, languages), pick(rng, channels)
    priority = pick(rng, PRIORITIES.get(topic.category, OTHER_PRIORITIES))
    terms = desk.terms[topic.category]
    fr_due = terms.due("first_response", priority, created)
    res_due = terms.due("resolution", priority, created)
    agent, not_before = _agent(desk, rng, language, created)
    handle = spread(rng, 7 * MINUTE, 0.5, 2 * MINUTE, 40 * MINUTE)
    if channel in LIVE and not_before is None:  # picked up while the customer is on the line
        answered = created + timedelta(seconds=rng.uniform(20, 240))
    else:
        answered = created + spread(rng, ANSWER_MEDIAN[priority] * MINUTE, 0.9, 2 * MINUTE, 3 * 24 * HOUR)
        if not_before is not None:
            answered = max(answered, not_before + timedelta(minutes=rng.uniform(2, 50)))
        if rng.random() < BUSY:
            answered = max(answered, fr_due + timedelta(minutes=rng.uniform(10, 180)))
    escalated = rng.random() < topic.escalate
    waits = not escalated and rng.random() < WAITS
    stuck = created < desk.now - timedelta(days=7) and rng.random() < STUCK
    article = desk.articles.get(topic.article or "")
    if article is None or language not in article[1] or escalated or rng.random() >= KB:
        article = None
    spent = handle if channel in LIVE else timedelta(minutes=rng.uniform(4, 14))
    chain: list[Esc] = []
    reply_at: datetime | None = None
    resolved: datetime | None
    if escalated:
        start = answered + spread(rng, 40 * MINUTE, 0.8, 3 * MINUTE, 6 * HOUR)
        chain = _chain(desk, rng, topic, start, agent, _packet(desk, topic, language, priority))
        resolved = chain[-1].closed_at
        spent += timedelta(minutes=rng.uniform(8, 20))
    elif waits:
        reply_at = None if stuck else answered + spread(rng, 16 * HOUR, 1.0, 20 * MINUTE, 9 * 24 * HOUR)
        resolved = reply_at + spread(rng, 2 * HOUR, 1.0, 5 * MINUTE, 3 * 24 * HOUR) if reply_at else None
        spent += timedelta(minutes=rng.uniform(3, 10))
    else:
        closing = handle if channel in LIVE else timedelta(seconds=rng.uniform(0, 120))
        resolved = None if stuck else answered + closing
    after_wait = res_due
    if reply_at is not None:  # the clock stood still while the customer had the ball
        left = business_seconds_between(terms.schedule, answered, res_due)
        after_wait = add_business_seconds(terms.schedule, reply_at, max(left, 0.0))
    life = Life(
        topic, created, language, channel, priority, agent, answered, fr_due, res_due, after_wait,
        waits, reply_at, chain, resolved, article, spent,
    )  # fmt: skip
    return _cut(desk, rng, life)


def _status(life: Life, now: datetime, visible: list[Esc], closed_at: datetime | None) -> str:
    if life.resolved_at is not None and life.resolved_at <= now:
        return "closed" if closed_at and closed_at <= now else "resolved"
    if visible:
        return "escalated"
    if life.answered > now:
        return "new"
    if life.waits and (life.reply_at is None or life.reply_at > now):
        return "pending_customer"
    return "open"


def _cut(desk: Desk, rng: random.Random, life: Life) -> Story:
    """The ticket's row as it stands at `desk.now`, and the records around it."""
    now, terms = desk.now, desk.terms[life.topic.category]
    visible = [esc for esc in life.chain if esc.created_at <= now]
    closed_at = None
    if life.resolved_at and life.resolved_at < now - timedelta(days=10) and rng.random() < 0.4:
        closed_at = life.resolved_at + timedelta(days=rng.uniform(2, 9))
    status = _status(life, now, visible, closed_at)
    answered, resolved = life.answered <= now, status in ("resolved", "closed")
    replied = life.reply_at is not None and life.reply_at <= now
    res_clock = life.res_due_after_wait if replied else life.res_due
    next_due = None
    if replied and life.reply_at and not resolved:  # the customer wrote back: an answer is owed
        next_due = terms.due("next_response", life.priority, life.reply_at)
    due_at = check_at = paused = None
    if status in ("new", "open", "escalated"):
        clocks = [("resolution", res_clock)] + ([] if answered else [("first_response", life.fr_due)])
        clocks += [("next_response", next_due)] if next_due else []
        due_at = min(due for _c, due in clocks)
        upcoming = []  # as tickets.sla.next_check: the next warning or breach still to come
        for clock, due in clocks:
            warn = terms.warn_at(clock, life.priority, due)
            upcoming += [warn] if warn > now else [due] if due > now else []
        check_at = min(upcoming, default=None)
    else:
        paused = life.answered if status == "pending_customer" else life.resolved_at
    moments = [life.created, life.answered, life.reply_at, life.resolved_at, closed_at]
    moments += [esc.created_at for esc in visible]
    ticket = {
        "tenant_id": desk.tenant_id,
        "subject": life.topic.subjects[life.language],
        "status": status,
        "priority": life.priority,
        "category": life.topic.category,
        "channel": life.channel,
        "language": life.language,
        "level": visible[-1].team.level if visible else 1,
        "team_id": visible[-1].team.id if visible else None,
        "assignee_id": life.agent if answered else None,
        "contact_id": rng.choice(desk.contacts[life.language]) if desk.contacts.get(life.language) else None,
        "organization_id": None,
        "parent_id": None,
        "merged_into_id": None,
        "tags": [],
        "time_spent_seconds": int(life.spent.total_seconds()) if answered else 0,
        "first_contact_resolution": resolved and not visible and not life.waits,
        "customer_round_trip": life.waits and answered,
        "was_escalated": bool(visible),
        "kb_article_id": life.article[0] if life.article and resolved else None,
        "kb_resolution": bool(life.article) and resolved,
        "created_at": life.created,
        "updated_at": max(moment for moment in moments if moment and moment <= now),
        "first_response_at": life.answered if answered else None,
        "resolved_at": life.resolved_at if resolved else None,
        "closed_at": closed_at if status == "closed" else None,
        "first_response_due_at": life.fr_due,
        "resolution_due_at": res_clock,
        "due_at": due_at,
        "next_response_due_at": next_due,
        "sla_paused_at": paused,
        "sla_policy_id": desk.policy_ids[life.topic.category],
        "sla_check_at": check_at,
    }
    story = Story(ticket)
    records(desk, rng, story, life, visible)
    return story
