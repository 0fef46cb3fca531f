"""The monthly client report: one client's month against the month before, and its mailing.

The figures are two `metrics.report` calls over the client's local months, read from the
rollups. The mailing rebuilds the rollups of both months first, so late changes (a survey
answered a week later, a category corrected) are in; the portal and the API read what the
scheduler keeps.

`send_month` is idempotent through `MonthlyReport`: a month that has a row is not sent again
unless forced. Each active client admin gets the report in their own language (else the
client's), as an HTML mail with the PDF attached, through the outbox.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from billing.periods import local_month, month_start, next_month, parse_month, previous_month
from core import audit
from core.auth.models import User
from core.auth.roles import Role
from core.extensions import db
from core.i18n import locale_of
from core.mail import absolute_url, send_email
from core.models_base import utcnow
from escalations.models import Team
from reports import monthly_pdf, rollup
from reports.metrics import Figures, Query, Report, Source, report
from reports.models import MonthlyReport
from reports.monthly_present import MonthlyView, present
from tenants.models import Tenant
from tickets import attachments
from tickets.models import Ticket

Kind = Literal["count", "share", "score", "seconds"]
Better = Literal["higher", "lower", "neutral"]
# How many months the portal lists, newest first.
MONTHS_LISTED = 24
TOP_CATEGORIES = 6
MONTH_RE = re.compile(r"^\d{4}-\d{2}$")
# Differences smaller than these read as "unchanged" (a share moving by 0.01 points is noise).
SAME_WITHIN: dict[str, float] = {"count": 0, "share": 0.0005, "score": 0.005, "seconds": 0}


@dataclass(frozen=True)
class Kpi:
    """One measure in both months; `change` is the difference, `relative` the ratio to before."""

    key: str
    kind: Kind
    better: Better
    this_month: float | None
    previous_month: float | None

    @property
    def change(self) -> float | None:
        if self.this_month is None or self.previous_month is None:
            return None
        return self.this_month - self.previous_month

    @property
    def relative(self) -> float | None:
        if self.change is None or not self.previous_month:
            return None
        return self.change / self.previous_month

    @property
    def direction(self) -> Literal["up", "down", "same", "none"]:
        if self.change is None:
            return "none"
        if abs(self.change) <= SAME_WITHIN[self.kind]:
            return "same"
        return "up" if self.change > 0 else "down"

    @property
    def verdict(self) -> Literal["better", "worse", "neutral"]:
        if self.better == "neutral" or self.direction in ("same", "none"):
            return "neutral"
        return "better" if (self.direction == "up") == (self.better == "higher") else "worse"

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "change": self.change,
            "relative_change": self.relative,
            "direction": self.direction,
            "verdict": self.verdict,
        }


# The measures of the KPI table, in order: key, kind, which way is better, how to read it.
KPIS: tuple[tuple[str, Kind, Better], ...] = (
    ("created", "count", "neutral"),
    ("resolved", "count", "neutral"),
    ("fcr_rate", "share", "higher"),
    ("l1_rate", "share", "higher"),
    ("l2_rate", "share", "lower"),
    ("l3_rate", "share", "lower"),
    ("deflection_rate", "share", "higher"),
    ("fr_compliance", "share", "higher"),
    ("res_compliance", "share", "higher"),
    ("frt_median", "seconds", "lower"),
    ("res_median", "seconds", "lower"),
    ("ack_compliance", "share", "higher"),
    ("fix_compliance", "share", "higher"),
    ("csat_average", "score", "higher"),
    ("csat_positive", "share", "higher"),
    ("handle_average", "seconds", "neutral"),
)
MEDIANS = {"frt_median": "frt_cal", "res_median": "res_cal"}


def _value(figures: Figures, key: str) -> float | None:
    if key in MEDIANS:
        return figures.percentile(MEDIANS[key], 50)
    return getattr(figures, key)


@dataclass(frozen=True)
class Count:
    """A breakdown row (a category, a channel): tickets created in both months."""

    key: str
    this_month: int
    previous_month: int


@dataclass(frozen=True)
class TeamFigures:
    """A client team's month: escalations received, acknowledged and resolved, in time or not.
    Times are the median in the team's business hours (its targets count in them too)."""

    id: int
    name: str
    level: int
    escalations: int
    previous_escalations: int
    acknowledged: int
    ack_compliance: float | None
    ack_median_seconds: int | None
    resolved: int
    fix_compliance: float | None
    fix_median_seconds: int | None


@dataclass(frozen=True)
class DayFigures:
    day: date
    created: int
    resolved: int


@dataclass(frozen=True)
class MonthlyFigures:
    tenant_id: int
    tenant_slug: str
    tenant_name: str
    brand_color: str
    currency: str
    default_language: str
    month: date
    previous: date
    kpis: list[Kpi]
    daily: list[DayFigures]
    categories: list[Count]
    channels: list[Count]
    teams: list[TeamFigures]
    ratings: list[int]  # answers rated 1..5
    this_totals: Figures = field(repr=False)
    previous_totals: Figures = field(repr=False)
    built_at: datetime | None = None

    @property
    def empty(self) -> bool:
        """Nothing happened in either month (a client that has just started)."""
        return not any(k.this_month or k.previous_month for k in self.kpis if k.kind == "count")

    def kpi(self, key: str) -> Kpi:
        return next(k for k in self.kpis if k.key == key)

    def as_dict(self) -> dict[str, Any]:
        """The JSON of the API and of the snapshot kept with a sent report."""
        csat = self.this_totals
        return {
            "tenant": {"id": self.tenant_id, "slug": self.tenant_slug, "name": self.tenant_name},
            "month": f"{self.month:%Y-%m}",
            "previous_month": f"{self.previous:%Y-%m}",
            "kpis": [kpi.as_dict() for kpi in self.kpis],
            "daily": [{**asdict(d), "day": d.day.isoformat()} for d in self.daily],
            "categories": [asdict(c) for c in self.categories],
            "channels": [asdict(c) for c in self.channels],
            "teams": [asdict(t) for t in self.teams],
            "csat": {
                "count": csat.csat_count,
                "average": csat.csat_average,
                "positive": csat.csat_positive,
                "ratings": list(self.ratings),
            },
            "totals": {
                "this_month": self.this_totals.as_dict(),
                "previous_month": self.previous_totals.as_dict(),
            },
            "built_at": self.built_at.isoformat() if self.built_at else None,
        }


def last_day(month: date) -> date:
    return next_month(month) - timedelta(days=1)


def _counts(this: Report, before: Report, dim: str, limit: int | None = None) -> list[Count]:
    now, then = this.by.get(dim, {}), before.by.get(dim, {})
    rows = [Count(key, now[key].created if key in now else 0, then[key].created if key in then else 0)
            for key in {*now, *then}]  # fmt: skip
    rows = [row for row in rows if row.this_month or row.previous_month]
    rows.sort(key=lambda row: (-row.this_month, -row.previous_month, row.key))
    return rows[:limit] if limit else rows


def _teams(tenant_id: int, this: Report, before: Report) -> list[TeamFigures]:
    now, then = this.by.get("team", {}), before.by.get("team", {})
    names = {
        str(team.id): team
        for team in db.session.scalars(select(Team).where(Team.tenant_id == tenant_id).order_by(Team.name))
    }
    rows = []
    for key, team in names.items():
        figures, earlier = now.get(key) or Figures(), then.get(key) or Figures()
        if not (figures.esc_created or figures.esc_acked or figures.esc_resolved or earlier.esc_created):
            continue
        rows.append(
            TeamFigures(
                id=team.id,
                name=team.name,
                level=team.level,
                escalations=figures.esc_created,
                previous_escalations=earlier.esc_created,
                acknowledged=figures.esc_acked,
                ack_compliance=figures.ack_compliance,
                ack_median_seconds=figures.percentile("ack_biz", 50),
                resolved=figures.esc_resolved,
                fix_compliance=figures.fix_compliance,
                fix_median_seconds=figures.percentile("fix_biz", 50),
            )
        )
    rows.sort(key=lambda row: (row.level, row.name))
    return rows


def figures_of(tenant: Tenant, month: date, this: Report, before: Report) -> MonthlyFigures:
    return MonthlyFigures(
        tenant_id=tenant.id,
        tenant_slug=tenant.slug,
        tenant_name=tenant.name,
        brand_color=tenant.brand_color,
        currency=tenant.currency,
        default_language=tenant.default_language,
        month=month,
        previous=previous_month(month),
        kpis=[
            Kpi(key, kind, better, _value(this.totals, key), _value(before.totals, key))
            for key, kind, better in KPIS
        ],
        daily=[DayFigures(day, figures.created, figures.resolved) for day, figures in this.days],
        categories=_counts(this, before, "category", TOP_CATEGORIES),
        channels=_counts(this, before, "channel"),
        teams=_teams(tenant.id, this, before),
        ratings=list(this.totals.row.ratings),
        this_totals=this.totals,
        previous_totals=before.totals,
        built_at=this.built_at,
    )


def month_report(
    tenant: Tenant, month: date, *, rebuild: bool = True, now: datetime | None = None
) -> MonthlyFigures:
    """`month` (any day of it) of `tenant` against the month before, over the client's local days.
    Read from the rollups, which the scheduler keeps (the last 35 days daily; older months do not
    change), so a page stays fast for a client with a million tickets and a GET writes nothing.
    With `rebuild` (the mailing) both months are rebuilt first, so late changes are in."""
    month = month_start(month)
    earlier = previous_month(month)
    source: Source = "rollup"
    if rebuild:
        rollup.rebuild(tenant.id, earlier, last_day(month), now)
    this = report(Query((tenant.id,), month, last_day(month)), source)
    before = report(Query((tenant.id,), earlier, last_day(earlier)), source)
    return figures_of(tenant, month, this, before)


def parse_report_month(text: str | None) -> date | None:
    """'2026-03' -> 2026-03-01; anything else (a day, a word, month 13) -> None."""
    return parse_month(text or "") if MONTH_RE.match(text or "") else None


def current_month(tenant: Tenant, now: datetime | None = None) -> date:
    return local_month(now or utcnow(), tenant.timezone)


def is_reportable(tenant: Tenant, month: date, now: datetime | None = None) -> bool:
    """A month can be reported on once it is over in the client's time zone."""
    return date(2000, 1, 1) <= month < current_month(tenant, now)


def months_of(tenant: Tenant, now: datetime | None = None) -> list[date]:
    """The months the portal offers, newest first: from the client's first ticket to last month,
    at most `MONTHS_LISTED`."""
    first = db.session.scalar(select(func.min(Ticket.created_at)).where(Ticket.tenant_id == tenant.id))
    if first is None:
        return []
    oldest = local_month(first, tenant.timezone)
    months: list[date] = []
    month = previous_month(current_month(tenant, now))
    while month >= oldest and len(months) < MONTHS_LISTED:
        months.append(month)
        month = previous_month(month)
    return months


# --- the mailing -------------------------------------------------------------------------------


def recipients(tenant_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.tenant_id == tenant_id, User.role == Role.CLIENT_ADMIN.value, User.is_active.is_(True)
            )
            .order_by(User.id)
        )
    )


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str
    pdf: bytes
    filename: str


def render_mail(figures: MonthlyFigures, language: str) -> RenderedMail:
    """The report in `language`: subject, text and HTML bodies, and the PDF."""
    link = absolute_url("monthly_reports.view", month=f"{figures.month:%Y-%m}")
    with force_locale(language):
        view: MonthlyView = present(figures, language)
        subject = _(
            "%(client)s: monthly report for %(month)s", client=figures.tenant_name, month=view.month_title
        )
        text = render_template("reports/email/monthly.txt", view=view, link=link)
        html = render_template("reports/email/monthly.html", view=view, link=link, subject=subject)
    filename = f"{figures.tenant_slug}-{figures.month:%Y-%m}.pdf"
    return RenderedMail(subject, text, html, monthly_pdf.render(view), filename)


def send_month(
    tenant_id: int, month: date, now: datetime | None = None, *, force: bool = False
) -> MonthlyReport | None:
    """Mail `month`'s report to each active client admin of the tenant and record it; None when
    the month was sent already (and not `force`d). Flushes; the caller commits, and the mails
    leave through the outbox after that commit."""
    now = now or utcnow()
    month = month_start(month)
    tenant = db.session.get_one(Tenant, tenant_id)
    row = db.session.scalar(
        select(MonthlyReport).where(MonthlyReport.tenant_id == tenant_id, MonthlyReport.month == month)
    )
    if row is not None and not force:
        return None
    figures = month_report(tenant, month, now=now)
    people = recipients(tenant_id)
    rendered: dict[str, tuple[RenderedMail, str]] = {}
    for person in people:
        language = locale_of(person, tenant.default_language)
        if language not in rendered:
            mail = render_mail(figures, language)
            rendered[language] = (
                mail,
                f"attachments/{tenant_id}/{attachments.write_blob(tenant_id, mail.pdf)}",
            )
        mail, path = rendered[language]
        send_email(
            to=person.email,
            subject=mail.subject,
            text=mail.text,
            html=mail.html,
            tenant_id=tenant_id,
            headers={"Auto-Submitted": "auto-generated"},
            dedupe_key=f"monthly:{tenant_id}:{month:%Y-%m}:{int(now.timestamp())}:{person.id}",
            attachments=[{"filename": mail.filename, "content_type": "application/pdf", "path": path}],
        )
    if row is None:
        row = MonthlyReport(tenant_id=tenant_id, month=month)
        db.session.add(row)
    row.recipients = [person.email for person in people]
    row.data = figures.as_dict()
    row.sent_at = now
    audit.record(
        "reports.monthly_sent",
        tenant_id=tenant_id,
        data={"month": f"{month:%Y-%m}", "recipients": len(people), "forced": force},
    )
    db.session.flush()
    return row
