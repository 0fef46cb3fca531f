"""Translatable names of the SLA clocks and events, and the remaining time as people read it."""

from __future__ import annotations

from datetime import timedelta

from babel import Locale
from babel.lists import format_list
from babel.units import format_unit
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

CLOCK = {
    "first_response": _l("First response"),
    "next_response": _l("Next response"),
    "resolution": _l("Resolution"),
    "team_ack": _l("Team acknowledgement"),
    "team_resolve": _l("Team resolution"),
}
KIND = {"warning": _l("Warning"), "breach": _l("Breach")}


def label(table: dict[str, object], key: str | None) -> str:
    return str(table.get(key or "", key or ""))


def weekday_names(locale: Locale | None = None) -> list[str]:
    """Monday first, in the reader's language (CLDR)."""
    days = (locale or get_locale() or Locale("en")).days["format"]["wide"]
    return [str(days[i]) for i in range(7)]


def duration(delta: timedelta, locale: Locale | str | None = None) -> str:
    """'1 hr, 25 min' / '1 Std., 25 Min.': the two largest units, CLDR-formatted, never negative."""
    locale = locale or get_locale() or "en"
    minutes = int(abs(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [
        format_unit(value, unit, length="short", locale=locale)
        for value, unit in ((days, "duration-day"), (hours, "duration-hour"), (mins, "duration-minute"))
        if value
    ][:2]
    if not parts:
        parts = [format_unit(0, "duration-minute", length="short", locale=locale)]
    return format_list(parts, style="unit-short", locale=locale)
