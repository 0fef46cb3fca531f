"""SLA policies: which targets and which business calendar apply to a ticket.

A client may have several: a default (no organisation, no category), and more specific ones for
a category, one of its B2B customers (organisation), or both. `policy_for` picks the most
specific active one; ties go to the lower position. A target left empty falls back to the
client's own targets (`Tenant.sla_targets`) and then to the built-in defaults, counted in the
policy's calendar.

Organisation and calendar ids come from forms: they are checked to be the same client's, and an
id of another client reads exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from core import audit, memo
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from sla.models import BusinessCalendar, SlaPolicy
from tenants.models import Tenant
from tickets.models import Category, Organization, Priority, Ticket

CLOCKS = ("first_response", "next_response", "resolution")
PRIORITIES = (Priority.URGENT.value, Priority.HIGH.value, Priority.NORMAL.value, Priority.LOW.value)
MAX_TARGET_MINUTES = 366 * 24 * 60
DEFAULT_WARN_PERCENT = 80


def target_field(clock: str, priority: str) -> str:
    """The form field (and error key) of one target."""
    return f"target_{clock}_{priority}"


@dataclass
class PolicyInput:
    tenant_id: int
    name: str
    # Minutes per clock and priority; empty values fall back to the client's defaults.
    targets: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    position: object = 0
    organization_id: int | None = None
    category: str | None = None
    calendar_id: int | None = None
    warn_percent: object = DEFAULT_WARN_PERCENT
    raise_priority: bool = False
    active: bool = True


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip() if value is not None else ""
    if text.lstrip("-").isdigit():
        return int(text)
    return None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _targets(raw: Mapping[str, Mapping[str, object]], errors: dict[str, str]) -> dict[str, dict[str, int]]:
    targets: dict[str, dict[str, int]] = {}
    for clock in CLOCKS:
        for priority in PRIORITIES:
            value = (raw.get(clock) or {}).get(priority)
            if _blank(value):
                continue
            minutes = _int(value)
            if minutes is None or not 0 < minutes <= MAX_TARGET_MINUTES:
                errors[target_field(clock, priority)] = _(
                    "A target is a whole number of minutes, at least 1 and at most %(max)d.",
                    max=MAX_TARGET_MINUTES,
                )
                continue
            targets.setdefault(clock, {})[priority] = minutes
    unknown = set(raw) - set(CLOCKS)
    if unknown:
        errors["targets"] = _("Unknown clock: %(names)s.", names=", ".join(sorted(unknown)))
    return targets


def _validated(data: PolicyInput) -> dict[str, Any]:
    errors: dict[str, str] = {}
    name = " ".join(data.name.split())
    if not 1 <= len(name) <= 120:
        errors["name"] = _("Give a name of at most 120 characters.")
    position = _int(data.position) if not _blank(data.position) else 0
    if position is None or not 0 <= position <= 10_000:
        errors["position"] = _("The position is a whole number from 0 to 10000.")
    warn = _int(data.warn_percent)
    if warn is None or not 1 <= warn <= 99:
        errors["warn_percent"] = _("Warn at a whole percentage from 1 to 99.")
    category = data.category or None
    if category is not None and category not in {c.value for c in Category}:
        errors["category"] = _("Invalid value.")
    if data.organization_id is not None:
        org = db.session.get(Organization, data.organization_id)
        if org is None or org.tenant_id != data.tenant_id:
            errors["organization_id"] = _("Choose one of this client's organisations.")
    if data.calendar_id is not None:
        calendar = db.session.get(BusinessCalendar, data.calendar_id)
        if calendar is None or calendar.tenant_id != data.tenant_id:
            errors["calendar_id"] = _("Choose one of this client's calendars.")
    targets = _targets(data.targets, errors)
    if errors:
        raise ValidationFailed(fields=errors)
    return {
        "name": name,
        "position": position,
        "organization_id": data.organization_id,
        "category": category,
        "calendar_id": data.calendar_id,
        "targets": targets,
        "warn_percent": warn,
        "raise_priority": bool(data.raise_priority),
        "active": bool(data.active),
    }


def _tenant(tenant_id: int) -> Tenant:
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(_("Not found."))
    return tenant


def create(data: PolicyInput) -> SlaPolicy:
    _tenant(data.tenant_id)
    policy = SlaPolicy(tenant_id=data.tenant_id, **_validated(data))
    db.session.add(policy)
    db.session.flush()
    audit.record("sla_policy.created", tenant_id=policy.tenant_id, target=policy)
    return policy


def update(policy: SlaPolicy, data: PolicyInput) -> SlaPolicy:
    """Changes apply to tickets that pick a policy from now on (new tickets, a new priority or
    category); the due times of running tickets are not moved behind the agents' backs."""
    data.tenant_id = policy.tenant_id
    for key, value in _validated(data).items():
        setattr(policy, key, value)
    db.session.flush()
    audit.record("sla_policy.updated", tenant_id=policy.tenant_id, target=policy)
    return policy


def delete(policy: SlaPolicy) -> None:
    audit.record("sla_policy.deleted", tenant_id=policy.tenant_id, target=policy, data={"name": policy.name})
    db.session.delete(policy)
    db.session.flush()


def get(policy_id: int) -> SlaPolicy:
    policy = db.session.get(SlaPolicy, policy_id)
    if policy is None:
        raise NotFound(_("Not found."))
    return policy


def listing(tenant_ids: Iterable[int]) -> list[SlaPolicy]:
    ids = list(tenant_ids)
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(SlaPolicy)
            .where(SlaPolicy.tenant_id.in_(ids))
            .order_by(SlaPolicy.tenant_id, SlaPolicy.position, SlaPolicy.id)
        )
    )


def organization_names(tenant_ids: Iterable[int]) -> dict[int, str]:
    """Names of the organisations the policies of these clients name."""
    ids = list(tenant_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Organization.id, Organization.name)
        .join(SlaPolicy, SlaPolicy.organization_id == Organization.id)
        .where(SlaPolicy.tenant_id.in_(ids))
    )
    return {org_id: name for org_id, name in rows}


def specificity(policy: SlaPolicy) -> int:
    return 2 * (policy.organization_id is not None) + (policy.category is not None)


def best_policy(policies: Iterable[SlaPolicy], ticket: Ticket) -> SlaPolicy | None:
    """The most specific of `policies` (in position order) that matches the ticket."""
    best: SlaPolicy | None = None
    for policy in policies:
        if not policy.active:
            continue
        if policy.organization_id is not None and policy.organization_id != ticket.organization_id:
            continue
        if policy.category is not None and policy.category != ticket.category:
            continue
        if best is None or specificity(policy) > specificity(best):
            best = policy
    return best


def policy_for(ticket: Ticket) -> SlaPolicy | None:
    """The policy a ticket falls under, or None: then the client's targets apply, 24/7."""
    tenant_id = ticket.tenant_id
    active = memo.read(
        ("sla_policies", tenant_id),
        lambda: list(
            db.session.scalars(
                select(SlaPolicy)
                .where(SlaPolicy.tenant_id == tenant_id, SlaPolicy.active.is_(True))
                .order_by(SlaPolicy.position, SlaPolicy.id)
            )
        ),
    )
    return best_policy(active, ticket)
