"""Agents' shifts: planned in the planner's wall-clock time, stored in UTC, checked for overlaps.

Shifts are provider-level (an agent works for several clients in one shift), so the tenancy scope
does not guard them. Who may see and plan whose shifts is decided here instead: a provider admin
plans everyone; a supervisor plans the staff who serve at least one of the clients they supervise
(the tenancy scope narrows the assignments they can see) and themselves; an agent sees their own.

Times are entered as wall-clock times in a named zone and converted with zoneinfo, so a night
shift over a clock change has its real length (22:00-06:00 is 7 hours in Zurich on the last
Sunday of March, 9 on the last Sunday of October). A wall-clock time the clocks skip is refused;
one that happens twice (the autumn hour) means its first occurrence, in summer time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_time
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from agents.models import AgentAssignment, AgentLanguage, AgentShift
from core import audit
from core.auth.models import User
from core.auth.roles import Role
from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.extensions import db
from core.models_base import utcnow

MAX_LENGTH = timedelta(hours=16)
PAST_GRACE = timedelta(days=1)
MAX_WEEKS = 26
NOTE_MAX = 200
STAFF_ROLES = (Role.AGENT.value, Role.SUPERVISOR.value)


@dataclass(frozen=True)
class ShiftInput:
    """A shift as a planner enters it: naive wall-clock times in `timezone`."""

    user_id: int
    starts: datetime
    ends: datetime
    timezone: str
    note: str = ""


# --- time zones -------------------------------------------------------------------------------


def to_utc(local: datetime, zone: ZoneInfo) -> datetime | None:
    """A wall-clock time in `zone` as UTC, or None if the clocks skip it (spring forward)."""
    aware = local.replace(tzinfo=zone, fold=0)
    utc = aware.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None, fold=0):
        return None
    return utc


def to_local(moment: datetime, zone: ZoneInfo) -> datetime:
    """A stored UTC time as naive wall-clock time in `zone` (for forms and weekly repeats)."""
    return moment.astimezone(zone).replace(tzinfo=None, fold=0)


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        raise ValidationFailed(fields={"timezone": _("Unknown time zone.")}) from None


def _when(moment: datetime, zone: ZoneInfo) -> str:
    return format_datetime(moment, "short", tzinfo=zone, locale=get_locale())


# --- who plans whom ---------------------------------------------------------------------------


def is_planner(actor: User) -> bool:
    return actor.role in (Role.PROVIDER_ADMIN.value, Role.SUPERVISOR.value)


def plannable_users(actor: User) -> list[User]:
    """The staff whose shifts `actor` plans (or, for an agent, only sees: themselves), by name."""
    query = select(User).where(User.role.in_(STAFF_ROLES), User.is_active.is_(True)).order_by(User.name)
    if actor.role == Role.AGENT.value:
        query = query.where(User.id == actor.id)
    elif actor.role == Role.SUPERVISOR.value:
        # The scope narrows the assignments to the supervisor's own clients.
        serving = set(db.session.scalars(select(AgentAssignment.user_id).distinct()))
        query = query.where(User.id.in_(serving | {actor.id}))
    elif actor.role != Role.PROVIDER_ADMIN.value:
        return []
    return list(db.session.scalars(query))


def _visible_user_ids(actor: User) -> set[int]:
    return {user.id for user in plannable_users(actor)}


def get(shift_id: int, actor: User) -> AgentShift:
    """A shift `actor` may see; another's is NotFound, as a foreign tenant's record would be."""
    shift = db.session.get(AgentShift, shift_id)
    if shift is None:
        raise NotFound()
    if actor.role != Role.PROVIDER_ADMIN.value and shift.user_id not in _visible_user_ids(actor):
        raise NotFound()
    return shift


def _require_planner(actor: User) -> None:
    if not is_planner(actor):
        raise PermissionDenied()


# --- validation -------------------------------------------------------------------------------


def _staff_member(user_id: int, actor: User) -> tuple[User | None, dict[str, str]]:
    user = db.session.get(User, user_id)
    if user is None or (user.role in STAFF_ROLES and user.id not in _visible_user_ids(actor)):
        return None, {"user": _("Choose a member of your staff.")}
    if user.role not in STAFF_ROLES:
        return None, {"user": _("Only agents and supervisors work shifts.")}
    return user, {}


def _span(
    starts: datetime, ends: datetime, zone: ZoneInfo, now: datetime
) -> tuple[datetime | None, datetime | None, dict[str, str]]:
    errors: dict[str, str] = {}
    start, end = to_utc(starts, zone), to_utc(ends, zone)
    for key, local, value in (("starts", starts, start), ("ends", ends, end)):
        if value is None:
            errors[key] = _(
                "%(time)s does not exist on that day: the clocks go forward.",
                time=format_time(local.time(), "short", locale=get_locale()),
            )
    if start is None or end is None:
        return start, end, errors
    if end <= start:
        errors["ends"] = _("The shift must end after it starts.")
    elif end - start > MAX_LENGTH:
        errors["ends"] = _("A shift lasts at most %(hours)d hours.", hours=MAX_LENGTH // timedelta(hours=1))
    if start < now - PAST_GRACE:
        errors["starts"] = _("A shift cannot start more than a day in the past.")
    return start, end, errors


def _overlap(user: User, spans: list[tuple[datetime, datetime]], zone: ZoneInfo, ignore: int | None) -> str:
    """The first clash with the agent's other shifts, as a message; empty if there is none."""
    if not spans:
        return ""
    first, last = min(s for s, _e in spans), max(e for _s, e in spans)
    query = select(AgentShift).where(
        AgentShift.user_id == user.id, AgentShift.starts_at < last, AgentShift.ends_at > first
    )
    if ignore is not None:
        query = query.where(AgentShift.id != ignore)
    for other in db.session.scalars(query.order_by(AgentShift.starts_at)):
        if any(other.starts_at < end and other.ends_at > start for start, end in spans):
            return _(
                "%(name)s already works from %(start)s to %(end)s.",
                name=user.name,
                start=_when(other.starts_at, zone),
                end=_when(other.ends_at, zone),
            )
    return ""


def _validated(
    data: ShiftInput, actor: User, weeks: int, now: datetime, ignore: int | None = None
) -> tuple[User, list[tuple[datetime, datetime]]]:
    """Every occurrence of a weekly series in UTC, or ValidationFailed with every problem found.

    Later occurrences repeat the wall-clock times, so a 22:00 shift stays at 22:00 after a
    clock change (and its UTC time moves by an hour)."""
    zone = zone_of(data.timezone)
    user, errors = _staff_member(data.user_id, actor)
    if not 1 <= weeks <= MAX_WEEKS:
        errors["weeks"] = _("Repeat a shift for 1 to %(num)d weeks.", num=MAX_WEEKS)
    if len(data.note) > NOTE_MAX:
        errors["note"] = _("Use at most %(num)d characters.", num=NOTE_MAX)
    spans: list[tuple[datetime, datetime]] = []
    for week in range(weeks if "weeks" not in errors else 1):
        step = timedelta(weeks=week)
        start, end, problems = _span(data.starts + step, data.ends + step, zone, now)
        for key, message in problems.items():
            errors.setdefault(key, message)
        if start is not None and end is not None:
            spans.append((start, end))
    if user is not None and not errors:
        # One planner at a time per agent (PostgreSQL; SQLite's write lock serializes anyway), so two
        # supervisors cannot both find the same evening free.
        db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
        clash = _overlap(user, spans, zone, ignore)
        if clash:
            errors["overlap"] = clash
    if errors or user is None:
        raise ValidationFailed(fields=errors)
    return user, spans


# --- changes ----------------------------------------------------------------------------------


def add(data: ShiftInput, actor: User, *, weeks: int = 1, now: datetime | None = None) -> list[AgentShift]:
    """Plan a shift, and the same wall-clock times in the following weeks (all or none)."""
    _require_planner(actor)
    user, spans = _validated(data, actor, weeks, now or utcnow())
    created = [
        AgentShift(
            user_id=user.id, starts_at=start, ends_at=end, note=data.note.strip(), created_by_id=actor.id
        )
        for start, end in spans
    ]
    db.session.add_all(created)
    db.session.flush()
    audit.record(
        "agent.shift_added",
        tenant_id=None,
        target=user,
        data={"shifts": [s.id for s in created], "starts_at": spans[0][0].isoformat(), "weeks": weeks},
    )
    return created


def update(shift: AgentShift, data: ShiftInput, actor: User, *, now: datetime | None = None) -> AgentShift:
    _require_planner(actor)
    user, [(start, end)] = _validated(data, actor, 1, now or utcnow(), ignore=shift.id)
    old = {
        "user_id": shift.user_id,
        "starts_at": shift.starts_at.isoformat(),
        "ends_at": shift.ends_at.isoformat(),
    }
    shift.user_id, shift.starts_at, shift.ends_at, shift.note = user.id, start, end, data.note.strip()
    audit.record("agent.shift_changed", tenant_id=None, target=user, data={"shift": shift.id, "old": old})
    db.session.flush()
    return shift


def repeat(
    shift: AgentShift, weeks: int, timezone: str, actor: User, *, now: datetime | None = None
) -> list[AgentShift]:
    """Copy a shift to the `weeks` following weeks, at the same wall-clock times in `timezone`."""
    zone = zone_of(timezone)
    starts, ends = to_local(shift.starts_at, zone), to_local(shift.ends_at, zone)
    step = timedelta(weeks=1)
    data = ShiftInput(shift.user_id, starts + step, ends + step, timezone, shift.note)
    return add(data, actor, weeks=weeks, now=now)


def delete(shift: AgentShift, actor: User) -> None:
    _require_planner(actor)
    audit.record(
        "agent.shift_deleted",
        tenant_id=None,
        target_type="users",
        target_id=shift.user_id,
        data={
            "shift": shift.id,
            "starts_at": shift.starts_at.isoformat(),
            "ends_at": shift.ends_at.isoformat(),
        },
    )
    db.session.delete(shift)
    db.session.flush()


# --- the week view ----------------------------------------------------------------------------


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_bounds(monday: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC span of a local week (168 hours, or one more or less over a clock change)."""
    start = datetime.combine(monday, time.min).replace(tzinfo=zone).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), time.min).replace(tzinfo=zone).astimezone(UTC)
    return start, end


@dataclass
class WeekRow:
    user: User
    languages: list[AgentLanguage]
    days: list[list[AgentShift]] = field(default_factory=lambda: [[] for _ in range(7)])

    @property
    def hours(self) -> float:
        return sum((s.ends_at - s.starts_at).total_seconds() for day in self.days for s in day) / 3600


@dataclass
class Week:
    monday: date
    days: list[date]
    rows: list[WeekRow]


def week(actor: User, monday: date, zone: ZoneInfo) -> Week:
    """Staff × days of one local week; a shift is shown on the day it starts (or Monday, if it
    began the week before). Three queries: the staff, their languages, their shifts."""
    monday = monday_of(monday)
    users = plannable_users(actor)
    start, end = week_bounds(monday, zone)
    ids = [u.id for u in users]
    languages: dict[int, list[AgentLanguage]] = defaultdict(list)
    shifts: Iterable[AgentShift] = ()
    if ids:
        for skill in db.session.scalars(
            select(AgentLanguage).where(AgentLanguage.user_id.in_(ids)).order_by(AgentLanguage.language)
        ):
            languages[skill.user_id].append(skill)
        shifts = db.session.scalars(
            select(AgentShift)
            .where(AgentShift.user_id.in_(ids), AgentShift.starts_at < end, AgentShift.ends_at > start)
            .order_by(AgentShift.starts_at)
        )
    rows = {u.id: WeekRow(u, languages[u.id]) for u in users}
    for shift in shifts:
        index = max((shift.starts_at.astimezone(zone).date() - monday).days, 0)
        rows[shift.user_id].days[index].append(shift)
    return Week(monday, [monday + timedelta(days=i) for i in range(7)], list(rows.values()))
