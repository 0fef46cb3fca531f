"""The provider admin's pages about clients (`/admin/tenants`): the list with each client's health,
and each client's page: its settings, channels and scripts, suspension, agents, and offboarding
with the export archives. The onboarding wizard is in tenants.onboarding_views."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from agents import services as agents
from billing import plans
from core.auth.access import roles_required
from core.auth.roles import Role
from core.errors import Conflict, ServiceError, ValidationFailed
from tenants import lifecycle, offboarding, overview, services
from tenants.labels import CHANNEL_LABELS
from tenants.models import ChannelKind, Tenant
from tenants.onboarding_draft import (
    COMMON_LANGUAGES,
    agent_choices,
    clean_address,
    new_key,
)

bp = Blueprint("admin_tenants", __name__, url_prefix="/admin/tenants", template_folder="templates")
admin_only = roles_required(Role.PROVIDER_ADMIN)


@bp.route("")
@admin_only
def index() -> str:
    status = request.args.get("status") or None
    status = status if status in overview.FILTERS else None
    return render_template(
        "tenants/admin/index.html", rows=overview.listing(status), status=status, filters=overview.FILTERS
    )


def _tenant(tenant_id: int) -> Tenant:
    return services.get_tenant(tenant_id)


def _page(
    tenant: Tenant, *, failed: str | None = None, errors: dict[str, Any] | None = None, status: int = 200
) -> tuple[str, int]:
    """The client's page; after a refused form, that form shows what was typed and why."""
    plan = plans.plan_for(tenant.id)
    staff = overview.assigned_staff(tenant.id)
    assigned = {user.id for user in staff}
    return render_template(
        "tenants/admin/tenant.html",
        tenant=tenant,
        plan=plan,
        health=overview.health_of([tenant.id]).get(tenant.id, overview.Health()),
        channels=services.channels_of(tenant.id),
        channel_kinds=[(kind.value, CHANNEL_LABELS[kind.value]) for kind in ChannelKind],
        staff=staff,
        candidates=[user for user in agent_choices() if user.id not in assigned],
        exports=offboarding.exports_of(tenant.id),
        languages=sorted(set(COMMON_LANGUAGES) | set(tenant.languages)),
        failed=failed,
        errors=errors or {},
        form=request.form if failed else {},
    ), status


@bp.route("/<int:tenant_id>")
@admin_only
def page(tenant_id: int) -> tuple[str, int]:
    return _page(_tenant(tenant_id))


def _done(tenant: Tenant, message: str) -> Response:
    flash(message, "success")
    return redirect(url_for("admin_tenants.page", tenant_id=tenant.id))


def _refused(tenant: Tenant, action: str, exc: ServiceError) -> tuple[str, int]:
    errors = dict(exc.fields) or {"form": exc.message}
    return _page(tenant, failed=action, errors=errors, status=exc.status)


@bp.route("/<int:tenant_id>/basics", methods=["POST"])
@admin_only
def basics(tenant_id: int) -> Response | tuple[str, int]:
    tenant = _tenant(tenant_id)
    form = request.form
    data = services.TenantInput(
        slug=tenant.slug,
        name=form.get("name", ""),
        languages=form.getlist("languages"),
        default_language=form.get("default_language", ""),
        timezone=form.get("timezone", "").strip(),
        currency=form.get("currency", "").strip().upper(),
        ticket_prefix=tenant.ticket_prefix,
    )
    try:
        services.update_tenant(tenant, data)
    except ValidationFailed as exc:
        return _refused(tenant, "basics", exc)
    return _done(tenant, _("The client's settings are saved."))


@bp.route("/<int:tenant_id>/feedback", methods=["POST"])
@admin_only
def feedback(tenant_id: int) -> Response:
    """The client's switches for the satisfaction survey and the monthly report."""
    tenant = _tenant(tenant_id)
    services.set_feedback(
        tenant,
        csat_enabled=request.form.get("csat_enabled") == "on",
        monthly_report=request.form.get("monthly_report") == "on",
    )
    return _done(tenant, _("The client's settings are saved."))


@bp.route("/<int:tenant_id>/texts", methods=["POST"])
@admin_only
def texts(tenant_id: int) -> Response | tuple[str, int]:
    tenant = _tenant(tenant_id)
    form = request.form
    try:
        services.set_texts(
            tenant,
            greetings={code: form.get(f"greeting_{code}", "") for code in tenant.languages},
            signatures={code: form.get(f"signature_{code}", "") for code in tenant.languages},
            call_scripts={code: form.get(f"call_script_{code}", "") for code in tenant.languages},
        )
    except ValidationFailed as exc:
        return _refused(tenant, "texts", exc)
    return _done(tenant, _("The greetings, signatures and call scripts are saved."))


@bp.route("/<int:tenant_id>/channels", methods=["POST"])
@admin_only
def channels(tenant_id: int) -> Response | tuple[str, int]:
    """Add an address, number or key (keys are generated when left empty), or remove one."""
    tenant = _tenant(tenant_id)
    form = request.form
    try:
        if form.get("remove", "").isdigit():
            services.remove_channel(tenant.id, int(form["remove"]))
            return _done(tenant, _("The channel is removed."))
        kind = ChannelKind(form.get("kind", ""))
        raw = form.get("address", "").strip()
        if not raw and kind in (ChannelKind.WEBFORM, ChannelKind.CHAT):
            raw = new_key(tenant.slug)
        services.add_channel(tenant.id, kind, clean_address(kind, raw))
    except ValueError:
        return _refused(tenant, "channels", ValidationFailed(fields={"kind": _("Choose a kind of channel.")}))
    except ValidationFailed as exc:
        errors = {"address": next(iter(exc.fields.values()), exc.message)}
        return _refused(tenant, "channels", ValidationFailed(fields=errors))
    return _done(tenant, _("The channel is added."))


@bp.route("/<int:tenant_id>/suspend", methods=["POST"])
@admin_only
def suspend(tenant_id: int) -> Response | tuple[str, int]:
    tenant = _tenant(tenant_id)
    try:
        lifecycle.suspend(tenant, request.form.get("reason", ""))
    except (ValidationFailed, Conflict) as exc:
        return _refused(tenant, "suspend", exc)
    return _done(tenant, _("The client is suspended. Its customers' contacts are still received."))


@bp.route("/<int:tenant_id>/reactivate", methods=["POST"])
@admin_only
def reactivate(tenant_id: int) -> Response | tuple[str, int]:
    tenant = _tenant(tenant_id)
    try:
        lifecycle.reactivate(tenant)
    except Conflict as exc:
        return _refused(tenant, "suspend", exc)
    return _done(tenant, _("The client is active again."))


@bp.route("/<int:tenant_id>/agents", methods=["POST"])
@admin_only
def assign(tenant_id: int) -> Response | tuple[str, int]:
    """Give the client one more agent or supervisor trained for it."""
    tenant = _tenant(tenant_id)
    wanted = request.form.get("user_id", "")
    user = next((u for u in agent_choices() if str(u.id) == wanted), None)
    if user is None:
        return _refused(tenant, "agents", ValidationFailed(fields={"user_id": _("Choose an agent.")}))
    agents.assign(user, tenant.id)
    return _done(tenant, _("%(name)s now serves this client.", name=user.name))


@bp.route("/<int:tenant_id>/offboard", methods=["POST"])
@admin_only
def offboard(tenant_id: int) -> Response | tuple[str, int]:
    tenant = _tenant(tenant_id)
    try:
        offboarding.offboard(tenant, request.form.get("confirm", ""), requested_by_id=current_user.id)
    except (ValidationFailed, Conflict) as exc:
        return _refused(tenant, "offboard", exc)
    return _done(tenant, _("The client is being offboarded; its archive is being built."))


@bp.route("/<int:tenant_id>/offboard/cancel", methods=["POST"])
@admin_only
def cancel_offboarding(tenant_id: int) -> Response | tuple[str, int]:
    tenant = _tenant(tenant_id)
    try:
        offboarding.cancel(tenant)
    except Conflict as exc:
        return _refused(tenant, "offboard", exc)
    return _done(tenant, _("The offboarding is cancelled; nothing will be deleted."))


@bp.route("/<int:tenant_id>/exports", methods=["POST"])
@admin_only
def new_export(tenant_id: int) -> Response:
    tenant = _tenant(tenant_id)
    offboarding.request_export(tenant, requested_by_id=current_user.id)
    return _done(tenant, _("A new archive is being built."))


@bp.route("/<int:tenant_id>/exports/<int:export_id>")
@admin_only
def download(tenant_id: int, export_id: int) -> Response:
    tenant = _tenant(tenant_id)
    _export, path = offboarding.ready_export(tenant.id, export_id)
    response = send_file(
        path, mimetype="application/zip", as_attachment=True, download_name=path.name, max_age=0
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
