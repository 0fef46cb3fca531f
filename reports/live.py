"""The shift lead's live view: the queue now per client and language, the SLA board in numbers,
who covers the coming hours, and today so far.

Each part is read from where it already lives: the open tickets (reports.backlog), the routing
board's unroutable tickets (agents.routing), the SLA board's rows (sla.board), the coverage grid
(agents.coverage) and today's rollups (reports.metrics). Everything runs in the viewer's tenancy
scope and is limited to the clients given.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from agents import coverage, routing
from core.i18n import language_name
from reports import backlog
from reports.metrics import Query, Report, report
from reports.tables import Column, Kpi, Table, kpi_table
from sla import board
from tenants.models import Tenant

COVERAGE_HOURS = 8


@dataclass
class QueueRow:
    tenant: Tenant
    language: str
    open: int
    unassigned: int
    unroutable: int  # unassigned, and nobody available now speaks the language
    ages: list[int]


@dataclass
class SlaRow:
    tenant: Tenant
    breached: int
    due_soon: int  # within the board's horizon (an hour), not breached yet


@dataclass
class Live:
    now: datetime
    queue: list[QueueRow]
    sla: list[SlaRow]
    grid: coverage.Grid
    gaps: list[coverage.Gap]
    today: Report

    def today_figures(self) -> list[Kpi]:
        t = self.today.totals
        return [
            Kpi("created", _("Tickets created"), t.created, "int"),
            Kpi("resolved", _("Tickets resolved"), t.resolved, "int"),
            Kpi("fcr_rate", _("First-contact resolution"), t.fcr_rate, "percent"),
            Kpi("fr_compliance", _("First response in time"), t.fr_compliance, "percent"),
            Kpi("frt_median_seconds", _("First response, median"), t.percentile("frt_cal", 50), "seconds"),
            Kpi("csat_average", _("Satisfaction (1 to 5)"), t.csat_average, "decimal"),
        ]

    def tables(self) -> list[Table]:
        queue = Table(
            "queue",
            _("Queue now"),
            [
                Column("client", _("Client")),
                Column("language", _("Language")),
                Column("open", _("Open"), "int"),
                Column("unassigned", _("Unassigned"), "int"),
                Column("unroutable", _("Nobody available"), "int"),
                *[Column(key, label, "int") for key, label, _bound in backlog.BUCKETS],
            ],
            [
                [r.tenant.name, language_name(r.language), r.open, r.unassigned, r.unroutable, *r.ages]
                for r in self.queue
            ],
        )
        sla = Table(
            "sla",
            _("SLA board"),
            [
                Column("client", _("Client")),
                Column("breached", _("Breached"), "int"),
                Column("due_within_hour", _("Due within the hour"), "int"),
            ],
            [[r.tenant.name, r.breached, r.due_soon] for r in self.sla],
        )
        gaps = Table(
            "coverage_gaps",
            _("Uncovered hours"),
            [
                Column("client", _("Client")),
                Column("language", _("Language")),
                Column("from", _("From"), "datetime"),
                Column("until", _("Until"), "datetime"),
            ],
            [[g.tenant.name, language_name(g.language), g.starts, g.ends] for g in self.gaps],
        )
        today = kpi_table([(_("Today so far"), self.today_figures())])
        today.name = "today"
        return [queue, sla, gaps, today]

    def table(self, name: str) -> Table | None:
        return next((table for table in self.tables() if table.name == name), None)


def snapshot(
    clients: list[Tenant], zone: ZoneInfo, now: datetime, today: date, *, one_client: bool = False
) -> Live:
    by_id = {tenant.id: tenant for tenant in clients}
    ids = list(by_id)
    unroutable = Counter(
        (row.ticket.tenant_id, row.ticket.language)
        for row in routing.board()
        if row.unroutable and row.ticket.tenant_id in by_id
    )
    queue = [
        QueueRow(
            by_id[row.tenant_id],
            row.language or "",
            row.open,
            row.unassigned,
            unroutable.get((row.tenant_id, row.language), 0),
            row.ages,
        )
        for row in backlog.by_client_and_language(ids, now)
        if row.tenant_id in by_id
    ]
    queue.sort(key=lambda r: (-r.unroutable, -r.unassigned, r.tenant.name, r.language))
    sla: dict[int, SlaRow] = {}
    for row in board.rows(clients, now):
        found = sla.setdefault(row.tenant.id, SlaRow(row.tenant, 0, 0))
        if row.breached:
            found.breached += 1
        else:
            found.due_soon += 1
    grid = coverage.grid(zone, now=now, hours=COVERAGE_HOURS, tenant_id=ids[0] if one_client else None)
    grid.rows = [row for row in grid.rows if row.tenant.id in by_id]
    return Live(
        now=now,
        queue=queue,
        sla=sorted(sla.values(), key=lambda r: (-r.breached, -r.due_soon, r.tenant.name)),
        grid=grid,
        gaps=coverage.gaps(grid),
        today=report(Query(tuple(ids), today, today)),
    )
