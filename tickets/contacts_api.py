"""Contacts and organisations over the JSON API (provider staff)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, Field
from sqlalchemy import select

from core import audit
from core.api import ApiError, Schema, cursor_id, dump, endpoint, page, page_params
from core.extensions import db
from tickets import contacts, organizations
from tickets.api import (
    STAFF,
    TicketOut,
    fields_renamed,
    found,
    listed,
    tenant_filter,
    tenant_in_scope,
    tickets_out,
)
from tickets.models import Contact

bp = Blueprint("contacts_api", __name__, url_prefix="/api/v1")


class ContactOut(BaseModel):
    id: int
    tenant_id: int
    name: str
    email: str | None
    phone: str | None
    language: str | None
    organization_id: int | None
    address: str | None
    contract_number: str | None
    notes: str | None
    merged_into_id: int | None
    created_at: datetime
    updated_at: datetime


class ContactPatch(Schema):
    """The fields of `contacts.EDITABLE`, and the organisation; null or "" clears a field."""

    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=2000)
    contract_number: str | None = Field(default=None, max_length=100)
    notes: str | None = Field(default=None, max_length=10000)
    language: str | None = Field(default=None, max_length=8)
    organization_id: int | None = None


class MergeIn(Schema):
    into: int


class OrganizationOut(BaseModel):
    id: int
    tenant_id: int
    name: str
    domain: str | None
    contract_number: str | None
    notes: str | None
    created_at: datetime


class OrganizationIn(Schema):
    tenant_id: int
    name: str = Field(min_length=1, max_length=200)
    domain: str | None = Field(default=None, max_length=200)
    contract_number: str | None = Field(default=None, max_length=100)
    notes: str | None = Field(default=None, max_length=10000)


class OrganizationPatch(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    domain: str | None = Field(default=None, max_length=200)
    contract_number: str | None = Field(default=None, max_length=100)
    notes: str | None = Field(default=None, max_length=10000)


# --- contacts ---------------------------------------------------------------------------------


@endpoint(
    bp,
    "/contacts",
    methods=["GET"],
    summary=_l("Contacts of the clients you serve, newest first (merged duplicates left out)"),
    tag="contacts",
    response=ContactOut,
    roles=STAFF,
    paginated=True,
    query={"q": "part of the name, e-mail or phone number", "tenant_id": "one client"},
)
def list_contacts() -> dict[str, Any]:
    # Newest first with a keyset cursor (`contacts.search` answers one screenful by name); the
    # matching rules are the same.
    limit, cursor = page_params()
    query = (
        select(Contact).where(Contact.merged_into_id.is_(None)).order_by(Contact.id.desc()).limit(limit + 1)
    )
    before = cursor_id(cursor)
    if before is not None:
        query = query.where(Contact.id < before)
    tenant_id = tenant_filter()
    if tenant_id is not None:
        query = query.where(Contact.tenant_id == tenant_id)
    condition = contacts.matching(request.args.get("q", ""))
    if condition is not None:
        query = query.where(condition)
    rows = list(db.session.scalars(query))
    return page(rows, limit, lambda c: {"id": c.id}, lambda c: dump(ContactOut, c))


@endpoint(
    bp,
    "/contacts/<int:contact_id>",
    methods=["GET"],
    summary=_l("One contact"),
    tag="contacts",
    response=ContactOut,
    roles=STAFF,
)
def get_contact(contact_id: int) -> dict[str, Any]:
    return dump(ContactOut, contacts.get(contact_id))


@endpoint(
    bp,
    "/contacts/<int:contact_id>",
    methods=["PATCH"],
    summary=_l("Correct a contact's details or organisation"),
    tag="contacts",
    body=ContactPatch,
    response=ContactOut,
    roles=STAFF,
)
def patch_contact(contact_id: int, body: ContactPatch) -> dict[str, Any]:
    contact = contacts.get(contact_id)
    given = body.model_fields_set
    changes = contacts.update_contact(
        contact, {name: getattr(body, name) for name in contacts.EDITABLE if name in given}
    )
    if "organization_id" in given:
        old = contact.organization_id
        org = None
        if body.organization_id is not None:
            org = found(organizations.get, body.organization_id, "organization_id")
            if org.tenant_id != contact.tenant_id:
                raise ApiError(404, "not_found", _("Not found."), {"organization_id": _("Not found.")})
        if organizations.set_organization(contact, org):
            changes["organization_id"] = {"old": old, "new": contact.organization_id}
    if changes:
        # Outside a ticket the services leave no history of a correction: the audit log keeps it.
        audit.record(
            "contact.updated", tenant_id=contact.tenant_id, target=contact, data={"changes": changes}
        )
    return dump(ContactOut, contact)


@endpoint(
    bp,
    "/contacts/<int:contact_id>/tickets",
    methods=["GET"],
    summary=_l("A contact's tickets, newest first"),
    tag="contacts",
    response=TicketOut,
    roles=STAFF,
)
def contact_tickets(contact_id: int) -> dict[str, Any]:
    rows = contacts.tickets_of(contacts.get(contact_id))
    return listed(rows, tickets_out(rows))


@endpoint(
    bp,
    "/contacts/<int:contact_id>/duplicates",
    methods=["GET"],
    summary=_l("Other contacts of the same client with the same e-mail, phone or name"),
    tag="contacts",
    response=ContactOut,
    roles=STAFF,
)
def contact_duplicates(contact_id: int) -> dict[str, Any]:
    return listed(contacts.duplicates_of(contacts.get(contact_id)), lambda c: dump(ContactOut, c))


@endpoint(
    bp,
    "/contacts/<int:contact_id>/merge",
    methods=["POST"],
    summary=_l("Merge this duplicate into another contact; its tickets, messages and calls move"),
    tag="contacts",
    body=MergeIn,
    response=ContactOut,
    roles=STAFF,
)
def merge_contact(contact_id: int, body: MergeIn) -> dict[str, Any]:
    source = contacts.get(contact_id)
    target = found(contacts.get, body.into, "into")
    if target.tenant_id != source.tenant_id:
        raise ApiError(404, "not_found", _("Not found."), {"into": _("Not found.")})
    with fields_renamed(target="into"):
        kept = contacts.merge(source, target)
    return dump(ContactOut, kept)


# --- organisations ----------------------------------------------------------------------------


@endpoint(
    bp,
    "/organizations",
    methods=["GET"],
    summary=_l("Organisations of the clients you serve, by name (the first 100)"),
    tag="organizations",
    response=OrganizationOut,
    roles=STAFF,
    query={"q": "part of the name", "tenant_id": "one client"},
)
def list_organizations() -> dict[str, Any]:
    rows = organizations.listing(tenant_filter(), request.args.get("q", ""))
    return listed(rows, lambda o: dump(OrganizationOut, o))


@endpoint(
    bp,
    "/organizations",
    methods=["POST"],
    summary=_l("Create an organisation for a client"),
    tag="organizations",
    body=OrganizationIn,
    response=OrganizationOut,
    roles=STAFF,
    status=201,
)
def create_organization(body: OrganizationIn) -> dict[str, Any]:
    tenant = tenant_in_scope(body.tenant_id)
    org = organizations.create(
        tenant.id,
        organizations.OrganizationInput(
            name=body.name, domain=body.domain, contract_number=body.contract_number, notes=body.notes
        ),
    )
    return dump(OrganizationOut, org)


@endpoint(
    bp,
    "/organizations/<int:organization_id>",
    methods=["GET"],
    summary=_l("One organisation"),
    tag="organizations",
    response=OrganizationOut,
    roles=STAFF,
)
def get_organization(organization_id: int) -> dict[str, Any]:
    return dump(OrganizationOut, organizations.get(organization_id))


@endpoint(
    bp,
    "/organizations/<int:organization_id>",
    methods=["PATCH"],
    summary=_l("Change an organisation's name, domain, contract number or notes"),
    tag="organizations",
    body=OrganizationPatch,
    response=OrganizationOut,
    roles=STAFF,
)
def patch_organization(organization_id: int, body: OrganizationPatch) -> dict[str, Any]:
    org = organizations.get(organization_id)
    given = body.model_fields_set
    data = organizations.OrganizationInput(
        **{
            name: (getattr(body, name) if name in given else getattr(org, name)) or ""
            for name in organizations.EDITABLE
        }
    )
    return dump(OrganizationOut, organizations.update_organization(org, data))


@endpoint(
    bp,
    "/organizations/<int:organization_id>/contacts",
    methods=["GET"],
    summary=_l("The contacts who work for an organisation"),
    tag="organizations",
    response=ContactOut,
    roles=STAFF,
)
def organization_contacts(organization_id: int) -> dict[str, Any]:
    return listed(organizations.members(organizations.get(organization_id)), lambda c: dump(ContactOut, c))
