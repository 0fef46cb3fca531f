"""SLA settings: a client's policies and business calendars (with holidays).

Client admins edit their own company's; provider admins and supervisors those of every client
in their scope. Objects are loaded through the tenancy scope, so another client's id is a 404.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response

from core.auth.access import roles_required
from core.auth.roles import Role
from core.errors import Conflict, ValidationFailed
from core.extensions import db
from core.models_base import utcnow
from sla import calendars, policies
from sla.calendar import HOLIDAY_COUNTRIES
from sla.labels import CLOCK, weekday_names
from sla.models import BusinessCalendar, SlaPolicy
from tenants import services as tenants
from tenants.models import Tenant
from tickets import organizations
from tickets import sla as clocks
from tickets.labels import CATEGORY, PRIORITY
from tickets.models import Category

bp = Blueprint("sla", __name__, url_prefix="/sla", template_folder="templates")
EDITORS = (Role.CLIENT_ADMIN, Role.SUPERVISOR, Role.PROVIDER_ADMIN)
editors = roles_required(*EDITORS)


def int_arg(raw: str | None) -> int | None:
    return int(raw) if raw and raw.strip().isdigit() else None


def tenant_choices() -> dict[int, Tenant]:
    return {t.id: t for t in tenants.visible_tenants()}


def _chosen(choices: dict[int, Tenant]) -> Tenant | None:
    tenant_id = int_arg(request.values.get("tenant_id"))
    if tenant_id is None:
        return next(iter(choices.values())) if len(choices) == 1 else None
    if tenant_id not in choices:
        abort(404)
    return choices[tenant_id]


@bp.route("/")
@editors
def settings() -> str:
    choices = tenant_choices()
    tenant = _chosen(choices)
    tenant_ids = [tenant.id] if tenant else list(choices)
    return render_template(
        "sla/settings.html",
        tenants=choices,
        tenant=tenant,
        policies=policies.listing(tenant_ids),
        calendars=calendars.listing(tenant_ids),
        calendar_names={c.id: c.name for c in calendars.listing(tenant_ids)},
        organization_names=policies.organization_names(tenant_ids),
        clock_labels=CLOCK,
        category_labels=CATEGORY,
    )


# --- policies ---------------------------------------------------------------------------------


def _policy_input(tenant_id: int) -> policies.PolicyInput:
    form = request.form
    return policies.PolicyInput(
        tenant_id=tenant_id,
        name=form.get("name", ""),
        position=form.get("position", "0"),
        organization_id=int_arg(form.get("organization_id")),
        category=form.get("category") or None,
        calendar_id=int_arg(form.get("calendar_id")),
        warn_percent=form.get("warn_percent", ""),
        raise_priority=bool(form.get("raise_priority")),
        active=bool(form.get("active")),
        targets={
            clock: {p: form.get(policies.target_field(clock, p), "") for p in policies.PRIORITIES}
            for clock in policies.CLOCKS
        },
    )


def _policy_form(
    tenant: Tenant, policy: SlaPolicy | None, errors: dict[str, Any] | None = None, status: int = 200
) -> tuple[str, int]:
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = request.form.to_dict()
    elif policy is not None:
        values = {
            "name": policy.name,
            "position": policy.position,
            "organization_id": policy.organization_id or "",
            "category": policy.category or "",
            "calendar_id": policy.calendar_id or "",
            "warn_percent": policy.warn_percent,
            "raise_priority": policy.raise_priority,
            "active": policy.active,
            **{
                policies.target_field(clock, p): (policy.targets or {}).get(clock, {}).get(p, "")
                for clock in policies.CLOCKS
                for p in policies.PRIORITIES
            },
        }
    else:
        values = {"position": 0, "warn_percent": policies.DEFAULT_WARN_PERCENT, "active": True}
    defaults = {
        policies.target_field(clock, p): clocks.target_minutes(tenant.sla_targets or {}, clock, p)
        for clock in policies.CLOCKS
        for p in policies.PRIORITIES
    }
    return (
        render_template(
            "sla/policy_form.html",
            tenant=tenant,
            policy=policy,
            values=values,
            errors=errors or {},
            defaults=defaults,
            clocks=policies.CLOCKS,
            priorities=policies.PRIORITIES,
            clock_labels=CLOCK,
            priority_labels=PRIORITY,
            categories=[(c.value, CATEGORY[c.value]) for c in Category],
            organizations=organizations.listing(tenant.id, limit=1000),
            calendars=calendars.listing([tenant.id]),
            target_field=policies.target_field,
        ),
        status,
    )


@bp.route("/policies/new", methods=["GET", "POST"])
@editors
def new_policy() -> Response | tuple[str, int]:
    tenant = _chosen(tenant_choices())
    if tenant is None:
        flash(_("Choose a client first."), "error")
        return redirect(url_for("sla.settings"))
    if request.method == "GET":
        return _policy_form(tenant, None)
    try:
        policies.create(_policy_input(tenant.id))
    except ValidationFailed as exc:
        return _policy_form(tenant, None, exc.fields, 422)
    flash(_("SLA policy saved."), "success")
    return redirect(url_for("sla.settings", tenant_id=tenant.id))


@bp.route("/policies/<int:policy_id>", methods=["GET", "POST"])
@editors
def edit_policy(policy_id: int) -> Response | tuple[str, int]:
    policy = policies.get(policy_id)
    tenant = db.session.get_one(Tenant, policy.tenant_id)
    if request.method == "GET":
        return _policy_form(tenant, policy)
    try:
        policies.update(policy, _policy_input(tenant.id))
    except ValidationFailed as exc:
        return _policy_form(tenant, policy, exc.fields, 422)
    flash(_("SLA policy saved."), "success")
    return redirect(url_for("sla.settings", tenant_id=tenant.id))


@bp.route("/policies/<int:policy_id>/delete", methods=["POST"])
@editors
def delete_policy(policy_id: int) -> Response:
    policy = policies.get(policy_id)
    tenant_id = policy.tenant_id
    policies.delete(policy)
    flash(_("SLA policy deleted."), "success")
    return redirect(url_for("sla.settings", tenant_id=tenant_id))


# --- calendars --------------------------------------------------------------------------------


def _calendar_input(tenant_id: int) -> calendars.CalendarInput:
    form = request.form
    return calendars.CalendarInput(
        tenant_id=tenant_id,
        name=form.get("name", ""),
        timezone=form.get("timezone", ""),
        always_open=bool(form.get("always_open")),
        hours={str(day): form.get(calendars.hours_field(day), "") for day in range(7)},
        holiday_country=form.get("holiday_country") or None,
        holiday_subdivision=form.get("holiday_subdivision") or None,
    )


def _calendar_form(
    tenant: Tenant,
    calendar: BusinessCalendar | None,
    errors: dict[str, Any] | None = None,
    status: int = 200,
    *,
    holiday_form: dict[str, Any] | None = None,
) -> tuple[str, int]:
    if request.method == "POST" and holiday_form is None:
        values: dict[str, Any] = request.form.to_dict()
    elif calendar is not None:
        values = {
            "name": calendar.name,
            "timezone": calendar.timezone,
            "always_open": calendar.always_open,
            "holiday_country": calendar.holiday_country or "",
            "holiday_subdivision": calendar.holiday_subdivision or "",
            **{
                calendars.hours_field(day): calendars.hours_text((calendar.hours or {}).get(str(day), []))
                for day in range(7)
            },
        }
    else:
        values = {
            "timezone": tenant.timezone,
            **{calendars.hours_field(day): "08:00-18:00" if day < 5 else "" for day in range(7)},
        }
    today = utcnow().date()
    return (
        render_template(
            "sla/calendar_form.html",
            tenant=tenant,
            calendar=calendar,
            values=values,
            errors=errors or {},
            weekdays=weekday_names(),
            hours_field=calendars.hours_field,
            countries=HOLIDAY_COUNTRIES,
            holidays=calendars.holidays_of(calendar, since=date(today.year, 1, 1)) if calendar else [],
            used_by=calendars.users_of(calendar) if calendar else [],
            holiday_form=holiday_form or {},
            this_year=today.year,
        ),
        status,
    )


@bp.route("/calendars/new", methods=["GET", "POST"])
@editors
def new_calendar() -> Response | tuple[str, int]:
    tenant = _chosen(tenant_choices())
    if tenant is None:
        flash(_("Choose a client first."), "error")
        return redirect(url_for("sla.settings"))
    if request.method == "GET":
        return _calendar_form(tenant, None)
    try:
        calendar = calendars.create(_calendar_input(tenant.id))
    except ValidationFailed as exc:
        return _calendar_form(tenant, None, exc.fields, 422)
    flash(_("Calendar saved."), "success")
    return redirect(url_for("sla.edit_calendar", calendar_id=calendar.id))


@bp.route("/calendars/<int:calendar_id>", methods=["GET", "POST"])
@editors
def edit_calendar(calendar_id: int) -> Response | tuple[str, int]:
    calendar = calendars.get(calendar_id)
    tenant = db.session.get_one(Tenant, calendar.tenant_id)
    if request.method == "GET":
        return _calendar_form(tenant, calendar)
    try:
        calendars.update(calendar, _calendar_input(tenant.id))
    except ValidationFailed as exc:
        return _calendar_form(tenant, calendar, exc.fields, 422)
    flash(_("Calendar saved."), "success")
    return redirect(url_for("sla.edit_calendar", calendar_id=calendar.id))


@bp.route("/calendars/<int:calendar_id>/delete", methods=["POST"])
@editors
def delete_calendar(calendar_id: int) -> Response | tuple[str, int]:
    calendar = calendars.get(calendar_id)
    tenant_id = calendar.tenant_id
    try:
        calendars.delete(calendar)
    except Conflict as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("sla.edit_calendar", calendar_id=calendar_id))
    flash(_("Calendar deleted."), "success")
    return redirect(url_for("sla.settings", tenant_id=tenant_id))


@bp.route("/calendars/<int:calendar_id>/holidays", methods=["POST"])
@editors
def add_holidays(calendar_id: int) -> Response | tuple[str, int]:
    """Pasted lines, or a country's public holidays for the next years."""
    calendar = calendars.get(calendar_id)
    tenant = db.session.get_one(Tenant, calendar.tenant_id)
    form = request.form
    try:
        if form.get("source") == "national":
            rows = calendars.national_holiday_rows(
                form.get("country", ""),
                form.get("subdivision") or None,
                utcnow().year,
                int_arg(form.get("years")) or 0,
            )
        else:
            rows = calendars.parse_holiday_lines(form.get("lines", ""))
        added = calendars.add_holidays(calendar, rows)
    except ValidationFailed as exc:
        return _calendar_form(tenant, calendar, exc.fields, 422, holiday_form=form.to_dict())
    flash(ngettext("%(num)d holiday added.", "%(num)d holidays added.", added), "success")
    return redirect(url_for("sla.edit_calendar", calendar_id=calendar.id))


@bp.route("/calendars/<int:calendar_id>/holidays/<int:holiday_id>/delete", methods=["POST"])
@editors
def delete_holiday(calendar_id: int, holiday_id: int) -> Response:
    calendar = calendars.get(calendar_id)
    calendars.delete_holiday(calendar, holiday_id)
    flash(_("Holiday removed."), "success")
    return redirect(url_for("sla.edit_calendar", calendar_id=calendar.id))
