"""The records around a generated demo ticket (demo/history.py): messages, escalations as they
stand, the team clocks that already warned or breached, the survey, the time entry.

A ticket's life is first simulated whole (`Life`, demo/history_story.py), then cut at `now`:
only what happened before `now` becomes a row.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from demo import history_text as text
from escalations.handoff import as_text
from sla.calendar import Schedule, add_business_seconds
from sla.policies import DEFAULT_WARN_PERCENT
from tickets.sla import Terms

MINUTE, HOUR = 60.0, 3600.0
LIVE = ("phone", "chat")
INBOUND_KIND = {
    "email": "inbound",
    "webform": "inbound",
    "fax": "fax",
    "phone": "call_log",
    "chat": "chat_transcript",
}
RATINGS = (1, 2, 3, 4, 5)
RATING_WEIGHTS = {"good": (3, 3, 8, 28, 58), "late": (12, 12, 18, 30, 28)}
SURVEY_ANSWERED = 0.3
WARN_LEFT = (100 - DEFAULT_WARN_PERCENT) / 100  # the share of a team's target left at its warning


@dataclass
class TeamInfo:
    id: int
    name: str
    level: int
    ack_minutes: int
    resolve_minutes: int
    schedule: Schedule | None
    members: list[int]


@dataclass
class Desk:
    """Everything one client's history is made from, loaded once (demo/history.py)."""

    tenant_id: int
    slug: str
    zone: ZoneInfo
    language: str  # the client's default language: its teams read handoffs in it
    now: datetime
    terms: dict[str, Terms]  # by ticket category
    policy_ids: dict[str, int | None]
    l2: TeamInfo
    forward_to: TeamInfo | None  # where the second level sends what it cannot solve
    teams: dict[str, TeamInfo]
    day_agents: dict[str, list[tuple[int, int]]]  # language -> [(user id, weight)]
    night_agents: dict[str, list[int]]
    articles: dict[str, tuple[int, set[str]]]  # a title -> (article id, its languages)
    contacts: dict[str, list[int]]  # language -> contact ids
    surveys: bool


@dataclass
class Esc:
    """One handoff to a team, as it will have gone."""

    team: TeamInfo
    created_at: datetime
    created_by_id: int | None
    ack_due_at: datetime
    resolve_due_at: datetime
    acknowledged_at: datetime
    acknowledged_by_id: int | None
    closed_at: datetime
    status: str  # how it ends: forwarded or resolved
    outcome: str
    packet: dict[str, Any]
    previous: Esc | None = None
    id: int | None = None  # once inserted


@dataclass
class Life:
    """A ticket's whole life, before it is cut at `now`."""

    topic: text.Topic
    created: datetime
    language: str
    channel: str
    priority: str
    agent: int | None
    answered: datetime
    fr_due: datetime
    res_due: datetime
    res_due_after_wait: datetime  # the resolution due time once the customer has replied
    waits: bool  # the agent asked the customer something first
    reply_at: datetime | None  # the customer's reply (None: they never replied)
    chain: list[Esc]
    resolved_at: datetime | None  # None: stuck in the backlog
    article: tuple[int, set[str]] | None  # the article that solved it
    spent: timedelta


@dataclass
class Story:
    """The rows of one ticket as it stands at `now` (ids filled in when inserted)."""

    ticket: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)  # "_esc" links a handoff to its Esc
    escalations: list[tuple[Esc, dict[str, Any]]] = field(default_factory=list)
    sla_events: list[tuple[Esc, dict[str, Any]]] = field(default_factory=list)
    survey: dict[str, Any] | None = None
    time_entry: dict[str, Any] | None = None
    article_use: dict[str, Any] | None = None


def pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def spread(rng: random.Random, median_seconds: float, sigma: float, low: float, high: float) -> timedelta:
    """A lognormal duration around its median, kept between `low` and `high` seconds."""
    seconds = rng.lognormvariate(math.log(median_seconds), sigma)
    return timedelta(seconds=min(max(seconds, low), high))


def records(desk: Desk, rng: random.Random, story: Story, life: Life, visible: list[Esc]) -> None:
    """Messages, handoffs, the escalations as they stand, their passed team clocks, the time entry,
    the survey and the article used: whatever of them happened before `now`."""
    now, ticket = desk.now, story.ticket
    language, agent, contact = life.language, ticket["assignee_id"], ticket["contact_id"]
    live_channel = life.channel in LIVE
    first = f"{text.GREETING[language]}\n\n{ticket['subject']}. {text.ASK[language]}"
    author = {"author_user_id": agent} if live_channel else {"author_contact_id": contact}
    story.messages.append(
        {"kind": INBOUND_KIND[life.channel], "body": first, "created_at": life.created, **author}
    )
    if ticket["first_response_at"] and not live_channel:
        story.messages.append(
            {
                "kind": "reply",
                "body": text.ANSWER[language],
                "created_at": life.answered,
                "author_user_id": agent,
            }
        )
    if life.reply_at and life.reply_at <= now:
        story.messages.append(
            {
                "kind": "inbound",
                "body": text.FOLLOW_UP[language],
                "created_at": life.reply_at,
                "author_contact_id": contact,
            }
        )
    for esc in visible:
        story.messages.append(
            {
                "kind": "handoff",
                "body": as_text(esc.packet, {}, desk.language),
                "created_at": esc.created_at,
                "author_user_id": esc.created_by_id,
                "_esc": esc,
            }
        )
        story.escalations.append((esc, _escalation_row(esc, now)))
        _passed_clocks(story, esc, now)
    resolved = ticket["resolved_at"]
    if resolved and (visible or life.reply_at or live_channel):
        by = visible[-1].acknowledged_by_id if visible else agent
        story.messages.append(
            {"kind": "reply", "body": text.ANSWER[language], "created_at": resolved, "author_user_id": by}
        )
    if ticket["first_response_at"] and agent:
        story.time_entry = {
            "user_id": agent,
            "source": "call" if life.channel == "phone" else "manual",
            "started_at": life.created if live_channel else life.answered - life.spent,
            "seconds": int(life.spent.total_seconds()),
            "note": "",
            "created_at": life.answered,
        }
    if resolved and desk.surveys:
        late = life.answered > life.fr_due or resolved > ticket["resolution_due_at"]
        late = late or any(esc.closed_at > esc.resolve_due_at for esc in life.chain)
        story.survey = _survey(rng, language, resolved, now, late)
    if ticket["kb_resolution"] and life.article:
        story.article_use = {
            "article_id": life.article[0],
            "user_id": agent,
            "kind": "inserted",
            "language": language,
            "created_at": resolved,
        }


def _escalation_row(esc: Esc, now: datetime) -> dict[str, Any]:
    acked, closed = esc.acknowledged_at <= now, esc.closed_at <= now
    return {
        "team_id": esc.team.id,
        "level": esc.team.level,
        "status": esc.status if closed else "acknowledged" if acked else "open",
        "packet": esc.packet,
        "urgent": esc.packet["urgency"] == "critical",
        "created_by_id": esc.created_by_id,
        "created_at": esc.created_at,
        "ack_due_at": esc.ack_due_at,
        "resolve_due_at": esc.resolve_due_at,
        "acknowledged_at": esc.acknowledged_at if acked else None,
        "acknowledged_by_id": esc.acknowledged_by_id if acked else None,
        "closed_at": esc.closed_at if closed else None,
        "closed_by_id": esc.acknowledged_by_id if closed else None,
        "outcome": esc.outcome if closed else None,
        "paged_user_id": None,
        "page_attempts": 0,
        "page_due_at": None,
    }


def _passed_clocks(story: Story, esc: Esc, now: datetime) -> None:
    """An escalation still open at `now` whose warning or breach time has passed gets the events
    the SLA sweep would have recorded, so the first sweep after loading mails nobody about the past."""
    if esc.closed_at <= now:
        return
    clocks = [("team_resolve", esc.resolve_due_at, esc.team.resolve_minutes)]
    if esc.acknowledged_at > now:
        clocks.append(("team_ack", esc.ack_due_at, esc.team.ack_minutes))
    for clock, due, minutes in clocks:
        warn = add_business_seconds(esc.team.schedule, due, -minutes * MINUTE * WARN_LEFT)
        for kind, at in (("warning", warn), ("breach", due)):
            if at <= now:
                row = {"clock": clock, "kind": kind, "due_at": due, "data": {"team_id": esc.team.id}}
                story.sla_events.append((esc, {**row, "created_at": at}))


def _survey(
    rng: random.Random, language: str, resolved: datetime, now: datetime, late: bool
) -> dict[str, Any]:
    """Asked when resolved; about a third answer, mostly with 4 or 5, less so after a late case."""
    sent = resolved + timedelta(minutes=1)
    answered = sent + spread(rng, 4 * HOUR, 1.2, 2 * MINUTE, 5 * 24 * HOUR)
    rating = comment = None
    if rng.random() < SURVEY_ANSWERED and answered <= now:
        rating = rng.choices(RATINGS, weights=RATING_WEIGHTS["late" if late else "good"])[0]
        if rng.random() < 0.3:
            good, bad = text.COMMENTS[language]
            comment = rng.choice(good if rating >= 4 else bad)
    return {
        "token": f"{rng.getrandbits(128):032x}",
        "language": language,
        "sent_at": sent,
        "rating": rating,
        "comment": comment,
        "answered_at": answered if rating else None,
    }
