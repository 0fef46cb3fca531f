"""Demo shifts for the coming week, so the shift plan and the coverage grid have something to show.

The demo team is small, so the plan uses 12-hour shifts (Zurich wall-clock time): Anna and Claire
by day, Samuel (the supervisor) by night, Luca by day. Every language of both clients is covered
around the clock except one, on purpose: nobody on the night shift speaks Italian, so Lumière's
Italian is red from 18:00 to 06:00 every night (Claire's basic Italian is shown, not counted), and
the coverage sweep warns Samuel about it.

Seeding twice changes nothing: a shift is only added where its agent has none overlapping it.
Call it after `demo.data.load()` and commit: `staffing.seed(); jobs.commit()`.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from agents.models import AgentShift
from agents.shifts import to_utc
from core import tenancy
from core.auth.models import User
from core.extensions import db
from core.models_base import utcnow

ZONE = ZoneInfo("Europe/Zurich")
DAYS = 7
# (e-mail, starts, hours): the daily pattern. The deliberate gap: Italian (Luca only) at night.
PATTERN = [
    ("anna@firstline.example", time(6), 12),
    ("claire@firstline.example", time(6), 12),
    ("luca@firstline.example", time(6), 12),
    ("supervisor@firstline.example", time(18), 12),
]


def _planned(now: datetime) -> list[tuple[str, datetime, datetime]]:
    """(e-mail, starts, ends) in UTC from yesterday's night shift (it covers this morning) on."""
    today = now.astimezone(ZONE).date()
    shifts = []
    for offset in range(-1, DAYS + 1):  # the grid's 168 hours end in the eighth day
        day = today + timedelta(days=offset)
        for email, starts, hours in PATTERN:
            local = datetime.combine(day, starts)
            start, end = to_utc(local, ZONE), to_utc(local + timedelta(hours=hours), ZONE)
            if start is not None and end is not None and end > now:
                shifts.append((email, start, end))
    return shifts


def seed(now: datetime | None = None) -> None:
    """Give the demo staff their shifts for the coming week; the caller commits."""
    now = now or utcnow()
    with tenancy.system_scope():
        users = {
            u.email: u
            for u in db.session.scalars(select(User).where(User.email.in_([email for email, *_ in PATTERN])))
        }
        planner = db.session.scalar(select(User).where(User.email == "supervisor@firstline.example"))
        for email, start, end in _planned(now):
            user = users.get(email)
            if user is None:
                continue
            taken = db.session.scalar(
                select(AgentShift.id).where(
                    AgentShift.user_id == user.id, AgentShift.starts_at < end, AgentShift.ends_at > start
                )
            )
            if taken is None:
                db.session.add(
                    AgentShift(
                        user_id=user.id,
                        starts_at=start,
                        ends_at=end,
                        created_by_id=planner.id if planner else None,
                    )
                )
        db.session.flush()
