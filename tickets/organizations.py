"""The tenant's own business customers, and which of them a contact works for."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from core import audit, memo
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from tickets.models import OPEN_STATUSES, Contact, Organization, Ticket
from tickets.services import record_event

EDITABLE = ("name", "domain", "contract_number", "notes")


@dataclass
class OrganizationInput:
    name: str
    domain: str | None = None
    contract_number: str | None = None
    notes: str | None = None


def _clean(tenant_id: int, data: OrganizationInput, exclude: int | None = None) -> dict[str, str | None]:
    name = " ".join((data.name or "").split())
    errors: dict[str, str] = {}
    if not 1 <= len(name) <= 200:
        errors["name"] = _("Give a name of at most 200 characters.")
    domain = (data.domain or "").strip().lower().removeprefix("@") or None
    if domain and ("." not in domain or " " in domain or len(domain) > 200):
        errors["domain"] = _("Give a domain such as example.com.")
    clash = db.session.scalar(
        select(Organization.id).where(
            Organization.tenant_id == tenant_id, func.lower(Organization.name) == name.lower()
        )
    )
    if clash is not None and clash != exclude:
        errors["name"] = _("An organisation of that name exists already.")
    if errors:
        raise ValidationFailed(fields=errors)
    return {
        "name": name,
        "domain": domain,
        "contract_number": (data.contract_number or "").strip()[:100] or None,
        "notes": (data.notes or "").strip() or None,
    }


def create(tenant_id: int, data: OrganizationInput) -> Organization:
    org = Organization(tenant_id=tenant_id, **_clean(tenant_id, data))
    db.session.add(org)
    db.session.flush()
    audit.record("organization.created", tenant_id=tenant_id, target=org)
    return org


def update_organization(org: Organization, data: OrganizationInput) -> Organization:
    for key, value in _clean(org.tenant_id, data, exclude=org.id).items():
        setattr(org, key, value)
    db.session.flush()
    audit.record("organization.updated", tenant_id=org.tenant_id, target=org)
    return org


def get(org_id: int) -> Organization:
    org = db.session.get(Organization, org_id)
    if org is None:
        raise NotFound(_("Not found."))
    return org


def listing(tenant_id: int | None = None, q: str = "", limit: int = 100) -> list[Organization]:
    query = select(Organization).order_by(Organization.name).limit(limit)
    if tenant_id is not None:
        query = query.where(Organization.tenant_id == tenant_id)
    if q.strip():
        query = query.where(func.lower(Organization.name).contains(q.strip().lower(), autoescape=True))
    return list(db.session.scalars(query))


def chosen(tenant_id: int, choice: str, new_name: str = "") -> Organization | None:
    """The organisation picked in a form: an existing one by id, `new` (created from `new_name`),
    or none."""
    if choice == "new":
        return create(tenant_id, OrganizationInput(name=new_name))
    return get(int(choice)) if choice.isdigit() else None


def by_domain(tenant_id: int, email: str) -> Organization | None:
    domain = email.rpartition("@")[2].lower()
    if not domain:
        return None
    return memo.read(
        ("organization_by_domain", tenant_id, domain),
        lambda: db.session.scalar(
            select(Organization)
            .where(Organization.tenant_id == tenant_id, Organization.domain == domain)
            .limit(1)
        ),
    )


def prefetch(tenant_id: int, emails: list[str]) -> None:
    """Inside a batch, the organisations of these addresses' domains with one query, for the
    `by_domain` calls that follow."""
    domains = {email.rpartition("@")[2].lower() for email in emails} - {""}
    if not memo.active() or not domains:
        return
    found: dict[str, Organization] = {}
    for org in db.session.scalars(
        select(Organization)
        .where(Organization.tenant_id == tenant_id, Organization.domain.in_(sorted(domains)))
        .order_by(Organization.id)
    ):
        found.setdefault(str(org.domain), org)
    for domain in domains:
        memo.remember(("organization_by_domain", tenant_id, domain), found.get(domain))


def members(org: Organization) -> list[Contact]:
    return list(
        db.session.scalars(
            select(Contact)
            .where(
                Contact.tenant_id == org.tenant_id,
                Contact.organization_id == org.id,
                Contact.merged_into_id.is_(None),
            )
            .order_by(Contact.name)
        )
    )


def follow(contact: Contact) -> None:
    """The contact's open tickets take the contact's organisation; closed ones keep their history."""
    db.session.execute(
        update(Ticket)
        .where(
            Ticket.tenant_id == contact.tenant_id,
            Ticket.contact_id == contact.id,
            Ticket.status.in_([s.value for s in OPEN_STATUSES]),
        )
        .values(organization_id=contact.organization_id)
        .execution_options(synchronize_session="fetch")
    )


def set_organization(contact: Contact, org: Organization | None, *, ticket: Ticket | None = None) -> bool:
    """Move a contact to an organisation; their open tickets follow, closed ones keep their history."""
    new = org.id if org else None
    if org is not None and org.tenant_id != contact.tenant_id:
        raise NotFound(_("Not found."))
    if contact.organization_id == new:
        return False
    old, contact.organization_id = contact.organization_id, new
    follow(contact)
    if ticket is not None:
        record_event(
            ticket,
            "contact_updated",
            contact_id=contact.id,
            changes={"organization": {"old": old, "new": new}},
        )
    db.session.flush()
    return True
