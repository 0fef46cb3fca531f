"""The onboarding wizard (`/admin/tenants/new`): one page per step, then a summary and "create".

What was typed travels in a signed hidden field (`draft`), not in the cookie session (which a
few teams and scripts would outgrow), so every step can go back and forth without losing
anything and two wizards in two tabs do not mix. The one file, the KB import, is kept in the
instance folder under a random name that the draft carries. Nothing is created before the last
step: then `tenants.onboarding.onboard` creates everything, or nothing and the step at fault is
shown again with its errors.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import available_timezones

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from billing import plans
from billing.labels import PLAN_LABELS, ROUNDING_LABELS
from core.errors import ValidationFailed
from sla.calendar import HOLIDAY_COUNTRIES
from sla.labels import weekday_names
from tenants import onboarding
from tenants.admin_views import admin_only, bp
from tenants.onboarding_draft import (
    COMMON_LANGUAGES,
    MAX_TEAMS,
    STEPS,
    TEXT_KINDS,
    Onboarding,
    agent_choices,
    check_step,
    new_key,
    plan_fields,
    step_of,
    team_count,
)
from tenants.onboarding_files import discard_upload, store_upload

SUMMARY = "summary"
STEP_TITLES = {
    "basics": _l("Client"),
    "calendar": _l("Business hours"),
    "channels": _l("Channels"),
    "texts": _l("Greetings and scripts"),
    "people": _l("Admin and teams"),
    "plan": _l("Plan"),
    "knowledge": _l("Knowledge base"),
    "agents": _l("Agents"),
    SUMMARY: _l("Summary"),
}
TEXT_TITLES = {"greeting": _l("Greeting"), "signature": _l("Signature"), "call_script": _l("Call script")}
CURRENCIES = ("CHF", "EUR", "USD", "GBP")
_STEP_FIELDS = {
    "basics": ("name", "slug", "ticket_prefix", "default_language", "timezone", "currency", "status"),
    "calendar": (*(f"hours_{day}" for day in range(7)), "holiday_country", "holiday_subdivision"),
    "channels": ("emails", "phones", "faxes", "webform_key", "chat_key"),
    "plan": (*(f"plan_{name}" for name in plan_fields()), "billing_email"),
}
_CHECKBOXES = {"calendar": ("always_open",), "channels": ("webform", "chat")}


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="onboarding-draft")


def _draft() -> dict[str, Any]:
    try:
        values = _serializer().loads(request.form.get("draft", ""))
    except BadSignature:
        return _defaults()
    return values if isinstance(values, dict) else _defaults()


def _defaults() -> dict[str, Any]:
    values: dict[str, Any] = {f"plan_{k}": v for k, v in vars(plans.PlanInput()).items()}
    values.update(
        plan_contract_start=date.today().isoformat(),
        timezone=str(get_timezone()),
        always_open="1",
        webform="1",
        chat="1",
        team_count="1",
        status="active",
    )
    return values


def _take(step: str, values: dict[str, Any], form: MultiDict[str, str]) -> None:
    """Put the step's fields from the form into the draft (a missing checkbox is off)."""
    for name in _STEP_FIELDS.get(step, ()):
        values[name] = form.get(name, values.get(name, ""))
    for name in _CHECKBOXES.get(step, ()):
        values[name] = "1" if form.get(name) else ""
    if step == "basics":
        values["languages"] = [code for code in form.getlist("languages") if code]
    elif step == "texts":
        for kind in TEXT_KINDS:
            for code in values.get("languages") or []:
                values[f"{kind}_{code}"] = form.get(f"{kind}_{code}", "")
    elif step == "people":
        values["admin_name"], values["admin_email"] = form.get("admin_name", ""), form.get("admin_email", "")
        values["team_count"] = str(team_count(form))
        for i in range(team_count(form)):
            for name in ("name", "level", "email", "members"):
                values[f"team_{i}_{name}"] = form.get(f"team_{i}_{name}", "")
    elif step == "knowledge":
        _take_upload(values)
    elif step == "agents":
        values["agent_ids"] = [raw for raw in form.getlist("agent_ids") if raw.isdigit()]


def _take_upload(values: dict[str, Any]) -> None:
    upload = request.files.get("kb_file")
    if request.form.get("kb_remove") or (upload and upload.filename):
        discard_upload(values.pop("kb_token", ""))
        values.pop("kb_filename", None)
    if upload and upload.filename:
        values["kb_token"] = store_upload(upload.filename, upload.read())
        values["kb_filename"] = upload.filename[:200]


def _render(
    step: str, values: dict[str, Any], errors: dict[str, str] | None = None, status: int = 200
) -> tuple[str, int]:
    if step == "channels":
        for name in ("webform_key", "chat_key"):
            if not values.get(name):
                values[name] = new_key(values.get("slug", ""))
    data = Onboarding.from_values(values)
    return render_template(
        "tenants/admin/new.html",
        step=step,
        steps=[*STEPS, SUMMARY],
        titles=STEP_TITLES,
        values=values,
        data=data,
        errors=errors or {},
        draft=_serializer().dumps(values),
        languages=sorted(set(COMMON_LANGUAGES) | set(values.get("languages") or [])),
        timezones=sorted(available_timezones()) if step == "basics" else [],
        currencies=CURRENCIES,
        weekdays=weekday_names(),
        countries=HOLIDAY_COUNTRIES,
        text_kinds=TEXT_KINDS,
        text_titles=TEXT_TITLES,
        team_slots=range(team_count(values)),
        max_teams=MAX_TEAMS,
        plan_fields=plan_fields(),
        plan_labels=PLAN_LABELS,
        rounding_labels=ROUNDING_LABELS,
        agents=agent_choices() if step in ("agents", SUMMARY) else [],
    ), status


def _next(step: str) -> str:
    order = [*STEPS, SUMMARY]
    return order[min(order.index(step) + 1, len(order) - 1)]


def _previous(step: str) -> str:
    order = [*STEPS, SUMMARY]
    return order[max(order.index(step) - 1, 0)]


@bp.route("/new", methods=["GET", "POST"])
@admin_only
def new() -> Response | tuple[str, int]:
    if request.method == "GET":
        return _render(STEPS[0], _defaults())
    values = _draft()
    step = request.form.get("step", "")
    step = step if step in (*STEPS, SUMMARY) else STEPS[0]
    action = request.form.get("action", "next")
    try:
        _take(step, values, request.form)
    except ValidationFailed as exc:
        return _render(step, values, {k: str(v) for k, v in exc.fields.items()}, 422)
    if action == "back":
        return _render(_previous(step), values)
    if action == "add_team":
        values["team_count"] = str(min(team_count(values) + 1, MAX_TEAMS))
        return _render(step, values)
    if action.startswith("edit_") and action[5:] in STEPS:
        return _render(action[5:], values)
    if action == "create" and step == SUMMARY:
        return _create(values)
    if step != SUMMARY:
        errors = check_step(step, Onboarding.from_values(values))
        if errors:
            return _render(step, values, errors, 422)
    return _render(_next(step), values)


def _create(values: dict[str, Any]) -> Response | tuple[str, int]:
    try:
        tenant = onboarding.onboard(Onboarding.from_values(values), current_user)
    except ValidationFailed as exc:
        errors = {k: str(v) for k, v in exc.fields.items()}
        if not errors:
            flash(str(exc.message), "error")
        first = min((STEPS.index(step_of(k)) for k in errors), default=0)
        return _render(STEPS[first], values, errors, 422)
    discard_upload(values.get("kb_token", ""))
    flash(_("%(name)s is set up. Its agents can take contacts now.", name=tenant.name), "success")
    return redirect(url_for("admin_tenants.page", tenant_id=tenant.id))
