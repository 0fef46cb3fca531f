"""Staff administration pages (/admin/agents): the provider admin invites, edits and deactivates
provider staff; supervisors read the staff of their own clients. The rules are in agents.staff."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import available_timezones

from babel.lists import format_list
from babel.units import format_unit
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from agents import staff
from agents.models import SkillLevel
from core.auth.access import roles_required
from core.auth.models import User
from core.auth.roles import PROVIDER_ROLES, Role
from core.errors import Conflict, ValidationFailed
from core.extensions import db
from tenants import services as tenants

bp = Blueprint("staff", __name__, url_prefix="/admin/agents", template_folder="templates")
admins = roles_required(Role.PROVIDER_ADMIN)
readers = roles_required(Role.PROVIDER_ADMIN, Role.SUPERVISOR)

LEVEL_LABELS = {
    SkillLevel.NATIVE.value: _l("native"),
    SkillLevel.FLUENT.value: _l("fluent"),
    SkillLevel.BASIC.value: _l("basic"),
}
STATUS_LABELS = {
    staff.StaffStatus.ACTIVE.value: _l("Active"),
    staff.StaffStatus.INVITED.value: _l("Invited"),
    staff.StaffStatus.DEACTIVATED.value: _l("Deactivated"),
}
ROLES = (Role.AGENT, Role.SUPERVISOR, Role.PROVIDER_ADMIN)
_ZONES: list[str] = []


def booked(seconds: int) -> str:
    """Booked time as hours and minutes ('7 hr, 30 min'), CLDR-formatted for the reader."""
    locale = get_locale() or "en"
    hours, minutes = divmod(seconds // 60, 60)
    parts = [
        format_unit(value, unit, length="short", locale=locale)
        for value, unit in ((hours, "duration-hour"), (minutes, "duration-minute"))
        if value
    ] or [format_unit(0, "duration-minute", length="short", locale=locale)]
    return format_list(parts, style="unit-short", locale=locale)


def _zones() -> list[str]:
    if not _ZONES:
        _ZONES.extend(sorted(available_timezones()))
    return _ZONES


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() else None


@bp.route("")
@readers
def index() -> str:
    role = request.args.get("role", "")
    status = request.args.get("status", "")
    flt = staff.StaffFilter(
        role=Role(role) if role in {r.value for r in PROVIDER_ROLES} else None,
        status=staff.StaffStatus(status) if status in {s.value for s in staff.StaffStatus} else None,
        tenant_id=_int_arg("tenant"),
    )
    visible = tenants.visible_tenants()
    return render_template(
        "agents/admin/index.html",
        rows=staff.listing(current_user, flt),
        flt=flt,
        roles=ROLES,
        statuses=STATUS_LABELS,
        levels=LEVEL_LABELS,
        tenants={t.id: t for t in visible},
        booked=booked,
        days=staff.WORKLOAD_DAYS,
        can_manage=current_user.role == Role.PROVIDER_ADMIN.value,
    )


# --- forms ------------------------------------------------------------------------------------


def _skills_from_form() -> tuple[dict[str, str], list[int]]:
    """Languages (a level per offered language, plus one other code) and client ids; a value
    that is no id becomes 0, which no client has, so the service refuses it with the others."""
    form = request.form
    skills = {code: form[f"lang_{code}"] for code in staff.language_choices() if form.get(f"lang_{code}")}
    other = form.get("lang_other", "").strip().lower()
    if other:
        skills[other] = form.get("lang_other_level", "") or SkillLevel.FLUENT.value
    return skills, [int(raw) if raw.isdigit() else 0 for raw in form.getlist("tenant")]


def _form_page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return (
        render_template(
            template,
            languages=staff.language_choices(),
            levels=LEVEL_LABELS,
            all_tenants=tenants.visible_tenants(),
            zones=_zones(),
            roles=ROLES,
            **context,
        ),
        status,
    )


@bp.route("/invite", methods=["GET", "POST"])
@admins
def invite() -> Response | tuple[str, int]:
    if request.method == "GET":
        return _form_page("agents/admin/invite.html", errors={}, form=None, skills={}, tenant_ids=[])
    form = request.form
    skills, tenant_ids = _skills_from_form()
    data = staff.Invitation(
        email=form.get("email", ""),
        name=form.get("name", ""),
        role=form.get("role", ""),
        locale=form.get("locale") or None,
        timezone=form.get("timezone", "").strip() or None,
        languages=skills,
        tenant_ids=tenant_ids,
    )
    try:
        user = staff.invite(data)
    except ValidationFailed as exc:
        db.session.rollback()
        return _form_page(
            "agents/admin/invite.html",
            422,
            errors=exc.fields,
            form=form,
            skills=skills,
            tenant_ids=tenant_ids,
        )
    flash(_("%(name)s is invited; the e-mail with the link is on its way.", name=user.name), "success")
    return redirect(url_for("staff.detail", user_id=user.id))


def _detail_page(user: User, status: int = 200, **context: Any) -> tuple[str, int]:
    row = staff.row_of(user)
    context.setdefault("errors", {})
    context.setdefault("skills", {skill.language: skill.level for skill in row.languages})
    context.setdefault("tenant_ids", row.tenant_ids)
    return _form_page(
        "agents/admin/detail.html",
        status,
        row=row,
        member=user,
        statuses=STATUS_LABELS,
        booked=booked,
        days=staff.WORKLOAD_DAYS,
        can_manage=current_user.role == Role.PROVIDER_ADMIN.value,
        serving=user.role in staff.SERVING_ROLES,
        **context,
    )


@bp.route("/<int:user_id>")
@readers
def detail(user_id: int) -> tuple[str, int]:
    return _detail_page(staff.get_member(user_id, current_user))


@bp.route("/<int:user_id>/skills", methods=["POST"])
@admins
def save_skills(user_id: int) -> Response | tuple[str, int]:
    user = staff.get_member(user_id, current_user)
    skills, tenant_ids = _skills_from_form()
    try:
        staff.set_skills(user, skills, tenant_ids)
    except ValidationFailed as exc:
        db.session.rollback()
        user = staff.get_member(user_id, current_user)
        return _detail_page(user, 422, errors=exc.fields, skills=skills, tenant_ids=tenant_ids)
    flash(_("Languages and clients saved."), "success")
    return redirect(url_for("staff.detail", user_id=user.id))


def _account_action(user_id: int, action: Callable[[User], str]) -> Response:
    """Run one account action on a member the admin may see; a refusal is said, not raised."""
    try:
        flash(action(staff.get_member(user_id, current_user)), "success")
    except Conflict as exc:
        flash(str(exc.message), "error")
    return redirect(url_for("staff.detail", user_id=user_id))


@bp.route("/<int:user_id>/resend", methods=["POST"])
@admins
def resend(user_id: int) -> Response:
    def send(user: User) -> str:
        staff.resend_invitation(user)
        return _("The invitation was sent again.")

    return _account_action(user_id, send)


@bp.route("/<int:user_id>/deactivate", methods=["POST"])
@admins
def deactivate(user_id: int) -> Response:
    def stop(user: User) -> str:
        returned = staff.deactivate(user, current_user)
        return ngettext(
            "Deactivated and signed out; %(num)d open ticket went back to the queue.",
            "Deactivated and signed out; %(num)d open tickets went back to the queue.",
            returned,
        )

    return _account_action(user_id, stop)


@bp.route("/<int:user_id>/reactivate", methods=["POST"])
@admins
def reactivate(user_id: int) -> Response:
    def restart(user: User) -> str:
        staff.reactivate(user)
        return _("Active again; they sign in with their password.")

    return _account_action(user_id, restart)
