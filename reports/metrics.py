"""The figures of a report: one aggregator over rows, whether they come from the rollups or,
for a filtered question, straight from the raw records (reports.facts).

Definitions (the README's "Reports" section says the same in prose):
- volume: tickets created in the range; the heatmap by local weekday and hour;
- outcomes are measured on the tickets resolved in the range: first-contact resolution (at
  level 1, no customer round trip, no escalation), resolved at level 1, reached level 2 or
  higher (escalated to the client), reached level 3, resolved with a knowledge-base article;
- first response and resolution times from the contact, median and 90th percentile, in calendar
  time and in the business time of the ticket's SLA calendar; SLA compliance: the share of
  clocks that stopped in the range before their due time;
- client teams: escalations acknowledged and resolved in the range, their times and targets;
- satisfaction: surveys answered in the range (average, share of 4 and 5).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select

from core.extensions import db
from reports import histogram
from reports.facts import ALL, DIMENSIONS, HISTOGRAM_DIMENSIONS, Filters, Row, Rows, collect
from reports.models import COUNTERS, ReportDaily
from tenants.models import Tenant

Source = Literal["rollup", "raw"]
# Dimensions whose per-key figures need their duration histograms (client teams' times).
TIMED_DIMENSIONS = tuple(dim for dim in HISTOGRAM_DIMENSIONS if dim != ALL)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Figures:
    """The figures of one set of rows: a day, a client, a channel, an agent, or the whole range."""

    row: Row = field(default_factory=Row)

    def __getattr__(self, name: str) -> int:
        if name in COUNTERS:
            return self.row.counters.get(name, 0)
        raise AttributeError(name)

    @property
    def fcr_rate(self) -> float | None:
        return _share(self.fcr, self.resolved)

    @property
    def l1_rate(self) -> float | None:
        return _share(self.l1_resolved, self.resolved)

    @property
    def l2_rate(self) -> float | None:
        return _share(self.reached_l2, self.resolved)

    @property
    def l3_rate(self) -> float | None:
        return _share(self.reached_l3, self.resolved)

    @property
    def deflection_rate(self) -> float | None:
        return _share(self.kb_resolved, self.resolved)

    @property
    def fr_compliance(self) -> float | None:
        return _share(self.fr_met, self.fr_due)

    @property
    def res_compliance(self) -> float | None:
        return _share(self.res_met, self.res_due)

    @property
    def ack_compliance(self) -> float | None:
        return _share(self.ack_met, self.ack_due)

    @property
    def fix_compliance(self) -> float | None:
        return _share(self.fix_met, self.fix_due)

    @property
    def csat_average(self) -> float | None:
        return self.csat_sum / self.csat_count if self.csat_count else None

    @property
    def csat_positive(self) -> float | None:
        return _share(self.csat_good, self.csat_count)

    @property
    def handle_average(self) -> float | None:
        """Average time agents logged on a resolved ticket, in seconds."""
        return self.handle_seconds / self.resolved if self.resolved else None

    @property
    def empty_search_rate(self) -> float | None:
        return _share(self.kb_searches_empty, self.kb_searches)

    def percentile(self, name: str, p: float) -> int | None:
        return histogram.percentile(self.row.hist.get(name, {}), p)

    def times(self) -> dict[str, dict[str, int | None]]:
        """Median and 90th percentile (seconds) of each duration: frt, res, ack, fix x cal, biz."""
        return {
            name: {"p50": self.percentile(name, 50), "p90": self.percentile(name, 90)}
            for name in sorted({*self.row.hist})
        }

    RATES = (
        "fcr_rate",
        "l1_rate",
        "l2_rate",
        "l3_rate",
        "deflection_rate",
        "fr_compliance",
        "res_compliance",
        "ack_compliance",
        "fix_compliance",
        "csat_average",
        "csat_positive",
        "handle_average",
        "empty_search_rate",
    )

    def as_dict(self, *, times: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {name: self.row.counters.get(name, 0) for name in COUNTERS}
        out.update({name: getattr(self, name) for name in self.RATES})
        out["ratings"] = list(self.row.ratings)
        if times:
            out["times"] = self.times()
        return out


@dataclass(frozen=True)
class Query:
    tenant_ids: tuple[int, ...]
    first: date
    last: date
    filters: Filters = Filters()

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


@dataclass
class Report:
    query: Query
    source: Source
    totals: Figures
    days: list[tuple[date, Figures]]
    by: dict[str, dict[str, Figures]]
    by_tenant: dict[int, Figures]
    heatmap: list[list[int]]  # [weekday (Monday first)][local hour]: tickets created
    built_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.query.first.isoformat(),
            "to": self.query.last.isoformat(),
            "filters": self.query.filters.active(),
            "source": self.source,
            "built_at": self.built_at.isoformat() if self.built_at else None,
            "totals": self.totals.as_dict(),
            "days": [{"day": day.isoformat(), **figures.as_dict(times=False)} for day, figures in self.days],
            "by": {
                dim: {key: figures.as_dict(times=dim in TIMED_DIMENSIONS) for key, figures in keys.items()}
                for dim, keys in self.by.items()
            },
            "by_tenant": {str(tid): figures.as_dict(times=False) for tid, figures in self.by_tenant.items()},
            "heatmap": self.heatmap,
        }


def summarise(query: Query, rows: Rows, source: Source, built_at: datetime | None = None) -> Report:
    """The report of `rows` (any mix of days, clients and dimensions): the one aggregator.

    Each row is merged once, into the totals; a day, a client or a dimension's value that only
    one row makes up (a day of one client, a client asked about alone) is that row, not a copy:
    merging a year of duration histograms three times was a fifth of a dashboard's time."""
    totals = Figures()
    per_day: dict[date, list[Row]] = defaultdict(list)
    per_tenant: dict[int, list[Row]] = defaultdict(list)
    by: dict[str, dict[str, list[Row]]] = {dim: defaultdict(list) for dim in DIMENSIONS}
    heatmap = [[0] * 24 for _ in range(7)]
    for (tenant_id, day, dim, key), row in rows.items():
        if dim == ALL:
            totals.row.merge(row)
            per_day[day].append(row)
            per_tenant[tenant_id].append(row)
            weekday = heatmap[day.weekday()]
            for hour, count in enumerate(row.hours):
                weekday[hour] += count
        elif dim in by:
            by[dim][key].append(row)
    if len(per_tenant) == 1:
        by_tenant = dict.fromkeys(per_tenant, totals)
    else:
        by_tenant = {tenant_id: _combined(parts) for tenant_id, parts in per_tenant.items()}
    return Report(
        query=query,
        source=source,
        totals=totals,
        days=[(day, _combined(per_day.get(day, []))) for day in query.days],
        by={dim: {key: _combined(parts) for key, parts in keys.items()} for dim, keys in by.items()},
        by_tenant=by_tenant,
        heatmap=heatmap,
        built_at=built_at,
    )


def _combined(parts: list[Row]) -> Figures:
    """The figures of `parts`: the row itself when there is one (a report is only read)."""
    if len(parts) == 1:
        return Figures(parts[0])
    figures = Figures()
    for part in parts:
        figures.row.merge(part)
    return figures


def raw_rows(query: Query) -> Rows:
    rows: Rows = {}
    for tenant in db.session.scalars(select(Tenant).where(Tenant.id.in_(query.tenant_ids))):
        rows.update(collect(tenant, query.first, query.last, query.filters))
    return rows


def _row(values: Any, hist: dict[str, dict[str, int]] | None = None) -> Row:
    row = Row()
    row.counters = {name: int(getattr(values, name) or 0) for name in COUNTERS}
    if getattr(values, "hours", None):
        row.hours = list(values.hours)
    if getattr(values, "ratings", None):
        row.ratings = list(values.ratings)
    row.hist = hist or {}
    return row


def rollup_rows(query: Query) -> tuple[Rows, datetime | None]:
    """The stored rows of the range: days in total and client teams as they are (they carry the
    histograms), the other dimensions summed by the database (their counters are all we show)."""
    in_range = (
        ReportDaily.tenant_id.in_(query.tenant_ids),
        ReportDaily.day >= query.first,
        ReportDaily.day <= query.last,
    )
    rows: Rows = {}
    # Columns, not entities: a year of a client is over a thousand rows, each with its histograms.
    columns = [getattr(ReportDaily, name) for name in (*COUNTERS, "hours", "ratings", "hist", "built_at")]
    stored = select(ReportDaily.tenant_id, ReportDaily.day, ReportDaily.dim, ReportDaily.key, *columns).where(
        *in_range, ReportDaily.dim.in_((ALL, *TIMED_DIMENSIONS))
    )
    built_at: datetime | None = None
    for found in db.session.execute(stored):
        rows[(found.tenant_id, found.day, found.dim, found.key)] = _row(found, found.hist)
        built_at = found.built_at if built_at is None else min(built_at, found.built_at)
    counters = [func.sum(getattr(ReportDaily, name)).label(name) for name in COUNTERS]
    summed = (
        select(ReportDaily.dim, ReportDaily.key, *counters)
        .where(*in_range, ReportDaily.dim.not_in((ALL, *TIMED_DIMENSIONS)))
        .group_by(ReportDaily.dim, ReportDaily.key)
    )
    for found in db.session.execute(summed):
        rows[(0, query.first, found.dim, found.key)] = _row(found)
    return rows, built_at


def report(query: Query, source: Source | None = None) -> Report:
    """The figures for `query`; from the rollups unless filtered (or `source` says otherwise)."""
    source = source or ("raw" if query.filters else "rollup")
    if source == "raw":
        return summarise(query, raw_rows(query), "raw")
    rows, built_at = rollup_rows(query)
    return summarise(query, rows, "rollup", built_at)
