"""Coverage: per client, language and hour, how many agents on shift can answer.

An agent covers a (client, language) when they are assigned to the client and speak the language
fluently or natively; speakers with a basic level are counted apart (shown, never enough to close
a gap). A count is the *least* number of such agents on shift at any moment of the hour, so a
half-hour hole is a gap and a handover at 08:30 is not.

The grid is computed in Python from three queries (assignments, languages, the shifts of the
window), whatever the number of clients; `compute` is pure so the benchmark and tests drive it
directly. The tenancy scope decides which clients and which assignments a viewer sees.
"""

from __future__ import annotations

import functools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from sqlalchemy import select

from agents.models import AgentAssignment, AgentLanguage, AgentShift, SkillLevel
from core.auth.models import User
from core.auth.roles import Role
from core.extensions import db
from core.models_base import utcnow
from tenants.models import Tenant, TenantStatus

HOUR = timedelta(hours=1)
WEEK_HOURS = 7 * 24
STAFF_ROLES = (Role.AGENT.value, Role.SUPERVISOR.value)

Key = tuple[int, str]  # (tenant id, language)
ShiftSpan = tuple[int, datetime, datetime]  # (user id, starts, ends), UTC


@dataclass(frozen=True, slots=True)
class Cell:
    count: int  # fluent or native speakers on shift for the whole hour
    basic: int  # basic speakers besides them (shown, but they do not close a gap)
    level: str  # "gap" (nobody), "thin" (one), "ok"


@functools.cache
def cell(count: int, basic: int) -> Cell:
    """Cells are shared: a week of 200 languages has 33,600 of them but a handful of distinct ones."""
    return Cell(count, basic, "gap" if count == 0 else "thin" if count == 1 else "ok")


@dataclass
class Row:
    tenant: Tenant
    language: str
    cells: list[Cell]


@dataclass
class Grid:
    hours: list[datetime]  # UTC starts of the viewer's local hours
    rows: list[Row]


@dataclass(frozen=True)
class Gap:
    """Consecutive uncovered hours of one language of one client."""

    tenant: Tenant
    language: str
    starts: datetime
    ends: datetime


def hour_starts(now: datetime, zone: ZoneInfo, count: int) -> list[datetime]:
    """`count` hours from the local hour `now` is in. Stepping in UTC keeps local hour boundaries
    (clock changes move by whole hours) and gives a clock-change day its 23 or 25 hours."""
    local = now.astimezone(zone)
    first = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    return [first + i * HOUR for i in range(count)]


def _qualifications(
    keys: Sequence[Key], serves: Mapping[int, Iterable[int]], speaks: Mapping[int, Mapping[str, str]]
) -> dict[int, tuple[list[int], list[int]]]:
    """Per user, the rows (indexes into `keys`) they cover fully and those they cover basically."""
    index = {key: i for i, key in enumerate(keys)}
    found: dict[int, tuple[list[int], list[int]]] = {}
    for user_id, tenant_ids in serves.items():
        full: list[int] = []
        basic: list[int] = []
        for tenant_id in tenant_ids:
            for language, level in speaks.get(user_id, {}).items():
                row = index.get((tenant_id, language))
                if row is not None:
                    (basic if level == SkillLevel.BASIC.value else full).append(row)
        if full or basic:
            found[user_id] = (full, basic)
    return found


def compute(
    keys: Sequence[Key],
    hours: Sequence[datetime],
    shifts: Iterable[ShiftSpan],
    serves: Mapping[int, Iterable[int]],
    speaks: Mapping[int, Mapping[str, str]],
    since: datetime | None = None,
) -> tuple[list[list[int]], list[list[int]]]:
    """Counts per row and hour: (fluent or native, basic). `hours` are consecutive hour starts;
    `since` clips the first hour (the part of it already past does not count)."""
    quals = _qualifications(keys, serves, speaks)
    full = [[0] * len(hours) for _ in keys]
    basic = [[0] * len(hours) for _ in keys]
    if not hours or not quals:
        return full, basic
    origin, horizon = hours[0], hours[-1] + HOUR
    by_hour: list[list[ShiftSpan]] = [[] for _ in hours]
    for user_id, starts, ends in shifts:
        if user_id not in quals or ends <= origin or starts >= horizon:
            continue
        first = max(int((starts - origin) // HOUR), 0)
        last = min(math.ceil((ends - origin) / HOUR), len(hours))
        for i in range(first, last):
            by_hour[i].append((user_id, starts, ends))
    for i, spans in enumerate(by_hour):
        if not spans:
            continue
        begin = max(hours[i], since) if since is not None else hours[i]
        end = hours[i] + HOUR
        cuts = sorted({t for _u, s, e in spans for t in (s, e) if begin < t < end})
        bounds = [begin, *cuts, end]
        segments = [{u for u, s, e in spans if s <= a and e >= b} for a, b in pairwise(bounds)]
        for level, matrix in ((0, full), (1, basic)):
            counted = [Counter(row for u in on_shift for row in quals[u][level]) for on_shift in segments]
            if len(counted) == 1:  # nobody starts or ends within the hour: the usual case
                for row, n in counted[0].items():
                    matrix[row][i] = n
                continue
            for row in set().union(*counted):
                matrix[row][i] = min(c.get(row, 0) for c in counted)
    return full, basic


def _tenants(tenant_id: int | None) -> list[Tenant]:
    query = select(Tenant).where(Tenant.status != TenantStatus.SUSPENDED.value).order_by(Tenant.name)
    if tenant_id is not None:
        query = query.where(Tenant.id == tenant_id)
    return list(db.session.scalars(query))


def _load(
    tenant_ids: list[int], start: datetime, end: datetime
) -> tuple[dict[int, set[int]], dict[int, dict[str, str]], list[ShiftSpan]]:
    """The three queries. The scope narrows the assignments to the viewer's clients, so another
    client's agents and languages never enter the grid."""
    serves: dict[int, set[int]] = defaultdict(set)
    for tenant_id, user_id in db.session.execute(
        select(AgentAssignment.tenant_id, AgentAssignment.user_id)
        .join(User, User.id == AgentAssignment.user_id)
        .where(
            AgentAssignment.tenant_id.in_(tenant_ids), User.role.in_(STAFF_ROLES), User.is_active.is_(True)
        )
    ):
        serves[user_id].add(tenant_id)
    if not serves:
        return serves, {}, []
    speaks: dict[int, dict[str, str]] = defaultdict(dict)
    for user_id, language, level in db.session.execute(
        select(AgentLanguage.user_id, AgentLanguage.language, AgentLanguage.level).where(
            AgentLanguage.user_id.in_(serves)
        )
    ):
        speaks[user_id][language] = level
    shifts = [
        (user_id, starts, ends)
        for user_id, starts, ends in db.session.execute(
            select(AgentShift.user_id, AgentShift.starts_at, AgentShift.ends_at).where(
                AgentShift.user_id.in_(list(speaks)), AgentShift.starts_at < end, AgentShift.ends_at > start
            )
        )
    ]
    return serves, speaks, shifts


def grid(
    zone: ZoneInfo, *, now: datetime | None = None, hours: int = WEEK_HOURS, tenant_id: int | None = None
) -> Grid:
    """The coming `hours` local hours of every client in scope (or one), from the current hour."""
    now = now or utcnow()
    starts = hour_starts(now, zone, hours)
    tenants = _tenants(tenant_id)
    keys = [(t.id, language) for t in tenants for language in t.languages]
    serves, speaks, shifts = (
        _load([t.id for t in tenants], starts[0], starts[-1] + HOUR) if keys else ({}, {}, [])
    )
    full, basic = compute(keys, starts, shifts, serves, speaks, since=now)
    by_id = {t.id: t for t in tenants}
    rows = [
        Row(by_id[tenant_id], language, list(map(cell, full[i], basic[i])))
        for i, (tenant_id, language) in enumerate(keys)
    ]
    return Grid(starts, rows)


def gaps(found: Grid) -> list[Gap]:
    """The uncovered hours of a grid, consecutive ones merged, soonest first."""
    merged: list[Gap] = []
    for row in found.rows:
        begin: datetime | None = None
        for hour, cell in zip(found.hours, row.cells, strict=True):
            if cell.count == 0 and begin is None:
                begin = hour
            elif cell.count > 0 and begin is not None:
                merged.append(Gap(row.tenant, row.language, begin, hour))
                begin = None
        if begin is not None:
            merged.append(Gap(row.tenant, row.language, begin, found.hours[-1] + HOUR))
    merged.sort(key=lambda gap: (gap.starts, gap.tenant.name, gap.language))
    return merged


def upcoming_gaps(zone: ZoneInfo, *, hours: int = 24, now: datetime | None = None) -> list[Gap]:
    """For the home page: the gaps of the clients in scope in the next `hours`."""
    return gaps(grid(zone, now=now, hours=hours))
