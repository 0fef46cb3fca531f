"""The provider admin's view of the clients: status, plan, open tickets and SLA health.

Counted with one grouped query per kind of fact, whatever the number of clients (no query per
row). SLA health reads the stored due times of open tickets through the inbox's partial index:
breached when the due time has passed, at risk when it falls within the SLA board's horizon.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, select, text

from agents.models import AgentAssignment
from billing.models import Plan
from core.auth.models import User
from core.extensions import db
from core.models_base import utcnow
from sla.board import HORIZON
from tenants.models import Tenant, TenantStatus
from tickets.models import OPEN_PREDICATE, Ticket

OFFBOARDING = "offboarding"
FILTERS = (*(s.value for s in TenantStatus), OFFBOARDING)


@dataclass(frozen=True)
class Health:
    open_tickets: int = 0
    breached: int = 0
    at_risk: int = 0


@dataclass(frozen=True)
class TenantRow:
    tenant: Tenant
    plan_name: str | None
    health: Health


def health_of(tenant_ids: list[int], now: datetime | None = None) -> dict[int, Health]:
    if not tenant_ids:
        return {}
    now = now or utcnow()
    rows = db.session.execute(
        select(
            Ticket.tenant_id,
            func.count(),
            func.sum(case((Ticket.due_at <= now, 1), else_=0)),
            func.sum(case((and_(Ticket.due_at > now, Ticket.due_at <= now + HORIZON), 1), else_=0)),
        )
        .where(Ticket.tenant_id.in_(tenant_ids), text(OPEN_PREDICATE))
        .group_by(Ticket.tenant_id)
    )
    return {
        tid: Health(int(total), int(breached or 0), int(risk or 0)) for tid, total, breached, risk in rows
    }


def listing(status: str | None = None, now: datetime | None = None) -> list[TenantRow]:
    """Every client in scope by name, optionally only those of one status (or offboarding)."""
    query = select(Tenant).order_by(Tenant.name)
    if status == OFFBOARDING:
        query = query.where(Tenant.offboarded_at.is_not(None))
    elif status in FILTERS:
        query = query.where(Tenant.status == status)
    tenants = list(db.session.scalars(query))
    ids = [tenant.id for tenant in tenants]
    found = db.session.execute(select(Plan.tenant_id, Plan.name).where(Plan.tenant_id.in_(ids)))
    plans = {tenant_id: name for tenant_id, name in found}
    health = health_of(ids, now)
    return [TenantRow(t, plans.get(t.id), health.get(t.id, Health())) for t in tenants]


def assigned_staff(tenant_id: int) -> list[User]:
    """The agents and supervisors serving this client."""
    return list(
        db.session.scalars(
            select(User)
            .join(AgentAssignment, AgentAssignment.user_id == User.id)
            .where(AgentAssignment.tenant_id == tenant_id)
            .order_by(User.name)
        )
    )


def suspended_tenants() -> list[Tenant]:
    """The suspended clients in the viewer's scope: the desk and the portal show why."""
    return list(
        db.session.scalars(
            select(Tenant).where(Tenant.status == TenantStatus.SUSPENDED.value).order_by(Tenant.name)
        )
    )
