"""The tenant's customers: found by e-mail or phone, kept current while the agent talks to them."""

from __future__ import annotations

import re
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import ColumnElement, Select, func, or_, select, update

from core import audit, memo
from core.database import assign_id
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from tickets import organizations
from tickets.models import Call, Contact, Message, Ticket
from tickets.services import record_event

PHONE_RE = re.compile(r"^\+?[0-9]{6,15}$")
EDITABLE = ("name", "email", "phone", "address", "contract_number", "notes", "language")
# Columns a correction could overflow (a 500 on PostgreSQL); the name is cut instead.
MAX_LENGTHS = {"contract_number": 100, "language": 8}


def normalize_phone(raw: str) -> str:
    """Digits with an optional leading +; a wrong number is a field error, not a guess."""
    phone = re.sub(r"[\s\-./()]", "", raw or "")
    if phone.startswith("00"):
        phone = "+" + phone[2:]
    if not PHONE_RE.match(phone):
        raise ValidationFailed(fields={"phone": _("This is not a valid phone number.")})
    return phone


def normalize_email(raw: str) -> str:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationFailed(fields={"email": _("Must be a valid e-mail address.")}) from None


def find_or_create(
    tenant_id: int,
    *,
    email: str | None = None,
    phone: str | None = None,
    name: str = "",
    language: str | None = None,
) -> Contact:
    email = normalize_email(email) if email else None
    phone = normalize_phone(phone) if phone else None
    contact = _by_email(tenant_id, email) if email else None
    if contact is None and phone:
        contact = db.session.scalar(_current(tenant_id, Contact.phone == phone).limit(1))
    if contact is None:
        org = organizations.by_domain(tenant_id, email) if email else None
        contact = Contact(
            tenant_id=tenant_id,
            name=name.strip()[:200],
            email=email,
            phone=phone,
            language=language,
            organization_id=org.id if org else None,
        )
        db.session.add(contact)
        if not assign_id(contact):  # its id now, or from the flush
            db.session.flush()
        if email:
            memo.remember(("contact_by_email", tenant_id, email), contact)
        return contact
    # Fill what we did not know yet; never overwrite what an agent has corrected.
    if name and not contact.name:
        contact.name = name.strip()[:200]
    if email and not contact.email:
        contact.email = email
    if phone and not contact.phone:
        contact.phone = phone
    if language and not contact.language:
        contact.language = language
    return contact


def _current(tenant_id: int, *where: ColumnElement[bool]) -> Select[tuple[Contact]]:
    """The tenant's contacts that were not merged away, oldest first."""
    return (
        select(Contact)
        .where(Contact.tenant_id == tenant_id, Contact.merged_into_id.is_(None), *where)
        .order_by(Contact.id)
    )


def _by_email(tenant_id: int, email: str) -> Contact | None:
    """Read once per batch (`core.memo`): `prefetch` loads a batch's senders with one query."""
    return memo.read(
        ("contact_by_email", tenant_id, email),
        lambda: db.session.scalar(_current(tenant_id, Contact.email == email).limit(1)),
    )


def prefetch(tenant_id: int, emails: list[str]) -> None:
    """Inside a batch, the contacts of these addresses (or that there is none) with one query,
    for the `find_or_create` calls that follow; an address that is not valid is left to them."""
    if not memo.active():
        return
    wanted = set()
    for email in emails:
        try:
            wanted.add(normalize_email(email))
        except ValidationFailed:
            continue
    if not wanted:
        return
    found: dict[str, Contact] = {}
    for contact in db.session.scalars(_current(tenant_id, Contact.email.in_(sorted(wanted)))):
        found.setdefault(str(contact.email), contact)
    for email in wanted:
        memo.remember(("contact_by_email", tenant_id, email), found.get(email))
    organizations.prefetch(tenant_id, [email for email in wanted if email not in found])


def update_contact(
    contact: Contact, changes: dict[str, Any], *, ticket: Ticket | None = None
) -> dict[str, Any]:
    """Apply an agent's corrections during a contact; every change lands in the ticket history."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationFailed(fields={name: _("This field is not accepted.") for name in unknown})
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        value = (value or "").strip() or None
        if name == "email" and value:
            value = normalize_email(value)
        if name == "phone" and value:
            value = normalize_phone(value)
        if name == "name":
            value = (value or "")[:200]
        limit = MAX_LENGTHS.get(name)
        if limit and value and len(value) > limit:
            raise ValidationFailed(
                fields={
                    name: ngettext(
                        "Must be at most %(num)d character.", "Must be at most %(num)d characters.", limit
                    )
                }
            )
        if getattr(contact, name) != value:
            cleaned[name] = {"old": getattr(contact, name), "new": value}
            setattr(contact, name, value)
    if cleaned and ticket is not None:
        record_event(ticket, "contact_updated", contact_id=contact.id, changes=cleaned)
    db.session.flush()
    return cleaned


def get(contact_id: int) -> Contact:
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(_("Not found."))
    return contact


def matching(q: str) -> ColumnElement[bool] | None:
    """Contacts whose name, e-mail or phone contains what an agent typed; None for an empty query."""
    needle = q.strip().lower()
    if not needle:
        return None
    conditions = [
        func.lower(Contact.name).contains(needle, autoescape=True),
        func.lower(Contact.email).contains(needle, autoescape=True),
    ]
    digits = re.sub(r"[^0-9+]", "", needle)
    if len(digits) >= 3:
        conditions.append(Contact.phone.contains(digits, autoescape=True))
    return or_(*conditions)


def search(q: str = "", tenant_id: int | None = None, limit: int = 50) -> list[Contact]:
    """Contacts by name, e-mail or phone (what an agent types while the customer talks)."""
    query = (
        select(Contact)
        .where(Contact.merged_into_id.is_(None))
        .order_by(Contact.name, Contact.id)
        .limit(limit)
    )
    if tenant_id is not None:
        query = query.where(Contact.tenant_id == tenant_id)
    condition = matching(q)
    if condition is not None:
        query = query.where(condition)
    return list(db.session.scalars(query))


def tickets_of(contact: Contact, limit: int = 50) -> list[Ticket]:
    return list(
        db.session.scalars(
            select(Ticket)
            .where(Ticket.tenant_id == contact.tenant_id, Ticket.contact_id == contact.id)
            .order_by(Ticket.created_at.desc())
            .limit(limit)
        )
    )


def duplicates_of(contact: Contact) -> list[Contact]:
    """Other contacts of the same client who are probably the same person."""
    conditions = []
    if contact.email:
        conditions.append(Contact.email == contact.email)
    if contact.phone:
        conditions.append(Contact.phone == contact.phone)
    if contact.name.strip():
        conditions.append(func.lower(Contact.name) == contact.name.strip().lower())
    if not conditions:
        return []
    return list(
        db.session.scalars(
            select(Contact)
            .where(
                Contact.tenant_id == contact.tenant_id,
                Contact.id != contact.id,
                Contact.merged_into_id.is_(None),
                or_(*conditions),
            )
            .order_by(Contact.id)
            .limit(20)
        )
    )


def merge(source: Contact, target: Contact) -> Contact:
    """Fold a duplicate into the contact to keep: tickets, messages and calls move; what the kept
    contact does not know yet is filled in from the duplicate; the duplicate remains as a pointer."""
    if source.id == target.id:
        raise ValidationFailed(fields={"target": _("A contact cannot be merged into itself.")})
    if source.tenant_id != target.tenant_id:
        raise NotFound(_("Not found."))
    if source.merged_into_id or target.merged_into_id:
        raise ValidationFailed(fields={"target": _("This contact was merged already.")})
    filled = []
    for name in (*EDITABLE, "organization_id"):
        if not getattr(target, name) and getattr(source, name):
            setattr(target, name, getattr(source, name))
            filled.append(name)
    moved = list(
        db.session.scalars(
            select(Ticket).where(Ticket.tenant_id == source.tenant_id, Ticket.contact_id == source.id)
        )
    )
    for ticket in moved:
        ticket.contact_id = target.id
        if ticket.organization_id is None:
            ticket.organization_id = target.organization_id
        record_event(ticket, "contact_merged", old=source.id, new=target.id)
    for model, column in ((Message, Message.author_contact_id), (Call, Call.contact_id)):
        db.session.execute(
            update(model)
            .where(model.tenant_id == source.tenant_id, column == source.id)
            .values({column.key: target.id})
            .execution_options(synchronize_session=False)
        )
    if "organization_id" in filled:
        organizations.follow(target)
    source.merged_into_id = target.id
    audit.record(
        "contact.merged",
        tenant_id=target.tenant_id,
        target=target,
        data={"merged": source.id, "filled": filled, "tickets": len(moved)},
    )
    db.session.flush()
    return target
