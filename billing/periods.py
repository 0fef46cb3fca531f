"""Billing months. A client's month runs from midnight of the 1st to midnight of the next 1st in
its own time zone, so a contact at 00:30 on 1 December in Zurich is December's, although it is
still November in UTC."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    first = month_start(day)
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def previous_month(day: date) -> date:
    return month_start(month_start(day) - timedelta(days=1))


def days_in_month(day: date) -> int:
    return (next_month(day) - month_start(day)).days


def utc_bounds(period: date, timezone: str) -> tuple[datetime, datetime]:
    """The month `period` falls in, as UTC instants [start, end) in the zone `timezone`."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(month_start(period), time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(next_month(period), time(), tzinfo=zone).astimezone(UTC)
    return start, end


def local_month(at: datetime, timezone: str) -> date:
    """The first day of the month that instant `at` falls in, in the zone `timezone`."""
    return month_start(at.astimezone(ZoneInfo(timezone)).date())


def parse_month(text: str) -> date | None:
    """'2026-11' (or any day of it, '2026-11-15') -> 2026-11-01; None when it is not a month."""
    match = MONTH_RE.match((text or "").strip())
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3) or 1)).replace(day=1)
    except ValueError:
        return None
