"""Business calendars of a client: when its SLA clocks run, and its holidays.

Weekly hours are written per weekday as "08:00-12:00, 13:00-17:30" (or given as pairs); each
interval must end after it starts and a day's intervals must not overlap. A calendar that is not
open around the clock must have hours on some day: otherwise no clock would ever move.

Holidays are the client's own rows, plus (when `holiday_country` is set) the country's public
holidays straight from the `holidays` package. A client can also copy a country's holidays for
the next years into its own rows, to remove the ones it works on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import available_timezones

from flask_babel import gettext as _
from sqlalchemy import func, select

from core import audit
from core.errors import Conflict, NotFound, ValidationFailed
from core.extensions import db
from escalations.models import Team
from sla.calendar import HOLIDAY_COUNTRIES, format_hhmm, parse_hhmm
from sla.models import BusinessCalendar, CalendarHoliday, SlaPolicy
from tenants.models import Tenant

INTERVAL_RE = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})\s*$")
HOLIDAY_LINE_RE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*(.*?)\s*$")
MAX_HOLIDAY_YEARS = 10
_TIMEZONES: frozenset[str] | None = None

HoursInput = Mapping[str, str | list[list[str]] | list[tuple[str, str]]]


@dataclass
class CalendarInput:
    tenant_id: int
    name: str
    timezone: str
    always_open: bool = False
    # Per weekday ("0" = Monday): "08:00-12:00, 13:00-17:00", or [["08:00", "12:00"], ...].
    hours: HoursInput = field(default_factory=dict)
    holiday_country: str | None = None
    holiday_subdivision: str | None = None


def hours_field(weekday: int) -> str:
    return f"hours_{weekday}"


def hours_text(intervals: Iterable[Iterable[str]]) -> str:
    """[["08:00", "12:00"], ...] as the form shows it."""
    return ", ".join(f"{start}-{end}" for start, end in intervals)


def _valid_timezone(name: str) -> bool:
    global _TIMEZONES
    if _TIMEZONES is None:
        _TIMEZONES = frozenset(available_timezones())
    return name in _TIMEZONES


def _day(
    raw: str | list[list[str]] | list[tuple[str, str]], weekday: int, errors: dict[str, str]
) -> list[list[str]]:
    key = hours_field(weekday)
    if isinstance(raw, str):
        pairs: list[tuple[str, str]] = []
        for part in [p for p in raw.replace(";", ",").split(",") if p.strip()]:
            match = INTERVAL_RE.match(part)
            if match is None:
                errors[key] = _("Write the hours as 08:00-12:00, several separated by commas.")
                return []
            pairs.append((match.group(1), match.group(2)))
    else:
        pairs = [(str(a), str(b)) for a, b in raw]
    spans: list[tuple[int, int]] = []
    for start, end in pairs:
        try:
            a, b = parse_hhmm(start), parse_hhmm(end)
        except ValueError:
            errors[key] = _("Times are HH:MM, from 00:00 to 24:00.")
            return []
        if a >= b:
            errors[key] = _(
                "Each interval must end after it starts (%(interval)s).", interval=f"{start}-{end}"
            )
            return []
        spans.append((a, b))
    spans.sort()
    for (_a, previous_end), (next_start, _b) in zip(spans, spans[1:], strict=False):
        if next_start < previous_end:
            errors[key] = _("The intervals of a day must not overlap.")
            return []
    return [[format_hhmm(a), format_hhmm(b)] for a, b in spans]


def _subdivision(country: str, subdivision: str) -> str | None:
    """The `holidays` package's own spelling of a canton or Land ("zh" -> "ZH"), or None."""
    import holidays

    known = {code.casefold(): code for code in holidays.list_supported_countries().get(country, [])}
    return known.get(subdivision.strip().casefold())


def _validated(data: CalendarInput) -> dict[str, Any]:
    errors: dict[str, str] = {}
    name = " ".join(data.name.split())
    if not 1 <= len(name) <= 120:
        errors["name"] = _("Give a name of at most 120 characters.")
    timezone = data.timezone.strip()
    if not _valid_timezone(timezone):
        errors["timezone"] = _("Choose a valid time zone, such as Europe/Zurich.")
    hours: dict[str, list[list[str]]] = {}
    for weekday in range(7):
        raw = data.hours.get(str(weekday)) or []
        spans = _day(raw, weekday, errors)
        if spans:
            hours[str(weekday)] = spans
    if not data.always_open and not hours and not any(k.startswith("hours_") for k in errors):
        errors["hours"] = _(
            "A calendar that is not open around the clock needs working hours on at least one day."
        )
    country = (data.holiday_country or "").strip().upper() or None
    subdivision = (data.holiday_subdivision or "").strip() or None
    if country is not None and country not in HOLIDAY_COUNTRIES:
        errors["holiday_country"] = _(
            "Public holidays are known for %(countries)s.", countries=", ".join(HOLIDAY_COUNTRIES)
        )
    elif subdivision is not None and country is None:
        errors["holiday_subdivision"] = _("Choose the country of this region first.")
    elif country is not None and subdivision is not None:
        known = _subdivision(country, subdivision)
        if known is None:
            errors["holiday_subdivision"] = _("This region is not known for that country.")
        subdivision = known
    if errors:
        raise ValidationFailed(fields=errors)
    return {
        "name": name,
        "timezone": timezone,
        "always_open": bool(data.always_open),
        "hours": hours,
        "holiday_country": country,
        "holiday_subdivision": subdivision,
    }


def check(data: CalendarInput) -> None:
    """Refuse, field by field, what `create` would refuse for its input alone: the onboarding
    wizard checks its calendar step before the client (and so `tenant_id`) exists."""
    _validated(data)


def _unique(tenant_id: int, name: str, exclude: int | None = None) -> None:
    clash = db.session.scalar(
        select(BusinessCalendar.id).where(
            BusinessCalendar.tenant_id == tenant_id, BusinessCalendar.name == name
        )
    )
    if clash is not None and clash != exclude:
        raise ValidationFailed(fields={"name": _("This client already has a calendar of that name.")})


def create(data: CalendarInput) -> BusinessCalendar:
    if db.session.get(Tenant, data.tenant_id) is None:
        raise NotFound(_("Not found."))
    values = _validated(data)
    _unique(data.tenant_id, values["name"])
    calendar = BusinessCalendar(tenant_id=data.tenant_id, **values)
    db.session.add(calendar)
    db.session.flush()
    audit.record("sla_calendar.created", tenant_id=calendar.tenant_id, target=calendar)
    return calendar


def update(calendar: BusinessCalendar, data: CalendarInput) -> BusinessCalendar:
    """New hours apply to due times computed from now on; running due times are not moved."""
    values = _validated(data)
    _unique(calendar.tenant_id, values["name"], exclude=calendar.id)
    for key, value in values.items():
        setattr(calendar, key, value)
    db.session.flush()
    audit.record("sla_calendar.updated", tenant_id=calendar.tenant_id, target=calendar)
    return calendar


def users_of(calendar: BusinessCalendar) -> list[str]:
    """Names of the policies and teams that count in this calendar."""
    policies = db.session.scalars(
        select(SlaPolicy.name).where(
            SlaPolicy.tenant_id == calendar.tenant_id, SlaPolicy.calendar_id == calendar.id
        )
    )
    teams = db.session.scalars(
        select(Team.name).where(Team.tenant_id == calendar.tenant_id, Team.calendar_id == calendar.id)
    )
    return [*policies, *teams]


def delete(calendar: BusinessCalendar) -> None:
    """Refused while a policy or team uses it: they would silently start counting 24/7."""
    used = users_of(calendar)
    if used:
        raise Conflict(
            _(
                "This calendar is still used by %(names)s; give them another calendar first.",
                names=", ".join(used),
            )
        )
    audit.record(
        "sla_calendar.deleted", tenant_id=calendar.tenant_id, target=calendar, data={"name": calendar.name}
    )
    db.session.delete(calendar)
    db.session.flush()


def get(calendar_id: int) -> BusinessCalendar:
    calendar = db.session.get(BusinessCalendar, calendar_id)
    if calendar is None:
        raise NotFound(_("Not found."))
    return calendar


def listing(tenant_ids: Iterable[int]) -> list[BusinessCalendar]:
    ids = list(tenant_ids)
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(BusinessCalendar)
            .where(BusinessCalendar.tenant_id.in_(ids))
            .order_by(BusinessCalendar.tenant_id, BusinessCalendar.name)
        )
    )


# --- holidays ---------------------------------------------------------------------------------


def holidays_of(calendar: BusinessCalendar, since: date | None = None) -> list[CalendarHoliday]:
    query = select(CalendarHoliday).where(
        CalendarHoliday.tenant_id == calendar.tenant_id, CalendarHoliday.calendar_id == calendar.id
    )
    if since is not None:
        query = query.where(CalendarHoliday.day >= since)
    return list(db.session.scalars(query.order_by(CalendarHoliday.day)))


def parse_holiday_lines(text: str) -> list[tuple[date, str]]:
    """Pasted lines "YYYY-MM-DD name"; blank lines and lines starting with # are skipped."""
    rows: list[tuple[date, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = HOLIDAY_LINE_RE.match(line)
        try:
            day = date.fromisoformat(match.group(1)) if match else None
        except ValueError:
            day = None
        if day is None or match is None:
            raise ValidationFailed(
                fields={
                    "holidays": _(
                        "Line %(number)d: write the date as YYYY-MM-DD, then the name.", number=number
                    )
                }
            )
        rows.append((day, match.group(2)[:200]))
    if not rows:
        raise ValidationFailed(
            fields={"holidays": _("Paste at least one line such as 2026-12-24 Christmas Eve.")}
        )
    return rows


def add_holidays(calendar: BusinessCalendar, rows: Iterable[tuple[date, str]]) -> int:
    """Add (or rename) holidays by day; returns how many days were new."""
    existing = {h.day: h for h in holidays_of(calendar)}
    added = 0
    for day, name in rows:
        if day in existing:
            existing[day].name = name or existing[day].name
            continue
        holiday = CalendarHoliday(tenant_id=calendar.tenant_id, calendar_id=calendar.id, day=day, name=name)
        db.session.add(holiday)
        existing[day] = holiday
        added += 1
    db.session.flush()
    audit.record(
        "sla_calendar.holidays_added", tenant_id=calendar.tenant_id, target=calendar, data={"added": added}
    )
    return added


def national_holiday_rows(
    country: str, subdivision: str | None, first_year: int, years: int
) -> list[tuple[date, str]]:
    """A country's public holidays for `years` years from `first_year`, from `holidays`."""
    import holidays

    country = country.strip().upper()
    if country not in HOLIDAY_COUNTRIES:
        raise ValidationFailed(
            fields={
                "holiday_country": _(
                    "Public holidays are known for %(countries)s.", countries=", ".join(HOLIDAY_COUNTRIES)
                )
            }
        )
    if not 1 <= years <= MAX_HOLIDAY_YEARS:
        raise ValidationFailed(fields={"years": _("Load from 1 to %(max)d years.", max=MAX_HOLIDAY_YEARS)})
    if subdivision:
        subdivision = _subdivision(country, subdivision)
        if subdivision is None:
            raise ValidationFailed(
                fields={"holiday_subdivision": _("This region is not known for that country.")}
            )
    found = holidays.country_holidays(
        country, subdiv=subdivision or None, years=range(first_year, first_year + years)
    )
    return sorted((day, str(name)[:200]) for day, name in found.items())


def delete_holiday(calendar: BusinessCalendar, holiday_id: int) -> None:
    holiday = db.session.get(CalendarHoliday, holiday_id)
    if holiday is None or holiday.calendar_id != calendar.id or holiday.tenant_id != calendar.tenant_id:
        raise NotFound(_("Not found."))
    db.session.delete(holiday)
    db.session.flush()
    audit.record(
        "sla_calendar.holiday_deleted",
        tenant_id=calendar.tenant_id,
        target=calendar,
        data={"day": holiday.day.isoformat()},
    )


def holiday_count(calendar: BusinessCalendar) -> int:
    return int(
        db.session.scalar(
            select(func.count()).where(
                CalendarHoliday.tenant_id == calendar.tenant_id, CalendarHoliday.calendar_id == calendar.id
            )
        )
        or 0
    )
