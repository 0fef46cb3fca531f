"""Business-time arithmetic: weekly hours, holidays, and the DST switches of Europe/Zurich."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla import calendars
from sla.calendar import (
    Schedule,
    add_business_minutes,
    business_minutes_between,
    compile_hours,
    is_open,
    national_holidays,
    next_open,
)
from tests.factories import World

ZURICH = ZoneInfo("Europe/Zurich")
OFFICE = {str(day): [["08:00", "12:00"], ["13:00", "18:00"]] for day in range(5)}
ALL_DAY = {str(day): [["00:00", "24:00"]] for day in range(7)}
NIGHT = {str(day): [["01:00", "04:00"]] for day in range(7)}


def zurich(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZURICH, fold=fold)  # type: ignore[misc]


def schedule(hours: dict[str, list[list[str]]], **kwargs: object) -> Schedule:
    return Schedule(tz=ZURICH, week=compile_hours(hours), **kwargs)  # type: ignore[arg-type]


def test_without_a_calendar_time_runs_around_the_clock() -> None:
    start = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert add_business_minutes(None, start, 90) == start + timedelta(minutes=90)
    assert business_minutes_between(None, start, start + timedelta(hours=2)) == 120
    assert is_open(None, start)
    assert next_open(None, start) == start


def test_minutes_skip_the_lunch_break_the_night_and_the_weekend() -> None:
    office = schedule(OFFICE)
    friday = zurich(2026, 6, 12, 11, 30)
    assert add_business_minutes(office, friday, 30) == zurich(2026, 6, 12, 12, 0)
    assert add_business_minutes(office, friday, 31) == zurich(2026, 6, 12, 13, 1)
    # 30 + 300 minutes on Friday, the rest on Monday.
    assert add_business_minutes(office, friday, 400) == zurich(2026, 6, 15, 9, 10)
    assert business_minutes_between(office, friday, zurich(2026, 6, 15, 9, 10)) == 400
    assert business_minutes_between(office, zurich(2026, 6, 15, 9, 10), friday) == -400


def test_starting_while_closed_counts_from_the_next_opening() -> None:
    office = schedule(OFFICE)
    saturday = zurich(2026, 6, 13, 10, 0)
    assert not is_open(office, saturday)
    assert next_open(office, saturday) == zurich(2026, 6, 15, 8, 0)
    assert add_business_minutes(office, saturday, 60) == zurich(2026, 6, 15, 9, 0)
    assert is_open(office, zurich(2026, 6, 15, 8, 0))
    assert not is_open(office, zurich(2026, 6, 15, 12, 0))


def test_negative_minutes_go_back_in_business_time() -> None:
    office = schedule(OFFICE)
    monday = zurich(2026, 6, 15, 8, 30)
    assert add_business_minutes(office, monday, -60) == zurich(2026, 6, 12, 17, 30)


def test_swiss_holidays_of_the_canton_close_the_calendar() -> None:
    office = schedule(OFFICE, country="CH", subdivision="ZH")
    thursday = zurich(2026, 4, 2, 16, 0)  # before Good Friday; Easter Monday follows the weekend
    assert add_business_minutes(office, thursday, 180) == zurich(2026, 4, 7, 9, 0)
    assert not is_open(office, zurich(2026, 4, 3, 10, 0))
    assert next_open(office, zurich(2026, 4, 3, 10, 0)) == zurich(2026, 4, 7, 8, 0)
    assert date(2026, 8, 1) in national_holidays("CH", "ZH", 2026)


def test_own_holidays_count_like_public_ones() -> None:
    office = schedule(OFFICE, own_holidays=frozenset({date(2026, 6, 15)}))
    assert add_business_minutes(office, zurich(2026, 6, 12, 17, 0), 120) == zurich(2026, 6, 16, 9, 0)


def test_adding_minutes_over_the_spring_switch_skips_the_missing_hour() -> None:
    """29 March 2026: at 02:00 the clocks jump to 03:00; 02:30 never happens."""
    always = schedule(ALL_DAY)
    start = zurich(2026, 3, 29, 1, 30)
    assert add_business_minutes(always, start, 60) == zurich(2026, 3, 29, 3, 30)
    assert business_minutes_between(always, zurich(2026, 3, 29, 0, 0), zurich(2026, 3, 30, 0, 0)) == 23 * 60
    # A calendar open 01:00-04:00 is open two real hours that night.
    night = schedule(NIGHT)
    assert business_minutes_between(night, zurich(2026, 3, 29, 0, 0), zurich(2026, 3, 29, 12, 0)) == 120
    assert add_business_minutes(night, zurich(2026, 3, 29, 1, 30), 60) == zurich(2026, 3, 29, 3, 30)


def test_an_opening_time_that_does_not_exist_is_the_instant_of_the_switch() -> None:
    opens_in_the_gap = schedule({str(day): [["02:30", "05:00"]] for day in range(7)})
    assert next_open(opens_in_the_gap, zurich(2026, 3, 29, 0, 0)) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert (
        business_minutes_between(opens_in_the_gap, zurich(2026, 3, 29, 0, 0), zurich(2026, 3, 29, 12, 0))
        == 120
    )


def test_adding_minutes_over_the_autumn_switch_counts_the_hour_twice() -> None:
    """25 October 2026: at 03:00 the clocks go back to 02:00; 02:30 happens twice."""
    always = schedule(ALL_DAY)
    start = zurich(2026, 10, 25, 1, 30)
    first_half_past_two = add_business_minutes(always, start, 60)
    second_half_past_two = add_business_minutes(always, start, 120)
    assert first_half_past_two.astimezone(ZURICH).replace(tzinfo=None) == datetime(2026, 10, 25, 2, 30)
    assert second_half_past_two.astimezone(ZURICH).replace(tzinfo=None) == datetime(2026, 10, 25, 2, 30)
    assert second_half_past_two - first_half_past_two == timedelta(hours=1)
    assert business_minutes_between(always, zurich(2026, 10, 25, 0, 0), zurich(2026, 10, 26, 0, 0)) == 25 * 60
    night = schedule(NIGHT)
    assert business_minutes_between(night, zurich(2026, 10, 25, 0, 0), zurich(2026, 10, 25, 12, 0)) == 4 * 60
    assert add_business_minutes(night, zurich(2026, 10, 25, 1, 0), 4 * 60) == zurich(2026, 10, 25, 4, 0)


def test_office_hours_on_the_switch_days_are_wall_clock_hours() -> None:
    """The Monday after each switch still opens at 08:00 local time."""
    office = schedule(OFFICE)
    friday_before_spring = zurich(2026, 3, 27, 17, 0)
    assert add_business_minutes(office, friday_before_spring, 120) == zurich(2026, 3, 30, 9, 0)
    friday_before_autumn = zurich(2026, 10, 23, 17, 0)
    assert add_business_minutes(office, friday_before_autumn, 120) == zurich(2026, 10, 26, 9, 0)


def test_a_long_target_walks_days_not_minutes() -> None:
    office = schedule(OFFICE, country="CH")
    start = zurich(2026, 1, 5, 8, 0)
    due = add_business_minutes(office, start, 30 * 9 * 60)  # thirty working days
    assert business_minutes_between(office, start, due) == 30 * 9 * 60


def test_a_stored_calendar_reads_its_own_holidays(world: World, system: None) -> None:
    calendar = calendars.create(
        calendars.CalendarInput(
            tenant_id=world.alpha.id,
            name="Office",
            timezone="Europe/Zurich",
            hours=OFFICE,
            holiday_country="CH",
        )
    )
    calendars.add_holidays(calendar, calendars.parse_holiday_lines("2026-06-15 Company outing"))
    assert add_business_minutes(calendar, zurich(2026, 6, 12, 17, 0), 120) == zurich(2026, 6, 16, 9, 0)
    calendar.always_open = True
    assert add_business_minutes(calendar, zurich(2026, 6, 12, 17, 0), 120) == zurich(2026, 6, 12, 19, 0)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_minutes(schedule(OFFICE), datetime(2026, 6, 12, 9, 0), 10)
