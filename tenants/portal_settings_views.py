"""A client's escalation settings: the teams and departments (with their targets and members), the
routing rules in order, and what the customer is told on escalation.

The client's admin keeps them under /portal/...; the provider admin sets them up for a client
under /portal/clients/<tenant_id>/... with the same views and templates (`where` carries the
client into every link). The notices page also holds the client's switches for the satisfaction
survey and the monthly report. Experts get 403 here. A team or rule id of another client than the
one in the URL is a 404.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from core.auth.access import roles_required
from core.auth.roles import Role
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from core.i18n import language_name
from escalations import routing, teams
from escalations.models import EscalationRule, Team
from escalations.problems import NUMBER_RE
from sla.models import BusinessCalendar
from tenants import services as tenants
from tenants.models import Tenant
from tenants.portal_views import bp
from tickets import organizations
from tickets import services as tickets
from tickets.labels import CATEGORY, PRIORITY
from tickets.models import Category, Priority, Ticket

client_admin = roles_required(Role.CLIENT_ADMIN, Role.PROVIDER_ADMIN)
MINUTE_FIELDS = ("ack_minutes", "resolve_minutes", "oncall_ack_minutes")
FOR_CLIENT = "/clients/<int:tenant_id>"


def _route(rule: str, **options: Any) -> Any:
    """The client admin's URL, and the provider admin's with the client in it."""

    def register(view: Any) -> Any:
        bp.add_url_rule(rule, view_func=view, **options)
        bp.add_url_rule(FOR_CLIENT + rule, view_func=view, **options)
        return view

    return register


def _tenant() -> Tenant:
    """The client whose settings these are: the client admin's own, or the one in the URL."""
    return tenants.portal_tenant(current_user, (request.view_args or {}).get("tenant_id"))


def where() -> dict[str, int]:
    """What every link of these pages carries: the client, when the provider admin works on one."""
    chosen = (request.view_args or {}).get("tenant_id")
    return {} if current_user.role == Role.CLIENT_ADMIN.value or chosen is None else {"tenant_id": chosen}


def _back(endpoint: str) -> Response:
    return redirect(url_for(endpoint, **where()))


@bp.context_processor
def _settings_links() -> dict[str, Any]:
    return {"where": where() if current_user.is_authenticated else {}}


def _int(raw: str | None) -> int:
    """A whole number from a form, or 0 (which every range check refuses with its own message)."""
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 10 else 0


def _ids(name: str) -> list[int]:
    return [int(item) for item in request.form.getlist(name) if item.isdigit() and len(item) < 10]


def _other_pages(team: Team) -> dict[str, str]:
    """Links to the team's rota and webhook deliveries."""
    return {
        "rota": url_for("team_portal.rota_page", team_id=team.id),
        "deliveries": url_for("team_portal.deliveries", team_id=team.id),
    }


# --- teams -------------------------------------------------------------------------------------


@_route("/teams")
@client_admin
def teams_page(tenant_id: int | None = None) -> str:
    tenant = _tenant()
    rows = teams.teams_of(tenant.id)
    return render_template(
        "tenants/portal/teams.html",
        tenant=tenant,
        rows=[(team, teams.members_of(team), _other_pages(team)) for team in rows],
        calendars={calendar.id: calendar.name for calendar in _calendars(tenant.id)},
    )


def _calendars(tenant_id: int) -> list[BusinessCalendar]:
    return list(
        db.session.scalars(
            select(BusinessCalendar)
            .where(BusinessCalendar.tenant_id == tenant_id)
            .order_by(BusinessCalendar.name)
        )
    )


def _team_input() -> teams.TeamInput:
    form = request.form
    calendar = form.get("calendar_id", "")
    return teams.TeamInput(
        name=form.get("name", ""),
        level=_int(form.get("level")),
        email=form.get("email", ""),
        webhook_url=form.get("webhook_url", ""),
        timezone=form.get("timezone", ""),
        calendar_id=int(calendar) if calendar.isdigit() and len(calendar) < 10 else None,
        ack_minutes=_int(form.get("ack_minutes")),
        resolve_minutes=_int(form.get("resolve_minutes")),
        oncall_ack_minutes=_int(form.get("oncall_ack_minutes")),
        active=form.get("active") == "1",
        member_ids=_ids("member_ids"),
    )


def _team_form(team: Team | None, errors: dict[str, Any], status: int = 200) -> tuple[str, int]:
    tenant = _tenant()
    return (
        render_template(
            "tenants/portal/team_form.html",
            tenant=tenant,
            team=team,
            form=request.form if errors else None,
            errors=errors,
            members={user.id for user in teams.members_of(team)} if team else set(),
            staff=teams.client_staff(tenant.id),
            calendars=_calendars(tenant.id),
            timezones=sorted(available_timezones()),
            links=_other_pages(team) if team else {},
        ),
        status,
    )


@_route("/teams/new", methods=["GET", "POST"])
@client_admin
def new_team(tenant_id: int | None = None) -> Response | tuple[str, int]:
    if request.method == "GET":
        return _team_form(None, {})
    try:
        team = teams.save_team(_tenant().id, _team_input())
    except ValidationFailed as exc:
        db.session.rollback()
        return _team_form(None, exc.fields, 422)
    flash(_("Team %(name)s created.", name=team.name), "success")
    return _back("portal.teams_page")


def _team(team_id: int) -> Team:
    team = teams.team_for(current_user, team_id)
    if team.tenant_id != _tenant().id:
        raise teams.not_found()
    return team


@_route("/teams/<int:team_id>", methods=["GET", "POST"])
@client_admin
def edit_team(team_id: int, tenant_id: int | None = None) -> Response | tuple[str, int]:
    team = _team(team_id)
    if request.method == "GET":
        return _team_form(team, {})
    try:
        teams.save_team(team.tenant_id, _team_input(), team)
    except ValidationFailed as exc:
        db.session.rollback()
        return _team_form(_team(team_id), exc.fields, 422)
    flash(_("Team %(name)s saved.", name=team.name), "success")
    return _back("portal.teams_page")


# --- routing rules -----------------------------------------------------------------------------


def _rule(rule_id: int) -> EscalationRule:
    rule = routing.get_rule(rule_id)
    if rule.tenant_id != _tenant().id:
        raise NotFound(_("Not found."))
    return rule


def _test(tenant: Tenant, raw: str) -> dict[str, Any] | None:
    """Which team the rules pick for the ticket numbered `raw` (of this client)."""
    raw = raw.strip()
    if not raw:
        return None
    match = NUMBER_RE.match(raw.upper())
    ticket: Ticket | None = None
    if match and (not match.group(1) or match.group(1) == tenant.ticket_prefix.upper()):
        ticket = tickets.find_by_number(tenant.id, int(match.group(2)))
    if ticket is None:
        return {
            "number": raw,
            "error": _("%(client)s has no ticket %(number)s.", client=tenant.name, number=raw),
        }
    team = routing.propose(ticket)
    return {"number": tickets.display_number(tenant, ticket), "ticket": ticket, "team": team}


@_route("/rules")
@client_admin
def rules_page(tenant_id: int | None = None) -> str:
    tenant = _tenant()
    return render_template(
        "tenants/portal/rules.html",
        tenant=tenant,
        rules=routing.rules_of(tenant.id),
        team_names={team.id: team.name for team in teams.teams_of(tenant.id)},
        organizations={org.id: org.name for org in organizations.listing(tenant.id, limit=500)},
        categories=CATEGORY,
        priorities=PRIORITY,
        test=_test(tenant, request.args.get("number", "")),
    )


def _rule_input() -> routing.RuleInput:
    form = request.form
    return routing.RuleInput(
        team_id=_int(form.get("team_id")),
        categories=form.getlist("categories"),
        priorities=form.getlist("priorities"),
        languages=form.getlist("languages"),
        keywords=[word for word in form.get("keywords", "").split(",") if word.strip()],
        organization_ids=_ids("organization_ids"),
        active=form.get("active") == "1",
    )


def _rule_form(rule: EscalationRule | None, errors: dict[str, Any], status: int = 200) -> tuple[str, int]:
    tenant = _tenant()
    return (
        render_template(
            "tenants/portal/rule_form.html",
            tenant=tenant,
            rule=rule,
            form=request.form if errors else None,
            errors=errors,
            teams=teams.teams_of(tenant.id),
            organizations=organizations.listing(tenant.id, limit=500),
            categories=[(item.value, CATEGORY[item.value]) for item in Category],
            priorities=[(item.value, PRIORITY[item.value]) for item in Priority],
            languages=[(code, language_name(code)) for code in tenant.languages],
            picked=_picked(rule),
        ),
        status,
    )


def _picked(rule: EscalationRule | None) -> dict[str, set[str]]:
    """The ticked choices of each list condition: as posted, or as saved."""
    names = ("categories", "priorities", "languages", "organization_ids")
    if request.method == "POST":
        return {name: set(request.form.getlist(name)) for name in names}
    return {name: {str(value) for value in (getattr(rule, name) if rule else [])} for name in names}


@_route("/rules/new", methods=["GET", "POST"])
@client_admin
def new_rule(tenant_id: int | None = None) -> Response | tuple[str, int]:
    if request.method == "GET":
        return _rule_form(None, {})
    try:
        routing.save_rule(_tenant().id, _rule_input())
    except ValidationFailed as exc:
        db.session.rollback()
        return _rule_form(None, exc.fields, 422)
    flash(_("Rule added."), "success")
    return _back("portal.rules_page")


@_route("/rules/<int:rule_id>", methods=["GET", "POST"])
@client_admin
def edit_rule(rule_id: int, tenant_id: int | None = None) -> Response | tuple[str, int]:
    rule = _rule(rule_id)
    if request.method == "GET":
        return _rule_form(rule, {})
    try:
        routing.save_rule(rule.tenant_id, _rule_input(), rule)
    except ValidationFailed as exc:
        db.session.rollback()
        return _rule_form(_rule(rule_id), exc.fields, 422)
    flash(_("Rule saved."), "success")
    return _back("portal.rules_page")


@_route("/rules/<int:rule_id>/delete", methods=["POST"])
@client_admin
def delete_rule(rule_id: int, tenant_id: int | None = None) -> Response:
    routing.delete_rule(_rule(rule_id))
    flash(_("Rule deleted."), "success")
    return _back("portal.rules_page")


@_route("/rules/<int:rule_id>/move", methods=["POST"])
@client_admin
def move_rule(rule_id: int, tenant_id: int | None = None) -> Response:
    routing.move_rule(_rule(rule_id), -1 if request.form.get("direction") == "up" else 1)
    return _back("portal.rules_page")


# --- what the customer is told -----------------------------------------------------------------


@_route("/notices", methods=["GET", "POST"])
@client_admin
def notices(tenant_id: int | None = None) -> Response | tuple[str, int]:
    tenant = _tenant()
    errors: dict[str, Any] = {}
    if request.method == "POST":
        try:
            tenants.set_escalation_notices(
                tenant, {lang: request.form.get(f"text_{lang}", "") for lang in tenant.languages}
            )
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields
            tenant = _tenant()
        else:
            flash(_("Saved."), "success")
            return _back("portal.notices")
    return (
        render_template(
            "tenants/portal/notices.html",
            tenant=tenant,
            errors=errors,
            form=request.form if errors else None,
            placeholders=", ".join("{" + name + "}" for name in tenants.ACK_PLACEHOLDERS),
        ),
        422 if errors else 200,
    )


@_route("/feedback", methods=["POST"])
@client_admin
def feedback(tenant_id: int | None = None) -> Response:
    """The satisfaction survey and the monthly report, switched on or off (two checkboxes)."""
    tenants.set_feedback(
        _tenant(),
        csat_enabled=request.form.get("csat_enabled") == "on",
        monthly_report=request.form.get("monthly_report") == "on",
    )
    flash(_("Saved."), "success")
    return _back("portal.notices")
