"""The daily rollups the dashboards read, and the record of each monthly client report sent."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models_base import utcnow
from core.tenancy import TenantScoped

# The counters of a rollup row, in one place: the builder fills them, the reader sums them.
COUNTERS = (
    "created",
    "resolved",
    "fcr",
    "l1_resolved",
    "reached_l2",
    "reached_l3",
    "kb_resolved",
    "handle_seconds",
    "first_responses",
    "fr_due",
    "fr_met",
    "res_due",
    "res_met",
    "esc_created",
    "esc_created_l2",
    "esc_created_l3",
    "esc_acked",
    "ack_due",
    "ack_met",
    "esc_resolved",
    "fix_due",
    "fix_met",
    "csat_count",
    "csat_sum",
    "csat_good",
    "kb_searches",
    "kb_searches_empty",
)


class ReportDaily(TenantScoped, db.Model):
    """What happened on one local day of one client, in total (`dim` "all") and per value of one
    dimension (channel, language, category, team, agent): counters, duration histograms and the
    contacts per hour. Rebuilt from the raw records (reports.rollup), so it can always be dropped.

    Each event counts on the day it happened in the client's time zone: a ticket on the day it
    was created, its first answer on the day of that answer, its resolution on the day resolved.
    """

    __tablename__ = "report_daily"
    __table_args__ = (
        UniqueConstraint("tenant_id", "day", "dim", "key", name="uq_report_daily_tenant_id_day_dim_key"),
        Index("ix_report_daily_tenant_id_dim_day", "tenant_id", "dim", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    dim: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(40))
    created: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    fcr: Mapped[int] = mapped_column(Integer, default=0)
    l1_resolved: Mapped[int] = mapped_column(Integer, default=0)
    reached_l2: Mapped[int] = mapped_column(Integer, default=0)
    reached_l3: Mapped[int] = mapped_column(Integer, default=0)
    kb_resolved: Mapped[int] = mapped_column(Integer, default=0)
    handle_seconds: Mapped[int] = mapped_column(Integer, default=0)
    first_responses: Mapped[int] = mapped_column(Integer, default=0)
    fr_due: Mapped[int] = mapped_column(Integer, default=0)
    fr_met: Mapped[int] = mapped_column(Integer, default=0)
    res_due: Mapped[int] = mapped_column(Integer, default=0)
    res_met: Mapped[int] = mapped_column(Integer, default=0)
    esc_created: Mapped[int] = mapped_column(Integer, default=0)
    esc_created_l2: Mapped[int] = mapped_column(Integer, default=0)
    esc_created_l3: Mapped[int] = mapped_column(Integer, default=0)
    esc_acked: Mapped[int] = mapped_column(Integer, default=0)
    ack_due: Mapped[int] = mapped_column(Integer, default=0)
    ack_met: Mapped[int] = mapped_column(Integer, default=0)
    esc_resolved: Mapped[int] = mapped_column(Integer, default=0)
    fix_due: Mapped[int] = mapped_column(Integer, default=0)
    fix_met: Mapped[int] = mapped_column(Integer, default=0)
    csat_count: Mapped[int] = mapped_column(Integer, default=0)
    csat_sum: Mapped[int] = mapped_column(Integer, default=0)
    csat_good: Mapped[int] = mapped_column(Integer, default=0)  # rated 4 or 5
    kb_searches: Mapped[int] = mapped_column(Integer, default=0)
    kb_searches_empty: Mapped[int] = mapped_column(Integer, default=0)
    # Contacts created per local hour (24 numbers): with the day's weekday, the staffing heatmap.
    hours: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Ratings 1..5 (5 numbers), for the distribution.
    ratings: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Duration histograms (reports.histogram): {"frt_cal": {"12": 3, ...}, "res_biz": {...}, ...}.
    hist: Mapped[dict[str, dict[str, int]]] = mapped_column(JSON, default=dict)
    built_at: Mapped[datetime] = mapped_column(default=utcnow)


class MonthlyReport(TenantScoped, db.Model):
    """A monthly client report that was sent: the record that makes the monthly run idempotent."""

    __tablename__ = "monthly_reports"
    __table_args__ = (UniqueConstraint("tenant_id", "month", name="uq_monthly_reports_tenant_id_month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The first day of the month reported on.
    month: Mapped[date] = mapped_column(Date)
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
