"""The open tickets now, by client, language and age: what the desk still owes.

Live, not rolled up (a backlog a day old is no backlog): one grouped query over the open tickets
of the given clients, which reads the partial index of open tickets (`tenant_id` first; the
predicate repeated literally so PostgreSQL can use it), however long the history behind them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select, text

from core.extensions import db
from reports.facts import Filters, ticket_filter
from tickets.models import OPEN_PREDICATE, Ticket

# Age buckets: (key, label, upper bound of the age); the last one is open-ended.
BUCKETS: tuple[tuple[str, object, timedelta | None], ...] = (
    ("under_1d", _l("Less than a day"), timedelta(days=1)),
    ("1d_3d", _l("1 to 3 days"), timedelta(days=3)),
    ("3d_7d", _l("3 to 7 days"), timedelta(days=7)),
    ("7d_30d", _l("7 to 30 days"), timedelta(days=30)),
    ("over_30d", _l("More than 30 days"), None),
)


@dataclass
class Backlog:
    """Open tickets of one client and language (or of several, summed)."""

    tenant_id: int | None = None
    language: str | None = None
    open: int = 0
    unassigned: int = 0
    ages: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))

    def add(self, other: Backlog) -> None:
        self.open += other.open
        self.unassigned += other.unassigned
        self.ages = [a + b for a, b in zip(self.ages, other.ages, strict=True)]


def by_client_and_language(
    tenant_ids: Iterable[int], now: datetime, filters: Filters | None = None
) -> list[Backlog]:
    """One row per client and language that has open tickets (merged tickets left out)."""
    ids = list(tenant_ids)
    if not ids:
        return []
    # A ticket is in the first bucket it is younger than the bound of: count per bound the tickets
    # younger than it, then take differences (no overlapping CASE branches to keep in order).
    younger = [
        func.sum(case((Ticket.created_at > now - bound, 1), else_=0))
        for _key, _label, bound in BUCKETS
        if bound
    ]
    query = (
        select(
            Ticket.tenant_id,
            Ticket.language,
            func.count(),
            func.sum(case((Ticket.assignee_id.is_(None), 1), else_=0)),
            *younger,
        )
        .where(Ticket.tenant_id.in_(ids), text(OPEN_PREDICATE), Ticket.merged_into_id.is_(None))
        .group_by(Ticket.tenant_id, Ticket.language)
        .order_by(Ticket.tenant_id, Ticket.language)
    )
    rows = []
    for tenant_id, language, count, unassigned, *counts in db.session.execute(
        ticket_filter(query, filters or Filters())
    ):
        cumulative = [int(n or 0) for n in counts] + [int(count)]
        buckets = [cumulative[0]] + [b - a for a, b in zip(cumulative, cumulative[1:], strict=False)]
        rows.append(Backlog(tenant_id, language, int(count), int(unassigned or 0), buckets))
    return rows


def total(rows: Iterable[Backlog]) -> Backlog:
    out = Backlog()
    for row in rows:
        out.add(row)
    return out


def by_client(rows: Iterable[Backlog]) -> dict[int, Backlog]:
    out: dict[int, Backlog] = {}
    for row in rows:
        assert row.tenant_id is not None  # noqa: S101 - rows of by_client_and_language
        out.setdefault(row.tenant_id, Backlog(row.tenant_id)).add(row)
    return out
