"""What happened on each local day of one client, read from the raw records.

Every event (a ticket created, answered first, resolved; an escalation created, acknowledged,
resolved; a survey answered; a knowledge-base search) is counted on its local day into a row for
the day in total (`dim` "all") and one row per dimension value it carries. The rollup stores
these rows; a filtered report collects them on the fly with the filter applied. Both are summed
by reports.metrics, which is why rolled-up and raw figures agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select

from core.extensions import db
from escalations.models import Escalation, EscalationStatus, Team
from knowledge.models import KbSearch
from reports import histogram
from reports.models import COUNTERS
from sla.calendar import Schedule, business_seconds_between
from sla.models import SlaPolicy
from tenants.models import Tenant
from tickets.models import SatisfactionSurvey, Ticket
from tickets.sla import calendar_schedule

DIMENSIONS = ("channel", "language", "category", "team", "agent")
ALL = "all"

# The duration histograms a row keeps: first response, resolution, team acknowledge and team
# resolution, each in calendar and in business time.
HISTOGRAMS = ("frt_cal", "frt_biz", "res_cal", "res_biz", "ack_cal", "ack_biz", "fix_cal", "fix_biz")
# Rows that keep histograms: the days in total and the client teams (their times are shown);
# per channel, language, category and agent only counters are read, so none are kept there.
HISTOGRAM_DIMENSIONS = (ALL, "team")


@dataclass(frozen=True)
class Filters:
    """The report's filters; None is "any". Team and agent are ids (as text, like the rows' keys)."""

    channel: str | None = None
    language: str | None = None
    category: str | None = None
    team: str | None = None
    agent: str | None = None

    def active(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}

    def __bool__(self) -> bool:
        return bool(self.active())

    def matches(self, dims: dict[str, str]) -> bool:
        return all(dims.get(dim) == value for dim, value in self.active().items())


@dataclass
class Row:
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    hours: list[int] = field(default_factory=lambda: [0] * 24)
    ratings: list[int] = field(default_factory=lambda: [0] * 5)
    hist: dict[str, histogram.Histogram] = field(default_factory=dict)

    def merge(self, other: Row) -> None:
        for name, value in other.counters.items():
            self.counters[name] = self.counters.get(name, 0) + value
        self.hours = [a + b for a, b in zip(self.hours, other.hours, strict=True)]
        self.ratings = [a + b for a, b in zip(self.ratings, other.ratings, strict=True)]
        for name, hist in other.hist.items():
            histogram.merge(self.hist.setdefault(name, {}), hist)


RowKey = tuple[int, date, str, str]  # tenant id, local day, dimension ("all" or one), key
Rows = dict[RowKey, Row]


def window(zone: ZoneInfo, first: date, last: date) -> tuple[datetime, datetime]:
    """The UTC instants from local midnight of `first` to local midnight after `last`."""
    start = datetime.combine(first, time(), zone).astimezone(ZoneInfo("UTC"))
    end = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(ZoneInfo("UTC"))
    return start, end


class Collector:
    """Counts events into rows, keeping only those that match the filters."""

    def __init__(self, tenant_id: int, zone: ZoneInfo, filters: Filters | None = None) -> None:
        self.tenant_id = tenant_id
        self.zone = zone
        self.filters = filters or Filters()
        self.rows: Rows = {}

    def _rows(self, day: date, dims: dict[str, str]) -> Iterator[tuple[str, Row]]:
        keys = [(ALL, "")] + [(dim, dims[dim]) for dim in DIMENSIONS if dims.get(dim)]
        for dim, key in keys:
            found = self.rows.get((self.tenant_id, day, dim, key))
            if found is None:
                found = self.rows[(self.tenant_id, day, dim, key)] = Row()
            yield dim, found

    def event(
        self,
        at: datetime,
        dims: dict[str, str],
        counts: dict[str, int],
        durations: dict[str, float] | None = None,
        *,
        hour: bool = False,
        rating: int | None = None,
    ) -> None:
        if not self.filters.matches(dims):
            return
        local = at.astimezone(self.zone)
        for dim, row in self._rows(local.date(), dims):
            for name, value in counts.items():
                row.counters[name] += value
            if dim in HISTOGRAM_DIMENSIONS:
                for name, seconds in (durations or {}).items():
                    histogram.add(row.hist.setdefault(name, {}), seconds)
            if hour:
                row.hours[local.hour] += 1
            if rating is not None and 1 <= rating <= 5:
                row.ratings[rating - 1] += 1


class _Calendars:
    """Each policy's and team's calendar, compiled once per collection."""

    def __init__(self, tenant_id: int) -> None:
        self.tenant_id = tenant_id
        policies = select(SlaPolicy.id, SlaPolicy.calendar_id).where(SlaPolicy.tenant_id == tenant_id)
        teams = select(Team.id, Team.calendar_id).where(Team.tenant_id == tenant_id)
        self.policy_calendar = dict(db.session.execute(policies).all())
        self.team_calendar = dict(db.session.execute(teams).all())
        self._schedules: dict[int | None, Schedule | None] = {None: None}

    def _schedule(self, calendar_id: int | None) -> Schedule | None:
        if calendar_id not in self._schedules:
            self._schedules[calendar_id] = calendar_schedule(self.tenant_id, calendar_id)
        return self._schedules[calendar_id]

    def of_policy(self, policy_id: int | None) -> Schedule | None:
        return self._schedule(self.policy_calendar.get(policy_id)) if policy_id else None

    def of_team(self, team_id: int) -> Schedule | None:
        return self._schedule(self.team_calendar.get(team_id))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _ticket_dims(row: Any) -> dict[str, str]:
    return {
        "channel": row.channel,
        "language": row.language,
        "category": row.category,
        "team": _text(row.team_id),
        "agent": _text(row.assignee_id),
    }


def ticket_filter(query: Select[Any], filters: Filters) -> Select[Any]:
    columns = {
        "channel": Ticket.channel,
        "language": Ticket.language,
        "category": Ticket.category,
        "team": Ticket.team_id,
        "agent": Ticket.assignee_id,
    }
    for dim, value in filters.active().items():
        query = query.where(columns[dim] == (int(value) if dim in ("team", "agent") else value))
    return query


def _tickets(tenant_id: int, column: Any, start: datetime, end: datetime, filters: Filters) -> Iterable[Any]:
    top_level = (
        select(func.max(Escalation.level))
        .where(Escalation.tenant_id == Ticket.tenant_id, Escalation.ticket_id == Ticket.id)
        .correlate(Ticket)
        .scalar_subquery()
    )
    query = select(
        Ticket.id,
        Ticket.created_at,
        Ticket.first_response_at,
        Ticket.resolved_at,
        Ticket.first_response_due_at,
        Ticket.resolution_due_at,
        Ticket.channel,
        Ticket.language,
        Ticket.category,
        Ticket.team_id,
        Ticket.assignee_id,
        Ticket.level,
        Ticket.first_contact_resolution,
        Ticket.was_escalated,
        Ticket.kb_resolution,
        Ticket.time_spent_seconds,
        Ticket.sla_policy_id,
        top_level.label("top_escalation"),
    ).where(Ticket.tenant_id == tenant_id, Ticket.merged_into_id.is_(None), column >= start, column < end)
    return db.session.execute(ticket_filter(query, filters)).all()


def collect(tenant: Tenant, first: date, last: date, filters: Filters | None = None) -> Rows:
    """The rows of each local day from `first` to `last` (inclusive) of one client."""
    filters = filters or Filters()
    zone = ZoneInfo(tenant.timezone)
    start, end = window(zone, first, last)
    out = Collector(tenant.id, zone, filters)
    calendars = _Calendars(tenant.id)
    _created(out, tenant.id, start, end, filters)
    _answered(out, calendars, tenant.id, start, end, filters)
    _resolved(out, calendars, tenant.id, start, end, filters)
    _escalations(out, calendars, tenant.id, start, end, filters)
    _surveys(out, tenant.id, start, end, filters)
    _searches(out, tenant.id, start, end, filters)
    return out.rows


def _created(out: Collector, tenant_id: int, start: datetime, end: datetime, filters: Filters) -> None:
    for t in _tickets(tenant_id, Ticket.created_at, start, end, filters):
        out.event(t.created_at, _ticket_dims(t), {"created": 1}, hour=True)


def _stopped(
    counts: dict[str, int],
    clock: str,
    hist: str,
    start: datetime,
    at: datetime,
    due: datetime | None,
    schedule: Schedule | None,
) -> dict[str, float]:
    """A clock that stopped at `at`: counted against its due time (if it had one), and its
    duration from `start` in calendar and business time."""
    if due is not None:
        counts[f"{clock}_due"] = 1
        counts[f"{clock}_met"] = int(at <= due)
    return {
        f"{hist}_cal": (at - start).total_seconds(),
        f"{hist}_biz": business_seconds_between(schedule, start, at),
    }


def _answered(
    out: Collector, calendars: _Calendars, tenant_id: int, start: datetime, end: datetime, filters: Filters
) -> None:
    for t in _tickets(tenant_id, Ticket.first_response_at, start, end, filters):
        counts = {"first_responses": 1}
        schedule = calendars.of_policy(t.sla_policy_id)
        durations = _stopped(
            counts, "fr", "frt", t.created_at, t.first_response_at, t.first_response_due_at, schedule
        )
        out.event(t.first_response_at, _ticket_dims(t), counts, durations)


def _resolved(
    out: Collector, calendars: _Calendars, tenant_id: int, start: datetime, end: datetime, filters: Filters
) -> None:
    for t in _tickets(tenant_id, Ticket.resolved_at, start, end, filters):
        top = max(t.level or 1, t.top_escalation or 1, 2 if t.was_escalated else 1)
        counts = {
            "resolved": 1,
            "fcr": int(t.first_contact_resolution),
            "l1_resolved": int(top == 1),
            "reached_l2": int(top >= 2),
            "reached_l3": int(top >= 3),
            "kb_resolved": int(t.kb_resolution),
            "handle_seconds": int(t.time_spent_seconds or 0),
        }
        schedule = calendars.of_policy(t.sla_policy_id)
        durations = _stopped(counts, "res", "res", t.created_at, t.resolved_at, t.resolution_due_at, schedule)
        out.event(t.resolved_at, _ticket_dims(t), counts, durations)


def _escalations(
    out: Collector, calendars: _Calendars, tenant_id: int, start: datetime, end: datetime, filters: Filters
) -> None:
    """An escalation counts for its team and for the agent who handed it over."""
    columns = {
        "channel": Ticket.channel,
        "language": Ticket.language,
        "category": Ticket.category,
        "team": Escalation.team_id,
        "agent": Escalation.created_by_id,
    }
    for column, kind in (
        (Escalation.created_at, "created"),
        (Escalation.acknowledged_at, "acknowledged"),
        (Escalation.closed_at, "closed"),
    ):
        query = (
            select(
                Escalation.level,
                Escalation.team_id,
                Escalation.created_by_id,
                Escalation.created_at,
                Escalation.acknowledged_at,
                Escalation.closed_at,
                Escalation.ack_due_at,
                Escalation.resolve_due_at,
                Ticket.channel,
                Ticket.language,
                Ticket.category,
            )
            .join(Ticket, Ticket.id == Escalation.ticket_id)
            .where(Escalation.tenant_id == tenant_id, column >= start, column < end)
        )
        if kind == "closed":
            query = query.where(Escalation.status == EscalationStatus.RESOLVED.value)
        for dim, value in filters.active().items():
            query = query.where(columns[dim] == (int(value) if dim in ("team", "agent") else value))
        for esc in db.session.execute(query):
            dims = {
                "channel": esc.channel,
                "language": esc.language,
                "category": esc.category,
                "team": str(esc.team_id),
                "agent": _text(esc.created_by_id),
            }
            _escalation_event(out, calendars, esc, kind, dims)


def _escalation_event(
    out: Collector, calendars: _Calendars, esc: Any, kind: str, dims: dict[str, str]
) -> None:
    if kind == "created":
        level = {"esc_created_l2": int(esc.level == 2), "esc_created_l3": int(esc.level >= 3)}
        out.event(esc.created_at, dims, {"esc_created": 1, **level})
        return
    at = esc.acknowledged_at if kind == "acknowledged" else esc.closed_at
    due = esc.ack_due_at if kind == "acknowledged" else esc.resolve_due_at
    assert at is not None  # noqa: S101 - the query selected on it
    prefix = "ack" if kind == "acknowledged" else "fix"
    counts = {"esc_acked" if kind == "acknowledged" else "esc_resolved": 1}
    schedule = calendars.of_team(esc.team_id)
    durations = _stopped(counts, prefix, prefix, esc.created_at, at, due, schedule)
    out.event(at, dims, counts, durations)


def _surveys(out: Collector, tenant_id: int, start: datetime, end: datetime, filters: Filters) -> None:
    query = (
        select(
            SatisfactionSurvey.answered_at,
            SatisfactionSurvey.rating,
            Ticket.channel,
            Ticket.language,
            Ticket.category,
            Ticket.team_id,
            Ticket.assignee_id,
        )
        .join(Ticket, Ticket.id == SatisfactionSurvey.ticket_id)
        .where(
            SatisfactionSurvey.tenant_id == tenant_id,
            SatisfactionSurvey.answered_at >= start,
            SatisfactionSurvey.answered_at < end,
            SatisfactionSurvey.rating.is_not(None),
        )
    )
    for row in db.session.execute(ticket_filter(query, filters)):
        counts = {"csat_count": 1, "csat_sum": row.rating, "csat_good": int(row.rating >= 4)}
        out.event(row.answered_at, _ticket_dims(row), counts, rating=row.rating)


def _searches(out: Collector, tenant_id: int, start: datetime, end: datetime, filters: Filters) -> None:
    """Knowledge-base searches carry a language only: any other filter leaves them out."""
    if set(filters.active()) - {"language"}:
        return
    query = select(KbSearch.created_at, KbSearch.language, KbSearch.hits).where(
        KbSearch.tenant_id == tenant_id, KbSearch.created_at >= start, KbSearch.created_at < end
    )
    if filters.language:
        query = query.where(KbSearch.language == filters.language)
    for created_at, language, hits in db.session.execute(query):
        out.event(created_at, {"language": language}, {"kb_searches": 1, "kb_searches_empty": int(hits == 0)})
