"""Onboarding a new client company: everything the wizard collected, created in one call, all or
nothing.

`onboard` checks every step again (tenants.onboarding_draft) and then creates the client, its
channels, calendar, people, teams, plan, agent assignments and first articles inside one
savepoint: a failure anywhere (a KB file with a bad line, an address taken meanwhile) leaves
nothing behind. Invitations go out through the outbox, after the commit.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from agents import services as agents
from billing import plans
from billing.models import BillingAccount
from core import audit
from core.auth import invitations
from core.auth.models import User
from core.auth.roles import Role
from core.errors import ServiceError, ValidationFailed
from core.extensions import db
from escalations import teams
from knowledge.importing import csv_file, folder
from sla import calendars, policies
from tenants import services
from tenants.models import Tenant
from tenants.onboarding_draft import (
    Onboarding,
    Person,
    agent_choices,
    calendar_input,
    channel_list,
    check_all,
    clean_address,
)
from tickets.contacts import normalize_email


def onboard(data: Onboarding, actor: User) -> Tenant:
    """Create the client with everything the wizard collected; nothing is created if anything
    fails. Needs the all-tenants scope (a provider admin's)."""
    errors = check_all(data)
    if errors:
        raise ValidationFailed(fields=errors)
    with db.session.begin_nested():
        data.tenant.channels = [(kind, clean_address(kind, raw)) for kind, raw in channel_list(data)]
        tenant = services.create_tenant(data.tenant)
        calendar_id = _create_calendar(tenant, data)
        invited = _create_people(tenant, data, calendar_id)
        plans.save_plan(tenant, data.plan)
        db.session.add(
            BillingAccount(
                tenant_id=tenant.id, billing_email=normalize_email(data.billing_email or data.admin.email)
            )
        )
        for user in agent_choices():
            if user.id in data.agent_ids:
                agents.assign(user, tenant.id)
        articles = _import_knowledge(tenant, data, actor)
        audit.record(
            "tenant.onboarded",
            tenant_id=tenant.id,
            target=tenant,
            data={
                "channels": len(data.tenant.channels),
                "teams": len(data.teams),
                "invited": invited,
                "agents": len(data.agent_ids),
                "articles": articles,
            },
        )
        db.session.flush()
    return tenant


def _create_calendar(tenant: Tenant, data: Onboarding) -> int | None:
    """Weekly hours become the client's default SLA policy's calendar; 24/7 needs neither."""
    if data.always_open:
        return None
    with force_locale(_locale(tenant)):
        calendar = calendars.create(calendar_input(data, tenant.id))
        policies.create(
            policies.PolicyInput(tenant_id=tenant.id, name=_("Standard"), calendar_id=calendar.id)
        )
    return calendar.id


def _locale(tenant: Tenant) -> str | None:
    return tenant.default_language if tenant.default_language in current_app.config["LANGUAGES"] else None


def _create_people(tenant: Tenant, data: Onboarding, calendar_id: int | None) -> int:
    """Invite the admin and every member once (by address), then make the teams."""
    users: dict[str, User] = {}

    def invite(person: Person, role: Role) -> User:
        email = normalize_email(person.email)
        if email not in users:
            users[email] = invitations.invite(
                email=email,
                name=person.name,
                role=role,
                tenant_id=tenant.id,
                locale=_locale(tenant),
                timezone=tenant.timezone,
                tenant_name=tenant.name,
            )
        return users[email]

    invite(data.admin, Role.CLIENT_ADMIN)
    for draft in data.teams:
        member_ids = [invite(person, Role.CLIENT_EXPERT).id for person in draft.members]
        team = teams.TeamInput(
            name=draft.name,
            level=int(draft.level),
            email=draft.email,
            timezone=tenant.timezone,
            calendar_id=calendar_id,
            member_ids=member_ids,
        )
        try:
            teams.save_team(tenant.id, team)
        except ValidationFailed as exc:
            named = {f"team_{draft.index}_{k}": v for k, v in exc.fields.items()}
            raise ValidationFailed(fields=named) from None
    return len(users)


def _import_knowledge(tenant: Tenant, data: Onboarding, actor: User) -> int:
    """The first articles, as drafts for the client to approve (provider staff do not publish)."""
    if data.kb_path is None:
        return 0
    importer = folder.import_folder if data.kb_path.suffix == ".zip" else csv_file.import_csv
    try:
        with data.kb_path.open("rb") as stream:
            report = importer(tenant.id, stream, actor)
    except ServiceError as exc:
        raise ValidationFailed(fields={"kb_file": str(exc.message)}) from None
    if not report.ok:
        raise ValidationFailed(fields={"kb_file": " ".join(report.lines())})
    return report.created
