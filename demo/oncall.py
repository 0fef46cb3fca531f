"""A demo team's on-call rota: weeknights for one expert, weekends for the other, each the other's
backup, so that an unacknowledged page visibly moves on to the second person.

Idempotent like the rest of the demo: a team that already has a rota keeps it.
"""

from __future__ import annotations

from sqlalchemy import select

from core.auth.models import User
from core.extensions import db
from escalations import rota
from escalations.models import OnCallSlot, Team, TeamMember
from escalations.teams import member_team_ids

EVENING, MORNING, MIDNIGHT = 18 * 60, 8 * 60, 24 * 60
FRIDAY, SATURDAY, SUNDAY = 4, 5, 6


def _pattern() -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """(weekday, start, end) of the weeknights and of the weekend (Friday 18:00 to Monday 08:00)."""
    weeknights = [(day, EVENING, MORNING) for day in range(FRIDAY)]  # Monday to Thursday night
    # Sunday night runs into Monday morning: a slot is at most a day long, so Monday has its own.
    weekend = [(FRIDAY, EVENING, MIDNIGHT), (SATURDAY, 0, MIDNIGHT), (SUNDAY, 0, MIDNIGHT), (0, 0, MORNING)]
    return weeknights, weekend


def seed(team: Team, users: list[User]) -> None:
    """Give `team` a weekly rota split between the first two of `users` (made members if need be)."""
    if len(users) < 2:
        raise ValueError("the demo rota needs two experts")
    if db.session.scalar(select(OnCallSlot.id).where(OnCallSlot.team_id == team.id).limit(1)) is not None:
        return
    first, second = users[0], users[1]
    for user in (first, second):
        if team.id not in member_team_ids(user):
            db.session.add(TeamMember(tenant_id=team.tenant_id, team_id=team.id, user_id=user.id))
    db.session.flush()
    weeknights, weekend = _pattern()
    for primary, backup, slots in ((first, second, weeknights), (second, first, weekend)):
        for weekday, start, end in slots:
            rota.add_slot(
                team, user_id=primary.id, weekday=weekday, start_minute=start, end_minute=end, position=0
            )
            rota.add_slot(
                team, user_id=backup.id, weekday=weekday, start_minute=start, end_minute=end, position=1
            )
