"""The monthly report as a reader sees it: every figure formatted by Babel in the reader's language
(with Swiss conventions for a client that bills in francs), every label translated. The HTML page,
the mail body and the PDF all render from this one `MonthlyView`, so they say the same thing.

A change is always said in words ("up 5.0 percentage points, better"), with an arrow beside it;
colour only repeats what the words say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from babel.dates import format_skeleton
from babel.numbers import format_decimal, format_percent
from babel.units import format_unit
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from billing.invoice_run import invoice_locale
from tickets.labels import CATEGORY, CHANNEL

if TYPE_CHECKING:
    from reports.monthly import Kpi, MonthlyFigures

KPI_LABELS = {
    "created": _l("Contacts received"),
    "resolved": _l("Tickets resolved"),
    "fcr_rate": _l("Solved at first contact"),
    "l1_rate": _l("Solved by the first level"),
    "l2_rate": _l("Escalated to your teams"),
    "l3_rate": _l("Reached your third level"),
    "deflection_rate": _l("Solved with a knowledge-base article"),
    "fr_compliance": _l("First responses within the agreed time"),
    "res_compliance": _l("Resolutions within the agreed time"),
    "frt_median": _l("Median time to first response"),
    "res_median": _l("Median time to resolution"),
    "ack_compliance": _l("Escalations your teams acknowledged in time"),
    "fix_compliance": _l("Escalations your teams resolved in time"),
    "csat_average": _l("Average customer rating (1 to 5)"),
    "csat_positive": _l("Customers rating 4 or 5"),
    "handle_average": _l("Average agent time per resolved ticket"),
}
CHANGE_TEXTS = {
    ("up", "better"): _l("up %(change)s, better"),
    ("up", "worse"): _l("up %(change)s, worse"),
    ("up", "neutral"): _l("up %(change)s"),
    ("down", "better"): _l("down %(change)s, better"),
    ("down", "worse"): _l("down %(change)s, worse"),
    ("down", "neutral"): _l("down %(change)s"),
}
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_COLOR = "#1f5f99"
ARROWS = {"up": "▲", "down": "▼", "same": "=", "none": "–"}
TONES = {"better": "#1b7a3a", "worse": "#b3261e", "neutral": "#555555"}


@dataclass(frozen=True)
class KpiLine:
    key: str
    label: str
    this_month: str
    previous_month: str
    arrow: str
    change: str  # the change in words
    verdict: str  # better, worse or neutral
    color: str


@dataclass(frozen=True)
class Bar:
    """A row of a bar chart: the label, the value (as a number and as text), and the bar's length
    as a percentage of the longest bar."""

    label: str
    value: int
    text: str
    width: float
    note: str = ""


@dataclass(frozen=True)
class TeamLine:
    name: str
    escalations: str
    previous_escalations: str
    acknowledged_in_time: str
    ack_median: str
    resolved: str
    resolved_in_time: str
    fix_median: str


@dataclass(frozen=True)
class MonthlyView:
    language: str
    locale: str
    client: str
    brand_color: str
    month: str  # YYYY-MM
    month_title: str
    previous_title: str
    title: str
    comparison: str
    kpis: list[KpiLine]
    daily: list[Bar]
    daily_summary: str
    categories: list[Bar]
    channels: list[Bar]
    teams: list[TeamLine]
    csat: list[Bar]
    csat_summary: str
    empty: bool


class _Formats:
    """Babel's formatting in one locale."""

    def __init__(self, locale: str) -> None:
        self.locale = locale

    def number(self, value: float) -> str:
        return format_decimal(value, locale=self.locale)

    def share(self, value: float) -> str:
        return format_percent(value, "#,##0.#%", locale=self.locale)

    def score(self, value: float) -> str:
        return format_decimal(value, "#,##0.0", locale=self.locale)

    def duration(self, seconds: float) -> str:
        if seconds < 3600:
            return format_unit(round(seconds / 60), "duration-minute", length="short", locale=self.locale)
        if seconds < 48 * 3600:
            return format_unit(seconds / 3600, "duration-hour", "short", "#,##0.#", self.locale)
        return format_unit(seconds / 86400, "duration-day", "short", "#,##0.#", self.locale)

    def value(self, kind: str, value: float | None) -> str:
        if value is None:
            return _("no data")
        return {"count": self.number, "share": self.share, "score": self.score, "seconds": self.duration}[
            kind
        ](value)

    def month(self, month: date) -> str:
        return format_skeleton("yMMMM", month, locale=self.locale)

    def day(self, day: date) -> str:
        return format_skeleton("MMMEd", day, locale=self.locale)

    def change(self, kpi: Kpi) -> str:
        """How much it moved, without the direction: points for shares, the difference for ratings
        and times, a percentage for counts (the difference when there was nothing before)."""
        change = abs(kpi.change or 0)
        if kpi.kind == "share":
            return _(
                "%(value)s percentage points",
                value=format_decimal(change * 100, "#,##0.0", locale=self.locale),
            )
        if kpi.kind == "score":
            return self.score(change)
        if kpi.kind == "seconds":
            return self.duration(change)
        if kpi.relative is not None:
            return format_percent(abs(kpi.relative), "#,##0%", locale=self.locale)
        return self.number(change)


def _kpi_line(kpi: Kpi, fmt: _Formats) -> KpiLine:
    if kpi.direction == "none":
        words = _("no comparison")
    elif kpi.direction == "same":
        words = _("unchanged")
    else:
        words = str(CHANGE_TEXTS[(kpi.direction, kpi.verdict)]) % {"change": fmt.change(kpi)}
    return KpiLine(
        key=kpi.key,
        label=str(KPI_LABELS[kpi.key]),
        this_month=fmt.value(kpi.kind, kpi.this_month),
        previous_month=fmt.value(kpi.kind, kpi.previous_month),
        arrow=ARROWS[kpi.direction],
        change=words,
        verdict=kpi.verdict,
        color=TONES[kpi.verdict],
    )


def _bars(items: list[tuple[str, int, str]], fmt: _Formats) -> list[Bar]:
    longest = max((value for _label, value, _note in items), default=0)
    return [
        Bar(label, value, fmt.number(value), round(100 * value / longest, 1) if longest else 0.0, note)
        for label, value, note in items
    ]


def present(figures: MonthlyFigures, language: str) -> MonthlyView:
    """The report with its texts in `language`."""
    locale = invoice_locale(language, figures.currency)
    fmt = _Formats(locale)
    with force_locale(language):
        month, previous = fmt.month(figures.month), fmt.month(figures.previous)

        def earlier(count: int) -> str:
            return _("%(previous)s: %(count)s", previous=previous, count=fmt.number(count))

        created = sum(day.created for day in figures.daily)
        totals = figures.this_totals
        return MonthlyView(
            language=language,
            locale=locale,
            client=figures.tenant_name,
            brand_color=figures.brand_color if HEX_COLOR.match(figures.brand_color or "") else DEFAULT_COLOR,
            month=f"{figures.month:%Y-%m}",
            month_title=month,
            previous_title=previous,
            title=_("Monthly report for %(month)s", month=month),
            comparison=_("Compared with %(month)s", month=previous),
            kpis=[_kpi_line(kpi, fmt) for kpi in figures.kpis],
            daily=_bars([(fmt.day(day.day), day.created, "") for day in figures.daily], fmt),
            daily_summary=ngettext("%(num)d contact this month", "%(num)d contacts this month", created),
            categories=_bars(
                [
                    (str(CATEGORY.get(row.key, row.key)), row.this_month, earlier(row.previous_month))
                    for row in figures.categories
                ],
                fmt,
            ),
            channels=_bars(
                [
                    (str(CHANNEL.get(row.key, row.key)), row.this_month, earlier(row.previous_month))
                    for row in figures.channels
                ],
                fmt,
            ),
            teams=[
                TeamLine(
                    name=team.name,
                    escalations=fmt.number(team.escalations),
                    previous_escalations=earlier(team.previous_escalations),
                    acknowledged_in_time=fmt.value("share", team.ack_compliance),
                    ack_median=fmt.value("seconds", team.ack_median_seconds),
                    resolved=fmt.number(team.resolved),
                    resolved_in_time=fmt.value("share", team.fix_compliance),
                    fix_median=fmt.value("seconds", team.fix_median_seconds),
                )
                for team in figures.teams
            ],
            csat=_bars(
                [(_("Rating %(rating)d", rating=n), figures.ratings[n - 1], "") for n in range(5, 0, -1)],
                fmt,
            ),
            csat_summary=ngettext(
                "%(num)d rating, on average %(average)s",
                "%(num)d ratings, on average %(average)s",
                totals.csat_count,
                average=fmt.value("score", totals.csat_average),
            )
            if totals.csat_count
            else _("No customer rated a ticket this month."),
            empty=figures.empty,
        )
