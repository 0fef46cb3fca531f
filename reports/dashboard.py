"""What a dashboard shows, computed once from one report: the key figures, the charts (each with
the table of its numbers) and the tables, for the provider (every client, agents by name) or for
a client (its own service; the provider's agents are not named to it).

The views render it; the CSV export picks one of its tables by name, so what is exported is
exactly what is shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from babel import Locale
from flask_babel import format_decimal, format_percent, get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from core.i18n import language_name
from reports import backlog as backlogs
from reports import charts, lookups
from reports.backlog import BUCKETS, Backlog
from reports.lookups import Names
from reports.metrics import Figures, Query, Report
from reports.metrics import report as run_report
from reports.tables import Column, Kpi, Table, agents_table, clients_table, kpi_table, teams_table
from sla.labels import weekday_names
from tenants.models import Tenant
from tickets.labels import CATEGORY, CHANNEL

Audience = Literal["provider", "client"]


@dataclass
class Chart:
    name: str
    title: str
    svg: Markup
    table: Table
    wide: bool = False  # takes a whole row of the grid


@dataclass
class Dashboard:
    report: Report
    kpis: list[tuple[str, list[Kpi]]]
    charts: list[Chart]
    tables: list[Table]

    def table(self, name: str) -> Table | None:
        every = [kpi_table(self.kpis), *(chart.table for chart in self.charts), *self.tables]
        return next((table for table in every if table.name == name), None)


def compose(query: Query, clients: list[Tenant], audience: Audience, now: datetime) -> Dashboard:
    """The dashboard of `query`: one report (rolled up unless filtered), the live backlog and
    the names of what the report counts."""
    found = run_report(query)
    rows = backlogs.by_client_and_language(query.tenant_ids, now, query.filters)
    names = lookups.names_for(found, clients, agents=audience == "provider")
    return build(found, backlogs.total(rows), names, audience, backlogs.by_client(rows))


def build(
    report: Report,
    backlog: Backlog,
    names: Names,
    audience: Audience,
    backlog_by_client: Mapping[int, Backlog],
) -> Dashboard:
    locale = get_locale() or Locale("en")
    tables = []
    if audience == "provider" and len(report.query.tenant_ids) > 1:
        tables.append(clients_table(report, names, backlog_by_client))
    if audience == "provider":
        tables.append(agents_table(report, names))
    tables.append(teams_table(report, names, with_client=audience == "provider"))
    return Dashboard(report, key_figures(report.totals, backlog), _charts(report, backlog, locale), tables)


def key_figures(t: Figures, backlog: Backlog) -> list[tuple[str, list[Kpi]]]:
    def times(name: str, label: str) -> Kpi:
        return Kpi(
            f"{name}_median_seconds",
            label,
            t.percentile(f"{name}_cal", 50),
            "seconds",
            (
                Kpi(f"{name}_p90_seconds", _("90th percentile"), t.percentile(f"{name}_cal", 90), "seconds"),
                Kpi(
                    f"{name}_business_median_seconds",
                    _("Median in business hours"),
                    t.percentile(f"{name}_biz", 50),
                    "seconds",
                ),
                Kpi(
                    f"{name}_business_p90_seconds",
                    _("90th percentile in business hours"),
                    t.percentile(f"{name}_biz", 90),
                    "seconds",
                ),
            ),
        )

    return [
        (
            _("Volume and outcomes"),
            [
                Kpi("created", _("Tickets created"), t.created, "int"),
                Kpi("resolved", _("Tickets resolved"), t.resolved, "int"),
                Kpi("fcr_rate", _("First-contact resolution"), t.fcr_rate, "percent"),
                Kpi("l1_rate", _("Resolved at level 1"), t.l1_rate, "percent"),
                Kpi("l2_rate", _("Escalated to level 2 or 3"), t.l2_rate, "percent"),
                Kpi("l3_rate", _("Reached level 3"), t.l3_rate, "percent"),
                Kpi("open_now", _("Open now"), backlog.open, "int"),
                Kpi("unassigned_now", _("Unassigned now"), backlog.unassigned, "int"),
            ],
        ),
        (
            _("Response and resolution times"),
            [times("frt", _("First response, median")), times("res", _("Resolution, median"))],
        ),
        (
            _("SLA compliance"),
            [
                Kpi("fr_compliance", _("First response in time"), t.fr_compliance, "percent"),
                Kpi("res_compliance", _("Resolution in time"), t.res_compliance, "percent"),
                Kpi("ack_compliance", _("Client teams acknowledged in time"), t.ack_compliance, "percent"),
                Kpi("fix_compliance", _("Client teams resolved in time"), t.fix_compliance, "percent"),
            ],
        ),
        (
            _("Knowledge and satisfaction"),
            [
                Kpi(
                    "deflection_rate",
                    _("Resolved with a knowledge-base article"),
                    t.deflection_rate,
                    "percent",
                ),
                Kpi("csat_average", _("Satisfaction (1 to 5)"), t.csat_average, "decimal"),
                Kpi("csat_positive", _("Rated 4 or 5"), t.csat_positive, "percent"),
                Kpi("empty_search_rate", _("Searches without a result"), t.empty_search_rate, "percent"),
            ],
        ),
    ]


def _number(value: float) -> str:
    return format_decimal(value)


def _share(value: float) -> str:
    return format_percent(value)


def _breakdown(name: str, title: str, first: Column, items: list[tuple[str, int]], total: int) -> Chart:
    table = Table(
        name,
        title,
        [first, Column("created", _("Tickets created"), "int"), Column("share", _("Share"), "percent")],
        [[label, count, count / total if total else None] for label, count in items],
    )
    desc = ", ".join(f"{label}: {_number(count)}" for label, count in items) or _("No tickets in this range.")
    svg = charts.hbars(items, chart_id=f"chart-{name}", title=title, desc=desc, number=_number)
    return Chart(name, title, svg, table)


def _by(report: Report, dim: str, label: Mapping[str, object] | None = None) -> list[tuple[str, int]]:
    found = [
        (str(label.get(key, key)) if label is not None else language_name(key), figures.created)
        for key, figures in report.by.get(dim, {}).items()
        if figures.created
    ]
    return sorted(found, key=lambda item: (-item[1], item[0]))


def _charts(report: Report, backlog: Backlog, locale: Locale) -> list[Chart]:
    t = report.totals
    days = [day for day, _figures in report.days]
    created = [figures.created for _day, figures in report.days]
    resolved = [figures.resolved for _day, figures in report.days]
    title = _("Tickets per day")
    daily = Chart(
        "daily",
        title,
        charts.daily(
            days,
            (_("Created"), created),
            (_("Resolved"), resolved),
            chart_id="chart-daily",
            title=title,
            desc=_(
                "%(created)s tickets created and %(resolved)s resolved, per day.",
                created=_number(sum(created)),
                resolved=_number(sum(resolved)),
            ),
            locale=locale,
            number=_number,
        ),
        Table(
            "daily",
            title,
            [
                Column("day", _("Day"), "date"),
                Column("created", _("Created"), "int"),
                Column("resolved", _("Resolved"), "int"),
            ],
            [[day, c, r] for day, c, r in zip(days, created, resolved, strict=True)],
        ),
    )
    # Paired for the two-column grid; the heatmap takes a row of its own.
    out = [daily, _outcomes(t), _heatmap(report, locale)]
    for name, title, column, items in (
        ("channels", _("By channel"), Column("channel", _("Channel")), _by(report, "channel", CHANNEL)),
        ("languages", _("By language"), Column("language", _("Language")), _by(report, "language")),
        (
            "categories",
            _("By category"),
            Column("category", _("Category")),
            _by(report, "category", CATEGORY),
        ),
    ):
        out.append(_breakdown(name, title, column, items, t.created))
    out.append(_csat(t))
    out.append(_backlog(backlog))
    return out


def _heatmap(report: Report, locale: Locale) -> Chart:
    title = _("Tickets created by weekday and hour")
    weekdays = weekday_names(locale)
    table = Table(
        "heatmap",
        title,
        [Column("weekday", _("Weekday")), *[Column(f"h{h:02d}", str(h), "int") for h in range(24)]],
        [[weekdays[i], *row] for i, row in enumerate(report.heatmap)],
    )
    busiest = max(
        ((count, d, h) for d, row in enumerate(report.heatmap) for h, count in enumerate(row)),
        default=(0, 0, 0),
    )
    desc = (
        _(
            "Busiest: %(weekday)s at %(hour)s h, %(count)s tickets.",
            weekday=weekdays[busiest[1]],
            hour=busiest[2],
            count=_number(busiest[0]),
        )
        if busiest[0]
        else _("No tickets in this range.")
    )
    svg = charts.heatmap(
        report.heatmap,
        chart_id="chart-heatmap",
        title=title,
        desc=desc,
        row_labels=weekdays,
        legend_title=_("Tickets"),
        number=_number,
    )
    return Chart("heatmap", title, svg, table, wide=True)


def _parts(title: str, name: str, first: Column, parts: list[tuple[str, int]], total: int) -> Table:
    return Table(
        name,
        title,
        [first, Column("tickets", _("Count"), "int"), Column("share", _("Share"), "percent")],
        [[label, count, count / total if total else None] for label, count in parts],
    )


def _outcomes(t: Figures) -> Chart:
    """The resolved tickets split into parts that add up: first contact, level 1 after more
    contacts, level 2 (not further), level 3."""
    title = _("How resolved tickets were resolved")
    parts = [
        (_("At first contact"), t.fcr),
        (_("At level 1, after more contacts"), t.l1_resolved - t.fcr),
        (_("At level 2"), t.reached_l2 - t.reached_l3),
        (_("At level 3"), t.reached_l3),
    ]
    desc = "; ".join(f"{label}: {_number(count)}" for label, count in parts)
    svg = charts.stacked(parts, chart_id="chart-outcomes", title=title, desc=desc, share=_share)
    return Chart(
        "outcomes", title, svg, _parts(title, "outcomes", Column("outcome", _("Outcome")), parts, t.resolved)
    )


def _csat(t: Figures) -> Chart:
    title = _("Satisfaction ratings")
    parts = [(str(rating), t.row.ratings[rating - 1]) for rating in range(5, 0, -1)]
    desc = _(
        "%(count)s answers, average %(average)s.",
        count=_number(t.csat_count),
        average=format_decimal(t.csat_average or 0, format="#,##0.0"),
    )
    svg = charts.hbars(
        parts, chart_id="chart-csat", title=title, desc=desc, number=_number, colour=charts.GREEN
    )
    return Chart(
        "csat", title, svg, _parts(title, "csat", Column("rating", _("Rating")), parts, t.csat_count)
    )


def _backlog(backlog: Backlog) -> Chart:
    title = _("Open tickets by age")
    parts = [(str(label), count) for (_key, label, _bound), count in zip(BUCKETS, backlog.ages, strict=True)]
    desc = _(
        "%(count)s open tickets, %(unassigned)s of them unassigned.",
        count=_number(backlog.open),
        unassigned=_number(backlog.unassigned),
    )
    svg = charts.hbars(
        parts, chart_id="chart-backlog", title=title, desc=desc, number=_number, colour=charts.ORANGE
    )
    return Chart(
        "backlog", title, svg, _parts(title, "backlog", Column("age", _("Age")), parts, backlog.open)
    )
