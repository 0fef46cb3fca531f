"""A client's teams and departments, who is in them, and who may act for them.

Experts see only the teams they belong to; the client's admin sees every team of the company;
provider staff see the teams of the clients in their scope (to choose where an escalation goes).
A team id that is not visible is a 404, never a 403: nobody learns that another team exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import func, select

from core import audit
from core.auth.models import User
from core.auth.roles import Role
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from escalations.models import Team, TeamMember
from sla.models import BusinessCalendar
from tenants import services as tenants

MAX_MINUTES = 365 * 24 * 60


@dataclass
class TeamInput:
    name: str
    level: int = 2
    email: str = ""
    webhook_url: str = ""
    timezone: str = ""
    calendar_id: int | None = None
    ack_minutes: int = 60
    resolve_minutes: int = 3 * 24 * 60
    oncall_ack_minutes: int = 15
    active: bool = True
    member_ids: list[int] = field(default_factory=list)


def not_found() -> NotFound:
    return NotFound(_("This team does not exist or is not yours to see."))


def get_team(team_id: int) -> Team:
    """A team of the companies in scope (the tenancy criteria see to that)."""
    team = db.session.scalar(select(Team).where(Team.id == team_id))
    if team is None:
        raise not_found()
    return team


def teams_of(tenant_id: int, *, active_only: bool = False) -> list[Team]:
    stmt = select(Team).where(Team.tenant_id == tenant_id).order_by(Team.level, Team.name)
    if active_only:
        stmt = stmt.where(Team.active.is_(True))
    return list(db.session.scalars(stmt))


def member_team_ids(user: User) -> set[int]:
    return set(
        db.session.scalars(
            select(TeamMember.team_id).where(
                TeamMember.tenant_id == user.tenant_id, TeamMember.user_id == user.id
            )
        )
    )


def sees_all_teams(user: User) -> bool:
    return user.role != Role.CLIENT_EXPERT.value


def visible_teams(user: User) -> list[Team]:
    """The teams whose queues and settings this user may open."""
    if user.role in (Role.CLIENT_ADMIN.value, Role.CLIENT_EXPERT.value):
        teams = teams_of(user.tenant_id or 0)
        if sees_all_teams(user):
            return teams
        mine = member_team_ids(user)
        return [team for team in teams if team.id in mine]
    return list(db.session.scalars(select(Team).order_by(Team.tenant_id, Team.level, Team.name)))


def team_for(user: User, team_id: int) -> Team:
    """A team this user may act for: an expert of another team gets the same 404 as a stranger."""
    team = get_team(team_id)
    if not may_act(user, team):
        raise not_found()
    return team


def may_act(user: User, team: Team) -> bool:
    if user.role == Role.CLIENT_EXPERT.value:
        return team.tenant_id == user.tenant_id and team.id in member_team_ids(user)
    if user.role == Role.CLIENT_ADMIN.value:
        return team.tenant_id == user.tenant_id
    return True  # provider staff: the tenancy scope already limited what they can load


def members_of(team: Team) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(TeamMember, TeamMember.user_id == User.id)
            .where(
                TeamMember.tenant_id == team.tenant_id,
                TeamMember.team_id == team.id,
                User.is_active.is_(True),
            )
            .order_by(User.name)
        )
    )


def client_staff(tenant_id: int) -> list[User]:
    """Who can be put in a team: the client's own admins and experts, active."""
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.tenant_id == tenant_id,
                User.role.in_([Role.CLIENT_ADMIN.value, Role.CLIENT_EXPERT.value]),
                User.is_active.is_(True),
            )
            .order_by(User.name)
        )
    )


def _clean(tenant_id: int, data: TeamInput, team: Team | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    data.name = data.name.strip()
    if not data.name:
        errors["name"] = _("Give the team a name.")
    elif len(data.name) > 120:
        errors["name"] = _("At most %(count)d characters.", count=120)
    else:
        clash = db.session.scalar(
            select(func.count(Team.id)).where(
                Team.tenant_id == tenant_id,
                func.lower(Team.name) == data.name.lower(),
                Team.id != (team.id if team else 0),
            )
        )
        if clash:
            errors["name"] = _("This client already has a team of that name.")
    if data.level not in (2, 3):
        errors["level"] = _("A team works at level 2 or level 3.")
    data.email = data.email.strip()
    if data.email:
        try:
            data.email = validate_email(data.email, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            errors["email"] = _("This is not a valid e-mail address.")
    data.webhook_url = data.webhook_url.strip()
    if data.webhook_url:
        from escalations import ssrf  # the guard also runs at delivery, when DNS may have changed

        try:
            data.webhook_url = ssrf.check_url(data.webhook_url)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    try:
        ZoneInfo(data.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = _("Unknown time zone.")
    if data.calendar_id is not None:
        owner = db.session.scalar(
            select(BusinessCalendar.tenant_id).where(BusinessCalendar.id == data.calendar_id)
        )
        if owner != tenant_id:
            errors["calendar_id"] = _("Choose one of this client's calendars.")
    for name in ("ack_minutes", "resolve_minutes", "oncall_ack_minutes"):
        value = getattr(data, name)
        if not isinstance(value, int) or not 1 <= value <= MAX_MINUTES:
            errors[name] = _("Enter a number of minutes between 1 and %(max)d.", max=MAX_MINUTES)
    if not errors and data.ack_minutes > data.resolve_minutes:
        errors["ack_minutes"] = _("Acknowledging cannot take longer than resolving.")
    staff = {user.id for user in client_staff(tenant_id)}
    if any(user_id not in staff for user_id in data.member_ids):
        errors["member_ids"] = _("Only this client's own staff can be members of its teams.")
    return errors


def save_team(tenant_id: int, data: TeamInput, team: Team | None = None) -> Team:
    tenant = tenants.get_tenant(tenant_id)
    data.timezone = data.timezone.strip() or tenant.timezone
    errors = _clean(tenant.id, data, team)
    if errors:
        raise ValidationFailed(fields=errors)
    if team is None:
        team = Team(tenant_id=tenant.id)
        db.session.add(team)
    team.name, team.level, team.timezone = data.name, data.level, data.timezone
    team.email = data.email or None
    team.webhook_url = data.webhook_url or None
    team.calendar_id = data.calendar_id
    team.ack_minutes, team.resolve_minutes = data.ack_minutes, data.resolve_minutes
    team.oncall_ack_minutes, team.active = data.oncall_ack_minutes, data.active
    db.session.flush()
    _set_members(team, data.member_ids)
    audit.record("team.saved", tenant_id=tenant.id, target=team)
    return team


def _set_members(team: Team, user_ids: list[int]) -> None:
    current = {
        member.user_id: member
        for member in db.session.scalars(
            select(TeamMember).where(TeamMember.tenant_id == team.tenant_id, TeamMember.team_id == team.id)
        )
    }
    wanted = set(user_ids)
    for user_id, member in current.items():
        if user_id not in wanted:
            db.session.delete(member)
    for user_id in wanted - set(current):
        db.session.add(TeamMember(tenant_id=team.tenant_id, team_id=team.id, user_id=user_id))
    db.session.flush()
