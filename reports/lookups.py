"""Names and choices around a report: clients, teams and agents by id, for the tables and for the
filter form. A handful of queries per page, each for the ids at hand only."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select

from agents.models import AgentAssignment
from core.auth.models import User
from core.auth.roles import Role
from core.extensions import db
from escalations.models import Team
from reports.metrics import Report
from tenants.models import Tenant

SERVING_ROLES = (Role.AGENT.value, Role.SUPERVISOR.value)


@dataclass(frozen=True)
class Names:
    """Display names of the ids in a report: clients, teams (with their client), agents."""

    tenants: Mapping[int, str] = field(default_factory=dict)
    teams: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    agents: Mapping[str, str] = field(default_factory=dict)


def tenants(tenant_ids: Iterable[int]) -> list[Tenant]:
    """The clients of `tenant_ids`, by name."""
    ids = list(tenant_ids)
    if not ids:
        return []
    return list(db.session.scalars(select(Tenant).where(Tenant.id.in_(ids)).order_by(Tenant.name)))


def names_for(report: Report, clients: Iterable[Tenant], *, agents: bool) -> Names:
    """Names of the report's clients, teams and (for the provider's pages only) agents."""
    team_ids = [int(key) for key in report.by.get("team", {}) if key.isdigit()]
    teams = {}
    if team_ids:
        found = db.session.execute(select(Team.id, Team.name, Team.tenant_id).where(Team.id.in_(team_ids)))
        teams = {str(team_id): (name, tenant_id) for team_id, name, tenant_id in found}
    agent_names = {}
    agent_ids = [int(key) for key in report.by.get("agent", {}) if key.isdigit()] if agents else []
    if agent_ids:
        found = db.session.execute(select(User.id, User.name).where(User.id.in_(agent_ids)))
        agent_names = {str(user_id): name for user_id, name in found}
    return Names({tenant.id: tenant.name for tenant in clients}, teams, agent_names)


def team_choices(tenant_id: int) -> list[tuple[str, str]]:
    query = select(Team.id, Team.name).where(Team.tenant_id == tenant_id).order_by(Team.level, Team.name)
    return [(str(team_id), name) for team_id, name in db.session.execute(query)]


def agent_choices(tenant_ids: Iterable[int]) -> list[tuple[str, str]]:
    """Provider staff who serve one of the clients (the people a ticket can be assigned to)."""
    ids = list(tenant_ids)
    if not ids:
        return []
    serving = select(AgentAssignment.user_id).where(AgentAssignment.tenant_id.in_(ids))
    query = (
        select(User.id, User.name)
        .where(User.id.in_(serving), User.role.in_(SERVING_ROLES))
        .order_by(User.name, User.id)
    )
    return [(str(user_id), name) for user_id, name in db.session.execute(query)]


def language_choices(clients: Iterable[Tenant]) -> list[str]:
    return sorted({language for tenant in clients for language in tenant.languages})
