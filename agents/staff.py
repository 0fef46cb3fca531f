"""Provider staff administration: who works for the provider, what they speak, which clients
they serve, how much they carry, and the account's life (invited, active, deactivated).

Provider admins manage everyone; a supervisor reads the staff of their own clients. The
workload figures are counted in the caller's tenancy scope, one grouped query per figure, so a
page of a hundred people costs the same handful of queries as a page of one.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, delete, false, func, select

from agents import routing
from agents import services as assignments
from agents.models import AgentAssignment, AgentLanguage, AgentPresence, Presence, SkillLevel
from channels import chat_queue
from core import audit
from core.auth import invitations
from core.auth import services as accounts
from core.auth.models import User
from core.auth.roles import PROVIDER_ROLES, Role
from core.errors import Conflict, NotFound, ValidationFailed
from core.extensions import db
from core.models_base import utcnow
from tenants.models import Tenant
from tickets import services as tickets
from tickets.models import OPEN_STATUSES, Ticket, TimeEntry

LANGUAGE_RE = re.compile(r"^[a-z]{2}$")
SERVING_ROLES = (Role.AGENT, Role.SUPERVISOR)  # the roles that are assigned to clients
WORKLOAD_DAYS = 7
OPEN_VALUES = [status.value for status in OPEN_STATUSES]
LEVEL_ORDER = {level.value: rank for rank, level in enumerate(SkillLevel)}  # native, fluent, basic


class StaffStatus(StrEnum):
    ACTIVE = "active"
    INVITED = "invited"  # the account exists, its owner has never signed in
    DEACTIVATED = "deactivated"


def status_of(user: User) -> StaffStatus:
    if not user.is_active:
        return StaffStatus.DEACTIVATED
    return StaffStatus.INVITED if user.last_login_at is None else StaffStatus.ACTIVE


@dataclass
class Workload:
    open_tickets: int = 0
    handled: int = 0  # tickets they resolved in the window (and that are still resolved)
    seconds: int = 0  # time booked in the window


@dataclass
class StaffRow:
    user: User
    languages: list[AgentLanguage] = field(default_factory=list)
    tenant_ids: list[int] = field(default_factory=list)
    presence: str = Presence.OFFLINE.value
    workload: Workload = field(default_factory=Workload)

    @property
    def status(self) -> StaffStatus:
        return status_of(self.user)


# --- who may see whom -------------------------------------------------------------------------


def _visible(actor: User) -> Select[tuple[User]]:
    """Provider staff the actor may see: everyone for an admin; for a supervisor, those who
    serve one of their clients (the scope narrows the assignments), and themselves."""
    query = select(User).where(User.role.in_([role.value for role in PROVIDER_ROLES]))
    if actor.role == Role.PROVIDER_ADMIN.value:
        return query
    if actor.role != Role.SUPERVISOR.value:
        return query.where(false())
    serving = select(AgentAssignment.user_id)
    return query.where(
        User.role.in_([role.value for role in SERVING_ROLES]),
        User.id.in_(serving) | (User.id == actor.id),
    )


def get_member(user_id: int, actor: User) -> User:
    """One member of the staff the actor may see; anyone else is NotFound."""
    user = db.session.scalar(_visible(actor).where(User.id == user_id))
    if user is None:
        raise NotFound()
    return user


@dataclass(frozen=True)
class StaffFilter:
    role: Role | None = None
    status: StaffStatus | None = None
    tenant_id: int | None = None


def listing(actor: User, flt: StaffFilter = StaffFilter(), *, now: datetime | None = None) -> list[StaffRow]:
    """The staff the actor may see, by name, with languages, clients, presence and workload."""
    query = _visible(actor).order_by(User.name, User.id)
    if flt.role is not None:
        query = query.where(User.role == flt.role.value)
    if flt.status is StaffStatus.DEACTIVATED:
        query = query.where(User.is_active.is_(False))
    elif flt.status is StaffStatus.INVITED:
        query = query.where(User.is_active.is_(True), User.last_login_at.is_(None))
    elif flt.status is StaffStatus.ACTIVE:
        query = query.where(User.is_active.is_(True), User.last_login_at.is_not(None))
    if flt.tenant_id is not None:
        query = query.where(
            User.id.in_(select(AgentAssignment.user_id).where(AgentAssignment.tenant_id == flt.tenant_id))
        )
    return _rows(list(db.session.scalars(query)), now=now)


def row_of(user: User, *, now: datetime | None = None) -> StaffRow:
    return _rows([user], now=now)[0]


def _rows(users: list[User], *, now: datetime | None) -> list[StaffRow]:
    """Rows with what each person speaks, serves and carries: one query per kind of fact."""
    rows = {user.id: StaffRow(user) for user in users}
    if not rows:
        return []
    ids = list(rows)
    for skill in db.session.scalars(
        select(AgentLanguage).where(AgentLanguage.user_id.in_(ids)).order_by(AgentLanguage.language)
    ):
        rows[skill.user_id].languages.append(skill)
    for row in rows.values():  # their best languages first
        row.languages.sort(key=lambda skill: LEVEL_ORDER.get(skill.level, len(LEVEL_ORDER)))
    for user_id, tenant_id in db.session.execute(
        select(AgentAssignment.user_id, AgentAssignment.tenant_id)
        .where(AgentAssignment.user_id.in_(ids))
        .order_by(AgentAssignment.tenant_id)
    ):
        rows[user_id].tenant_ids.append(tenant_id)
    for user_id, status in db.session.execute(
        select(AgentPresence.user_id, AgentPresence.status).where(AgentPresence.user_id.in_(ids))
    ):
        rows[user_id].presence = status
    for user_id, load in workload(ids, now=now).items():
        rows[user_id].workload = load
    return list(rows.values())


def workload(user_ids: Iterable[int], *, now: datetime | None = None) -> dict[int, Workload]:
    """Open tickets held, tickets resolved and time booked in the last seven days, per person,
    counted over the tickets of the current scope: three grouped queries, whatever the number."""
    ids = list(user_ids)
    since = (now or utcnow()) - timedelta(days=WORKLOAD_DAYS)
    loads: dict[int, Workload] = defaultdict(Workload)
    if not ids:
        return {}
    for user_id, count in db.session.execute(
        select(Ticket.assignee_id, func.count())
        .where(Ticket.assignee_id.in_(ids), Ticket.status.in_(OPEN_VALUES))
        .group_by(Ticket.assignee_id)
    ):
        loads[user_id].open_tickets = count
    for user_id, count in db.session.execute(
        select(Ticket.assignee_id, func.count())
        .where(Ticket.assignee_id.in_(ids), Ticket.resolved_at >= since)
        .group_by(Ticket.assignee_id)
    ):
        loads[user_id].handled = count
    for user_id, seconds in db.session.execute(
        select(TimeEntry.user_id, func.sum(TimeEntry.seconds))
        .where(TimeEntry.user_id.in_(ids), TimeEntry.started_at >= since, TimeEntry.seconds.is_not(None))
        .group_by(TimeEntry.user_id)
    ):
        loads[user_id].seconds = int(seconds or 0)
    return dict(loads)


# --- skills and clients -----------------------------------------------------------------------


def _skill_errors(skills: Mapping[str, str]) -> dict[str, str]:
    levels = {level.value for level in SkillLevel}
    errors: dict[str, str] = {}
    for code, level in skills.items():
        if not LANGUAGE_RE.match(code):
            errors[f"languages.{code}"] = _("Give a two-letter language code.")
        elif level not in levels:
            errors[f"languages.{code}"] = _("Unknown level.")
    return errors


def _tenant_errors(role: Role, tenant_ids: Iterable[int]) -> dict[str, str]:
    wanted = set(tenant_ids)
    if not wanted:
        return {}
    if role not in SERVING_ROLES:
        return {"tenants": _("Only agents and supervisors are assigned to clients.")}
    known = set(db.session.scalars(select(Tenant.id).where(Tenant.id.in_(wanted))))
    if wanted - known:
        return {"tenants": _("Choose clients from the list.")}
    return {}


def set_skills(user: User, skills: Mapping[str, str], tenant_ids: Iterable[int]) -> None:
    """Replace the person's languages (with levels) and the clients they serve. Open tickets and
    held chats of a client they no longer serve go back to that client's queue."""
    wanted = set(tenant_ids)
    errors = {**_skill_errors(skills), **_tenant_errors(user.role_enum, wanted)}
    if user.role not in SERVING_ROLES and skills:
        errors["languages"] = _("Only agents and supervisors serve customers in languages.")
    if errors:
        raise ValidationFailed(fields=errors)
    current = dict(
        db.session.execute(
            select(AgentLanguage.language, AgentLanguage.level).where(AgentLanguage.user_id == user.id)
        ).all()
    )
    if current != dict(skills):
        assignments.set_languages(user, skills)
    held = set(assignments.assigned_tenant_ids(user.id))
    for tenant_id in sorted(wanted - held):
        assignments.assign(user, tenant_id)
    dropped = sorted(held - wanted)
    if dropped:
        db.session.execute(
            delete(AgentAssignment).where(
                AgentAssignment.user_id == user.id, AgentAssignment.tenant_id.in_(dropped)
            )
        )
        for tenant_id in dropped:
            returned = return_open_tickets(user, tenant_ids=[tenant_id])
            chats = chat_queue.give_back(user.id, tenant_ids=[tenant_id])
            audit.record(
                "agent.unassigned",
                tenant_id=tenant_id,
                target=user,
                data={"tickets": returned, "chats": chats},
            )
    db.session.flush()


def return_open_tickets(user: User, *, tenant_ids: Iterable[int] | None = None) -> int:
    """Put the person's open tickets (of the scope, or of these clients) back in the queue,
    unassigned; each ticket's history says so."""
    query = select(Ticket).where(Ticket.assignee_id == user.id, Ticket.status.in_(OPEN_VALUES))
    if tenant_ids is not None:
        query = query.where(Ticket.tenant_id.in_(list(tenant_ids)))
    held = list(db.session.scalars(query.order_by(Ticket.id)))
    for ticket in held:
        tickets.assign(ticket, None)
    return len(held)


# --- invitations and the account's life -------------------------------------------------------


@dataclass
class Invitation:
    email: str
    name: str
    role: str
    locale: str | None = None
    timezone: str | None = None
    languages: dict[str, str] = field(default_factory=dict)
    tenant_ids: list[int] = field(default_factory=list)


def invite(data: Invitation) -> User:
    """Create the account and mail the set-your-password link, with languages and clients.

    Every field is checked before anything is kept: the whole form's errors come back at once,
    and a refused invitation leaves no account (the caller rolls back)."""
    errors: dict[str, str] = {}
    role = Role(data.role) if data.role in {r.value for r in PROVIDER_ROLES} else None
    if role is None:
        errors["role"] = _("Choose agent, supervisor or provider admin.")
    else:
        errors.update(_tenant_errors(role, data.tenant_ids))
        if role not in SERVING_ROLES and data.languages:
            errors["languages"] = _("Only agents and supervisors serve customers in languages.")
    errors.update(_skill_errors(data.languages))
    user: User | None = None
    try:
        user = invitations.invite(
            email=data.email,
            name=data.name,
            role=role or Role.AGENT,
            locale=data.locale or None,
            timezone=data.timezone or None,
        )
    except ValidationFailed as exc:
        errors = {**exc.fields, **errors}
    if errors or user is None:
        raise ValidationFailed(fields=errors)
    if data.languages:
        assignments.set_languages(user, data.languages)
    for tenant_id in sorted(set(data.tenant_ids)):
        assignments.assign(user, tenant_id)
    return user


def resend_invitation(user: User) -> None:
    if status_of(user) is not StaffStatus.INVITED:
        raise Conflict(_("Only someone who has never signed in is sent the invitation again."))
    invitations.send_invitation(user)
    audit.record("user.invitation_resent", tenant_id=None, target=user)


def deactivate(user: User, actor: User) -> int:
    """Sign the person out everywhere now, take them off duty and put their open tickets and the
    chats they hold back in the queue; returns how many tickets went back."""
    if user.id == actor.id:
        raise Conflict(_("You cannot deactivate your own account."))
    if not user.is_active:
        raise Conflict(_("This account is deactivated already."))
    if user.role == Role.PROVIDER_ADMIN.value and _active_admins() <= 1:
        raise Conflict(_("The last provider admin stays active."))
    accounts.deactivate(user)
    if user.role in SERVING_ROLES:
        routing.set_presence(user, Presence.OFFLINE)
    returned = return_open_tickets(user)
    chats = chat_queue.give_back(user.id)
    audit.record(
        "user.deactivated",
        tenant_id=None,
        target=user,
        data={"tickets_returned": returned, "chats_returned": chats},
    )
    db.session.flush()
    return returned


def reactivate(user: User) -> None:
    if user.is_active:
        raise Conflict(_("This account is active already."))
    user.is_active = True
    audit.record("user.reactivated", tenant_id=None, target=user)
    db.session.flush()


def _active_admins() -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == Role.PROVIDER_ADMIN.value, User.is_active.is_(True))
        )
        or 0
    )


def language_choices() -> list[str]:
    """The languages a form offers: the interface's and every client's, sorted."""
    codes = set(current_app.config["LANGUAGES"])
    for languages in db.session.scalars(select(Tenant.languages)):
        codes.update(languages or [])
    return sorted(codes)
