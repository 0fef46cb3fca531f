"""The tenant's customers in the workspace: find a contact, keep them current, merge duplicates,
and the organisations they work for."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from agents.views import bp, workspace
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from tenants import services as tenants
from tenants.models import Tenant
from tickets import contacts, organizations
from tickets import services as tickets


def _tenant_filter() -> int | None:
    raw = request.args.get("tenant", "")
    return int(raw) if raw.isdigit() else None


@bp.route("/contacts")
@workspace
def contacts_page() -> str:
    q = request.args.get("q", "")
    return render_template(
        "agents/contacts.html",
        q=q,
        tenant_id=_tenant_filter(),
        rows=contacts.search(q, _tenant_filter(), limit=100),
        tenants={t.id: t for t in tenants.visible_tenants()},
    )


def _contact_page(contact_id: int, status: int = 200) -> tuple[str, int]:
    contact = contacts.get(contact_id)
    tenant = db.session.get_one(Tenant, contact.tenant_id)
    return (
        render_template(
            "agents/contact.html",
            contact=contact,
            tenant=tenant,
            tickets=contacts.tickets_of(contact),
            duplicates=contacts.duplicates_of(contact),
            organizations=organizations.listing(contact.tenant_id, limit=500),
            merged_into=contacts.get(contact.merged_into_id) if contact.merged_into_id else None,
            display_number=tickets.display_number,
        ),
        status,
    )


@bp.route("/contacts/<int:contact_id>")
@workspace
def contact(contact_id: int) -> tuple[str, int]:
    return _contact_page(contact_id)


def _flash_errors(exc: ValidationFailed | NotFound) -> None:
    for message in exc.fields.values() or [exc.message]:
        flash(str(message), "error")


@bp.route("/contacts/<int:contact_id>", methods=["POST"])
@workspace
def update_contact_page(contact_id: int) -> Response | tuple[str, int]:
    contact = contacts.get(contact_id)
    changes = {name: request.form.get(name, "") for name in contacts.EDITABLE if name in request.form}
    try:
        changed = contacts.update_contact(contact, changes)
        if "organization" in request.form:
            org = organizations.chosen(
                contact.tenant_id, request.form["organization"], request.form.get("organization_name", "")
            )
            changed = organizations.set_organization(contact, org) or changed
    except (ValidationFailed, NotFound) as exc:
        _flash_errors(exc)
        return _contact_page(contact_id, 422)
    flash(_("Contact saved.") if changed else _("Nothing changed."), "success")
    return redirect(url_for("agent.contact", contact_id=contact_id))


@bp.route("/contacts/<int:contact_id>/merge", methods=["POST"])
@workspace
def merge_contact(contact_id: int) -> Response | tuple[str, int]:
    """Merge the contact of the URL into the one chosen (the one to keep)."""
    source = contacts.get(contact_id)
    raw = request.form.get("into", "")
    try:
        target = contacts.get(int(raw)) if raw.isdigit() else None
        if target is None:
            raise ValidationFailed(fields={"into": _("Choose the contact to keep.")})
        contacts.merge(source, target)
    except (ValidationFailed, NotFound) as exc:
        _flash_errors(exc)
        return _contact_page(contact_id, 422)
    flash(_("Contacts merged."), "success")
    return redirect(url_for("agent.contact", contact_id=target.id))


@bp.route("/organizations")
@workspace
def organizations_page() -> str:
    q = request.args.get("q", "")
    return render_template(
        "agents/organizations.html",
        q=q,
        tenant_id=_tenant_filter(),
        rows=organizations.listing(_tenant_filter(), q),
        tenants={t.id: t for t in tenants.visible_tenants()},
    )


def _org_input() -> organizations.OrganizationInput:
    form = request.form
    return organizations.OrganizationInput(
        name=form.get("name", ""),
        domain=form.get("domain"),
        contract_number=form.get("contract_number"),
        notes=form.get("notes"),
    )


@bp.route("/organizations", methods=["POST"])
@workspace
def create_organization() -> Response:
    raw = request.form.get("tenant", "")
    tenant = next((t for t in tenants.visible_tenants() if raw.isdigit() and t.id == int(raw)), None)
    try:
        if tenant is None:
            raise ValidationFailed(fields={"tenant": _("Choose a client.")})
        org = organizations.create(tenant.id, _org_input())
    except ValidationFailed as exc:
        _flash_errors(exc)
        return redirect(url_for("agent.organizations_page"))
    flash(_("Organisation created."), "success")
    return redirect(url_for("agent.organization", organization_id=org.id))


def _org_page(organization_id: int, status: int = 200) -> tuple[str, int]:
    org = organizations.get(organization_id)
    return (
        render_template(
            "agents/organization.html",
            org=org,
            tenant=db.session.get_one(Tenant, org.tenant_id),
            members=organizations.members(org),
        ),
        status,
    )


@bp.route("/organizations/<int:organization_id>")
@workspace
def organization(organization_id: int) -> tuple[str, int]:
    return _org_page(organization_id)


@bp.route("/organizations/<int:organization_id>", methods=["POST"])
@workspace
def update_organization(organization_id: int) -> Response | tuple[str, int]:
    org = organizations.get(organization_id)
    try:
        organizations.update_organization(org, _org_input())
    except ValidationFailed as exc:
        _flash_errors(exc)
        return _org_page(organization_id, 422)
    flash(_("Organisation saved."), "success")
    return redirect(url_for("agent.organization", organization_id=organization_id))
