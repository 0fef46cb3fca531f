"""A team's on-call rota ("Pikett"): a weekly pattern of slots, one-off overrides, and who is on
call at a given moment.

Slots are wall-clock times in the team's time zone, so "weeknights from 18:00" stays 18:00 across
the daylight-saving switch; the moment is converted to the team's zone and looked up in the week,
never the pattern shifted by a fixed offset.

A slot runs from `start_minute` to `end_minute` on `weekday` (0 = Monday). It may cross midnight
in one piece: an end before the start means the next day (Monday 18:00 to 08:00 is one slot, and
Sunday night wraps to Monday morning); `end_minute` 1440 is midnight at the end of the day, so a
whole day is 0 to 1440. A slot of zero length (start equal to end) is refused, and so is a slot
that overlaps another one of the same position: each position (0 first, then the backups) has at
most one person at any moment. Overrides are absolute periods (entered in the team's zone,
stored in UTC) and come before the pattern.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_time
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from core import audit
from core.auth.models import User
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from core.models_base import utcnow
from escalations.models import OnCallOverride, OnCallSlot, Team
from escalations.teams import member_team_ids, members_of

DAY = 24 * 60
WEEK = 7 * DAY
MAX_POSITION = 9
MAX_OVERRIDE = timedelta(days=92)


# --- who may see a team's rota ----------------------------------------------------------------


def users_by_id(ids: set[int]) -> dict[int, User]:
    """Names for the rota page (someone who left the team keeps their name on old slots)."""
    if not ids:
        return {}
    return {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))}


# --- the weekly pattern -----------------------------------------------------------------------


def intervals(weekday: int, start: int, end: int) -> list[tuple[int, int]]:
    """The slot as half-open minute ranges of the week; one crossing Sunday midnight is two."""
    begin = weekday * DAY + start
    finish = weekday * DAY + (end if end > start else DAY + end)
    if finish <= WEEK:
        return [(begin, finish)]
    return [(begin, WEEK), (0, finish - WEEK)]


def covers(slot: OnCallSlot, minute_of_week: int) -> bool:
    return any(
        a <= minute_of_week < b for a, b in intervals(slot.weekday, slot.start_minute, slot.end_minute)
    )


def _overlap(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> bool:
    return any(x1 < y2 and y1 < x2 for x1, x2 in a for y1, y2 in b)


def slots_of(team: Team) -> list[OnCallSlot]:
    return list(
        db.session.scalars(
            select(OnCallSlot)
            .where(OnCallSlot.team_id == team.id)
            .order_by(OnCallSlot.weekday, OnCallSlot.start_minute, OnCallSlot.position, OnCallSlot.id)
        )
    )


def parse_clock(value: str, *, end: bool = False) -> int:
    """Parse "HH:MM" as minutes after midnight; "24:00" only as an end. ValueError if it is not a time."""
    hours, sep, minutes = (value or "").strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(value)
    total = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or total > DAY or (total == DAY and not end):
        raise ValueError(value)
    return total


def _check_member(team: Team, user_id: int | None, errors: dict[str, str]) -> None:
    user = db.session.get(User, user_id) if user_id else None
    if (
        user is None
        or user.tenant_id != team.tenant_id
        or not user.is_active
        or team.id not in member_team_ids(user)
    ):
        errors["user_id"] = _("Choose a member of this team.")


def add_slot(
    team: Team, *, user_id: int | None, weekday: int, start_minute: int, end_minute: int, position: int = 0
) -> OnCallSlot:
    errors: dict[str, str] = {}
    _check_member(team, user_id, errors)
    if not 0 <= weekday <= 6:
        errors["weekday"] = _("Choose a day of the week.")
    if not 0 <= start_minute < DAY:
        errors["start"] = _("Enter a time between 00:00 and 23:59.")
    if not 0 <= end_minute <= DAY:
        errors["end"] = _("Enter a time between 00:00 and 24:00.")
    elif start_minute == end_minute:
        errors["end"] = _("The slot ends when it starts; give it a length.")
    if not 0 <= position <= MAX_POSITION:
        errors["position"] = _("Choose who is paged first.")
    if not errors:
        mine = intervals(weekday, start_minute, end_minute)
        for other in slots_of(team):
            if other.position == position and _overlap(
                mine, intervals(other.weekday, other.start_minute, other.end_minute)
            ):
                holder = db.session.get(User, other.user_id)
                errors["start"] = _(
                    "This overlaps %(name)s's slot on %(slot)s at the same position.",
                    name=holder.name if holder else "?",
                    slot=slot_label(other.weekday, other.start_minute, other.end_minute),
                )
                break
    if errors:
        raise ValidationFailed(fields=errors)
    slot = OnCallSlot(
        tenant_id=team.tenant_id,
        team_id=team.id,
        user_id=user_id,
        weekday=weekday,
        start_minute=start_minute,
        end_minute=end_minute,
        position=position,
    )
    db.session.add(slot)
    db.session.flush()
    audit.record(
        "oncall.slot_added",
        tenant_id=team.tenant_id,
        target=team,
        data={
            "slot_id": slot.id,
            "user_id": user_id,
            "weekday": weekday,
            "start": start_minute,
            "end": end_minute,
        },
    )
    return slot


def get_slot(team: Team, slot_id: int) -> OnCallSlot:
    slot = db.session.get(OnCallSlot, slot_id)
    if slot is None or slot.team_id != team.id:
        raise NotFound()
    return slot


def remove_slot(slot: OnCallSlot) -> None:
    audit.record(
        "oncall.slot_removed",
        tenant_id=slot.tenant_id,
        target_type="teams",
        target_id=slot.team_id,
        data={"slot_id": slot.id, "user_id": slot.user_id},
    )
    db.session.delete(slot)
    db.session.flush()


def slot_label(weekday: int, start: int, end: int) -> str:
    """A slot as "Monday 18:00 – 08:00 (next day)", in the reader's language."""
    day = get_locale().days["format"]["wide"][weekday]
    return _("%(day)s %(times)s", day=day, times=times_label(start, end))


def times_label(start: int, end: int) -> str:
    if start == 0 and end == DAY:
        return _("all day")
    first, last = _clock(start), _clock(end % DAY)
    if end <= start or end == DAY:
        return _("%(start)s – %(end)s (next day)", start=first, end=last)
    return _("%(start)s – %(end)s", start=first, end=last)


def _clock(minute: int) -> str:
    return format_time(time(minute // 60, minute % 60), "short", locale=get_locale())


# --- overrides --------------------------------------------------------------------------------


def to_utc(local: datetime, zone: str) -> datetime | None:
    """A wall-clock time of `zone` in UTC; None if the clock skipped it (spring forward)."""
    tz = ZoneInfo(zone)
    aware = local.replace(tzinfo=tz)
    utc = aware.astimezone(ZoneInfo("UTC"))
    if utc.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return utc


def add_override(
    team: Team,
    *,
    user_id: int | None,
    starts_local: datetime | None,
    ends_local: datetime | None,
    note: str = "",
) -> OnCallOverride:
    """`user_id` is on call instead of the pattern from `starts_local` to `ends_local` (team time)."""
    errors: dict[str, str] = {}
    _check_member(team, user_id, errors)
    gap = _("This time does not exist in %(zone)s (the clocks go forward).", zone=team.timezone)
    starts = ends = None
    if starts_local is None:
        errors["starts_at"] = _("Enter when the override starts.")
    elif (starts := to_utc(starts_local, team.timezone)) is None:
        errors["starts_at"] = gap
    if ends_local is None:
        errors["ends_at"] = _("Enter when the override ends.")
    elif (ends := to_utc(ends_local, team.timezone)) is None:
        errors["ends_at"] = gap
    if starts and ends and ends <= starts:
        errors["ends_at"] = _("The end must be after the start.")
    elif starts and ends and ends - starts > MAX_OVERRIDE:
        errors["ends_at"] = _("An override lasts %(days)d days at most.", days=MAX_OVERRIDE.days)
    note = (note or "").strip()
    if len(note) > 200:
        errors["note"] = _("At most 200 characters.")
    if errors or starts is None or ends is None:
        raise ValidationFailed(fields=errors)
    override = OnCallOverride(
        tenant_id=team.tenant_id, team_id=team.id, user_id=user_id, starts_at=starts, ends_at=ends, note=note
    )
    db.session.add(override)
    db.session.flush()
    audit.record(
        "oncall.override_added",
        tenant_id=team.tenant_id,
        target=team,
        data={"override_id": override.id, "user_id": user_id, "starts_at": starts.isoformat()},
    )
    return override


def get_override(team: Team, override_id: int) -> OnCallOverride:
    override = db.session.get(OnCallOverride, override_id)
    if override is None or override.team_id != team.id:
        raise NotFound()
    return override


def remove_override(override: OnCallOverride) -> None:
    audit.record(
        "oncall.override_removed",
        tenant_id=override.tenant_id,
        target_type="teams",
        target_id=override.team_id,
        data={"override_id": override.id, "user_id": override.user_id},
    )
    db.session.delete(override)
    db.session.flush()


def overrides_of(team: Team, now: datetime | None = None) -> list[OnCallOverride]:
    """Current and coming overrides, soonest first (past ones are history, not the rota)."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(OnCallOverride)
            .where(OnCallOverride.team_id == team.id, OnCallOverride.ends_at > now)
            .order_by(OnCallOverride.starts_at, OnCallOverride.id)
        )
    )


# --- who is on call ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """A UTC instant as the rota sees it: the team's local time and the minute of its week."""

    local: datetime
    minute_of_week: int

    @classmethod
    def of(cls, at_utc: datetime, zone: str) -> Moment:
        local = at_utc.astimezone(ZoneInfo(zone))
        return cls(local, local.weekday() * DAY + local.hour * 60 + local.minute)


def on_call(team: Team, at_utc: datetime) -> list[User]:
    """Who is paged, in order: overrides (earliest first), then the pattern by position.

    Only current members count: someone who left the team is skipped, not paged."""
    overrides = db.session.scalars(
        select(OnCallOverride.user_id)
        .where(
            OnCallOverride.team_id == team.id,
            OnCallOverride.starts_at <= at_utc,
            OnCallOverride.ends_at > at_utc,
        )
        .order_by(OnCallOverride.starts_at, OnCallOverride.id)
    ).all()
    minute = Moment.of(at_utc, team.timezone).minute_of_week
    pattern = sorted((s for s in slots_of(team) if covers(s, minute)), key=lambda s: (s.position, s.id))
    ordered: list[int] = []
    for user_id in [*overrides, *(s.user_id for s in pattern)]:
        if user_id not in ordered:
            ordered.append(user_id)
    if not ordered:
        return []
    eligible = {user.id: user for user in members_of(team)}
    return [eligible[user_id] for user_id in ordered if user_id in eligible]
