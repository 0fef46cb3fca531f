"""Business-time arithmetic: how much working time lies between two instants, and when a number
of working minutes after an instant ends.

A calendar's weekly hours are wall-clock times in its own time zone; each day's open intervals
are turned into UTC instants once (so a day of a DST switch is simply shorter or longer) and the
arithmetic walks those intervals day by day, never minute by minute. Rules at the switches:

- an opening or closing time that does not exist that day (the hour skipped in spring) is the
  instant of the switch, so the interval just loses the skipped part;
- a time that occurs twice (the hour repeated in autumn) is its first occurrence, the same for
  starts and ends, so adjacent intervals still meet exactly.

`None` (no calendar) and an `always_open` calendar are 24/7: plain time differences.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core.extensions import db
from sla.models import BusinessCalendar, CalendarHoliday

MINUTE = 60
DAY_MINUTES = 24 * 60
# Past this many days without a single open minute the calendar is broken, not just closed.
MAX_SEARCH_DAYS = 3 * 366
HOLIDAY_COUNTRIES = ("CH", "DE", "FR", "IT")

Interval = tuple[int, int]  # minutes after local midnight, end exclusive, 0 <= start < end <= 1440


def parse_hhmm(value: str) -> int:
    """'08:30' -> 510; '24:00' is the end of the day. Raises ValueError for anything else."""
    hours, sep, minutes = value.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(value)
    total = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or total > DAY_MINUTES:
        raise ValueError(value)
    return total


def format_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@functools.lru_cache(maxsize=256)
def national_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """Public holidays of a country (and canton/Land) from the `holidays` package, per year."""
    import holidays

    return frozenset(holidays.country_holidays(country, subdiv=subdivision or None, years=year).keys())


@dataclass(eq=False)
class Schedule:
    """A calendar compiled for arithmetic: weekly intervals, holidays, and a per-day cache of the
    open intervals as UTC instants. Build one per calendar and reuse it across many tickets."""

    tz: ZoneInfo
    week: tuple[tuple[Interval, ...], ...]  # Monday first
    own_holidays: frozenset[date] = frozenset()
    country: str | None = None
    subdivision: str | None = None
    _days: dict[date, tuple[tuple[datetime, datetime], ...]] = field(default_factory=dict, repr=False)

    def is_holiday(self, day: date) -> bool:
        if day in self.own_holidays:
            return True
        return bool(self.country) and day in national_holidays(str(self.country), self.subdivision, day.year)

    def open_intervals(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The day's open intervals (local date) as UTC instants, in order."""
        cached = self._days.get(day)
        if cached is None:
            spans = () if self.is_holiday(day) else self.week[day.weekday()]
            converted = ((_to_utc(day, start, self.tz), _to_utc(day, end, self.tz)) for start, end in spans)
            cached = tuple((start, end) for start, end in converted if start < end)
            if len(self._days) > 4096:
                self._days.clear()
            self._days[day] = cached
        return cached

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()


Calendar = BusinessCalendar | Schedule | None


def _to_utc(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    if minutes >= DAY_MINUTES:
        day, minutes = day + timedelta(days=1), minutes - DAY_MINUTES
    local = datetime.combine(day, time(minutes // 60, minutes % 60))
    first = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == local:
        return first  # exists (if it occurs twice, this is the first time)
    # In the gap of a spring switch: fold=0 and fold=1 land on either side of the switch.
    low = local.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = first
    offset = high.astimezone(tz).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).utcoffset() == offset:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0) if high.microsecond else high


def compile_hours(hours: dict[str, list[list[str]]] | None) -> tuple[tuple[Interval, ...], ...]:
    week: list[tuple[Interval, ...]] = []
    for weekday in range(7):
        spans = [(parse_hhmm(a), parse_hhmm(b)) for a, b in (hours or {}).get(str(weekday), [])]
        week.append(tuple(sorted(spans)))
    return tuple(week)


def schedule_of(calendar: BusinessCalendar, holidays: Iterable[date] | None = None) -> Schedule | None:
    """Compile a calendar (None when it is always open); its holiday rows are read unless given."""
    if calendar.always_open:
        return None
    if holidays is None:
        holidays = db.session.scalars(
            select(CalendarHoliday.day).where(
                CalendarHoliday.tenant_id == calendar.tenant_id, CalendarHoliday.calendar_id == calendar.id
            )
        )
    return Schedule(
        tz=ZoneInfo(calendar.timezone),
        week=compile_hours(calendar.hours),
        own_holidays=frozenset(holidays),
        country=calendar.holiday_country or None,
        subdivision=calendar.holiday_subdivision or None,
    )


def _schedule(calendar: Calendar) -> Schedule | None:
    if calendar is None or isinstance(calendar, Schedule):
        return calendar
    return schedule_of(calendar)


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("business-time arithmetic needs timezone-aware datetimes")
    return at.astimezone(UTC)


def _days_from(schedule: Schedule, day: date, step: int) -> Iterable[date]:
    for offset in range(MAX_SEARCH_DAYS):
        yield day + timedelta(days=offset * step)
    raise ValueError("this calendar has no open hours")


# --- the arithmetic ---------------------------------------------------------------------------


def add_business_seconds(calendar: Calendar, start: datetime, seconds: float) -> datetime:
    """The instant when `seconds` of open time have passed after `start` (before it if negative)."""
    schedule = _schedule(calendar)
    start = _utc(start)
    if schedule is None or seconds == 0:
        return start + timedelta(seconds=seconds)
    remaining = timedelta(seconds=abs(seconds))
    if seconds > 0:
        cursor = start
        for day in _days_from(schedule, schedule.local_date(start) - timedelta(days=1), 1):
            for opens, closes in schedule.open_intervals(day):
                if closes <= cursor:
                    continue
                begin = max(opens, cursor)
                if remaining <= closes - begin:
                    return begin + remaining
                remaining -= closes - begin
                cursor = closes
    cursor = start
    for day in _days_from(schedule, schedule.local_date(start) + timedelta(days=1), -1):
        for opens, closes in reversed(schedule.open_intervals(day)):
            if opens >= cursor:
                continue
            end = min(closes, cursor)
            if remaining <= end - opens:
                return end - remaining
            remaining -= end - opens
            cursor = opens
    raise AssertionError("unreachable")  # pragma: no cover


def add_business_minutes(calendar: Calendar, start_utc: datetime, minutes: float) -> datetime:
    """The instant when `minutes` of open time have passed after `start_utc` (negative: before)."""
    return add_business_seconds(calendar, start_utc, minutes * MINUTE)


def business_seconds_between(calendar: Calendar, a_utc: datetime, b_utc: datetime) -> float:
    """Open time from `a` to `b` in seconds; negative when `b` is before `a`."""
    schedule = _schedule(calendar)
    a, b = _utc(a_utc), _utc(b_utc)
    if b < a:
        return -business_seconds_between(schedule, b, a)
    if schedule is None:
        return (b - a).total_seconds()
    total = timedelta()
    day, last = schedule.local_date(a) - timedelta(days=1), schedule.local_date(b)
    while day <= last:
        for opens, closes in schedule.open_intervals(day):
            begin, end = max(opens, a), min(closes, b)
            if begin < end:
                total += end - begin
        day += timedelta(days=1)
    return total.total_seconds()


def business_minutes_between(calendar: Calendar, a_utc: datetime, b_utc: datetime) -> int:
    """Whole minutes of open time from `a` to `b` (truncated; negative when `b` is before `a`)."""
    return int(business_seconds_between(calendar, a_utc, b_utc) / MINUTE)


def is_open(calendar: Calendar, at_utc: datetime) -> bool:
    schedule = _schedule(calendar)
    if schedule is None:
        return True
    at = _utc(at_utc)
    day = schedule.local_date(at)
    return any(
        opens <= at < closes
        for d in (day - timedelta(days=1), day)
        for opens, closes in schedule.open_intervals(d)
    )


def next_open(calendar: Calendar, at_utc: datetime) -> datetime:
    """`at_utc` itself when open, else the next opening."""
    schedule = _schedule(calendar)
    at = _utc(at_utc)
    if schedule is None:
        return at
    for day in _days_from(schedule, schedule.local_date(at) - timedelta(days=1), 1):
        for opens, closes in schedule.open_intervals(day):
            if closes > at:
                return max(opens, at)
    raise AssertionError("unreachable")  # pragma: no cover
