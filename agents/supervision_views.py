"""For shift leads: the routing board (unassigned and unroutable tickets) and the clients' macros."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from agents import routing
from agents.views import bp, workspace
from core.auth.access import roles_required
from core.auth.roles import Role
from core.errors import ValidationFailed
from core.extensions import db
from core.models_base import utcnow
from tenants import services as tenants
from tenants.models import Tenant
from tickets import macros
from tickets import services as tickets

leads = roles_required(Role.SUPERVISOR, Role.PROVIDER_ADMIN)


@bp.route("/routing")
@leads
def routing_board() -> str:
    rows = routing.board()
    by_id = {t.id: t for t in tenants.visible_tenants()}
    return render_template(
        "agents/routing.html",
        rows=rows,
        unroutable=[r for r in rows if r.unroutable],
        tenants=by_id,
        now=utcnow(),
        display_number=tickets.display_number,
    )


@bp.route("/macros")
@workspace
def macros_page() -> str:
    raw = request.args.get("tenant", "")
    tenant_id = int(raw) if raw.isdigit() else None
    return render_template(
        "agents/macros.html",
        rows=macros.listing(tenant_id),
        tenants={t.id: t for t in tenants.visible_tenants()},
        tenant_id=tenant_id,
        placeholders=macros.PLACEHOLDERS,
    )


def _input(tenant_id: int) -> macros.MacroInput:
    form = request.form
    return macros.MacroInput(
        tenant_id=tenant_id,
        name=form.get("name", ""),
        language=form.get("language", ""),
        body=form.get("body", ""),
        set_status=form.get("set_status") or None,
        add_tags=form.get("add_tags", ""),
    )


def _form(
    macro: macros.Macro | None, tenant: Tenant | None, errors: dict[str, object], status: int = 200
) -> tuple[str, int]:
    return (
        render_template(
            "agents/macro_form.html",
            macro=macro,
            tenant=tenant,
            tenants=tenants.visible_tenants(),
            errors=errors,
            form=request.form if request.method == "POST" else None,
            placeholders=macros.PLACEHOLDERS,
            statuses=[s.value for s in macros.FOLLOW_UP_STATUSES],
        ),
        status,
    )


@bp.route("/macros/new", methods=["GET", "POST"])
@leads
def new_macro() -> Response | tuple[str, int]:
    if request.method == "GET":
        return _form(None, None, {})
    raw = request.form.get("tenant", "")
    tenant = db.session.get(Tenant, int(raw)) if raw.isdigit() else None
    if tenant is None:
        return _form(None, None, {"tenant": _("Choose a client.")}, 422)
    try:
        macro = macros.create(_input(tenant.id))
    except ValidationFailed as exc:
        return _form(None, tenant, exc.fields, 422)
    flash(_("Macro saved."), "success")
    return redirect(url_for("agent.macros_page", tenant=macro.tenant_id))


@bp.route("/macros/<int:macro_id>", methods=["GET", "POST"])
@leads
def edit_macro(macro_id: int) -> Response | tuple[str, int]:
    macro = macros.get(macro_id)
    tenant = db.session.get_one(Tenant, macro.tenant_id)
    if request.method == "GET":
        return _form(macro, tenant, {})
    try:
        macros.update(macro, _input(macro.tenant_id))
    except ValidationFailed as exc:
        return _form(macro, tenant, exc.fields, 422)
    flash(_("Macro saved."), "success")
    return redirect(url_for("agent.macros_page", tenant=macro.tenant_id))


@bp.route("/macros/<int:macro_id>/delete", methods=["POST"])
@leads
def delete_macro(macro_id: int) -> Response:
    macro = macros.get(macro_id)
    tenant_id = macro.tenant_id
    macros.delete(macro)
    flash(_("Macro deleted."), "success")
    return redirect(url_for("agent.macros_page", tenant=tenant_id))
