"""Assignments of provider staff to client companies, and their language skills."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import String, cast, delete, func, select

from agents.models import AgentAssignment, AgentLanguage, SkillLevel
from core import audit
from core.auth.models import User
from core.auth.roles import Role
from core.errors import ValidationFailed
from core.extensions import db


def assigned_tenant_ids(user_id: int) -> list[int]:
    return list(
        db.session.scalars(select(AgentAssignment.tenant_id).where(AgentAssignment.user_id == user_id))
    )


def assigned_tenants_column(user_id: Any) -> Any:
    """`assigned_tenant_ids` as a correlated subquery: the ids comma-separated, NULL for none."""
    return (
        select(func.aggregate_strings(cast(AgentAssignment.tenant_id, String), ","))
        .where(AgentAssignment.user_id == user_id)
        .scalar_subquery()
    )


def assign(user: User, tenant_id: int) -> AgentAssignment:
    if user.role not in (Role.AGENT, Role.SUPERVISOR):
        raise ValidationFailed(fields={"user": _("Only agents and supervisors are assigned to clients.")})
    existing = db.session.scalar(
        select(AgentAssignment).where(
            AgentAssignment.user_id == user.id, AgentAssignment.tenant_id == tenant_id
        )
    )
    if existing is not None:
        return existing
    assignment = AgentAssignment(user_id=user.id, tenant_id=tenant_id)
    db.session.add(assignment)
    audit.record("agent.assigned", tenant_id=tenant_id, target=user)
    db.session.flush()
    return assignment


def set_languages(user: User, skills: Mapping[str, str]) -> None:
    errors = {
        f"languages.{code}": _("Unknown level.")
        for code, level in skills.items()
        if level not in {lvl.value for lvl in SkillLevel}
    }
    if errors:
        raise ValidationFailed(fields=errors)
    db.session.execute(delete(AgentLanguage).where(AgentLanguage.user_id == user.id))
    for code, level in sorted(skills.items()):
        db.session.add(AgentLanguage(user_id=user.id, language=code, level=level))
    audit.record("agent.languages_set", tenant_id=None, target=user, data=dict(skills))
    db.session.flush()
