"""The dashboards' tables as plain values with a kind per column, so that one table is shown
formatted for the reader (Babel numbers, percentages and durations) and exported unformatted (a
CSV a spreadsheet or a script can compute with) without two builders drifting apart; and the
tables that are not a chart's: per client, agents, client teams."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from flask_babel import format_date, format_decimal, format_percent
from flask_babel import gettext as _

from core.i18n import _datetime
from reports.backlog import Backlog
from reports.lookups import Names
from reports.metrics import Figures, Report
from sla.labels import duration

Kind = Literal["text", "int", "percent", "seconds", "decimal", "date", "datetime"]
MISSING = "–"  # shown where a figure has nothing to be computed from (a rate of zero tickets)


@dataclass(frozen=True)
class Column:
    key: str  # the CSV header: stable and machine-readable (`fcr_rate`, `ack_median_seconds`)
    label: object  # what the reader sees (a lazy string)
    kind: Kind = "text"


@dataclass
class Table:
    name: str  # what `?export=` names
    title: object
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    footer: list[Any] | None = None  # a totals row, exported last


@dataclass(frozen=True)
class Kpi:
    """One tile: a figure with its kind, and the figures it comes with (a median's percentile)."""

    key: str
    label: object
    value: float | int | None
    kind: Kind
    more: tuple[Kpi, ...] = ()


def show(value: Any, kind: Kind) -> str:
    """A value as the reader sees it, in their language."""
    if value is None or value == "":
        return MISSING if kind != "text" else ""
    if kind == "int":
        return format_decimal(value)
    if kind == "percent":
        return format_percent(value)
    if kind == "decimal":
        return format_decimal(value, format="#,##0.0")
    if kind == "seconds":
        return duration(timedelta(seconds=value))
    if kind == "date":
        return format_date(value, "medium")
    if kind == "datetime":
        return _datetime(value, "short")
    return str(value)


def kpi_table(groups: list[tuple[object, list[Kpi]]]) -> Table:
    """The tiles as a table (for the export): one row per figure, its companions flattened."""
    table = Table(
        "kpis",
        _("Key figures"),
        [Column("metric", _("Figure")), Column("label", _("Name")), Column("value", _("Value"))],
    )
    for _title, kpis in groups:
        for kpi in kpis:
            for each in (kpi, *kpi.more):
                table.rows.append([each.key, str(each.label), each.value])
    return table


def clients_table(report: Report, names: Names, backlog: Mapping[int, Backlog]) -> Table:
    table = Table(
        "clients",
        _("Per client"),
        [
            Column("client", _("Client")),
            Column("created", _("Created"), "int"),
            Column("resolved", _("Resolved"), "int"),
            Column("fcr_rate", _("First-contact resolution"), "percent"),
            Column("l2_rate", _("Escalated to level 2 or 3"), "percent"),
            Column("l3_rate", _("Reached level 3"), "percent"),
            Column("fr_compliance", _("First response in time"), "percent"),
            Column("res_compliance", _("Resolution in time"), "percent"),
            Column("csat_average", _("Satisfaction"), "decimal"),
            Column("open_now", _("Open now"), "int"),
        ],
    )
    for tenant_id in report.query.tenant_ids:
        f = report.by_tenant.get(tenant_id) or Figures()
        open_now = backlog[tenant_id].open if tenant_id in backlog else 0
        table.rows.append(
            [
                names.tenants.get(tenant_id, f"#{tenant_id}"),
                f.created,
                f.resolved,
                f.fcr_rate,
                f.l2_rate,
                f.l3_rate,
                f.fr_compliance,
                f.res_compliance,
                f.csat_average,
                open_now,
            ]
        )
    table.rows.sort(key=lambda row: (-row[1], row[0]))
    return table


def agents_table(report: Report, names: Names) -> Table:
    table = Table(
        "agents",
        _("Agents"),
        [
            Column("agent", _("Agent")),
            Column("resolved", _("Resolved"), "int"),
            Column("handle_average_seconds", _("Average handling time"), "seconds"),
            Column("fcr_rate", _("First-contact resolution"), "percent"),
        ],
    )
    for key, f in report.by.get("agent", {}).items():
        if f.resolved:
            table.rows.append([names.agents.get(key, f"#{key}"), f.resolved, f.handle_average, f.fcr_rate])
    table.rows.sort(key=lambda row: (-row[1], row[0]))
    return table


def teams_table(report: Report, names: Names, *, with_client: bool) -> Table:
    columns = [Column("team", _("Team"))]
    if with_client:
        columns.append(Column("client", _("Client")))
    columns += [
        Column("escalations", _("Escalations received"), "int"),
        Column("ack_median_seconds", _("Acknowledged, median"), "seconds"),
        Column("ack_compliance", _("Acknowledged in time"), "percent"),
        Column("resolve_median_seconds", _("Resolved, median"), "seconds"),
        Column("fix_compliance", _("Resolved in time"), "percent"),
    ]
    table = Table("teams", _("Client teams"), columns)
    for key, f in report.by.get("team", {}).items():
        if not (f.esc_created or f.esc_acked or f.esc_resolved):
            continue
        name, tenant_id = names.teams.get(key, (f"#{key}", 0))
        client = [names.tenants.get(tenant_id, "")] if with_client else []
        table.rows.append(
            [
                name,
                *client,
                f.esc_created,
                f.percentile("ack_cal", 50),
                f.ack_compliance,
                f.percentile("fix_cal", 50),
                f.fix_compliance,
            ]
        )
    table.rows.sort(key=lambda row: (str(row[1]) if with_client else "", row[0]))
    return table
