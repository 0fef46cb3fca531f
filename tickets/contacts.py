"""The tenant's customers: found by e-mail or phone, kept current while the agent talks to them."""

from __future__ import annotations

import re
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import ValidationFailed
from core.extensions import db
from tickets.models import Contact, Ticket
from tickets.services import record_event

PHONE_RE = re.compile(r"^\+?[0-9]{6,15}$")
EDITABLE = ("name", "email", "phone", "address", "contract_number", "notes", "language")


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
    contact = None
    for column, value in ((Contact.email, email), (Contact.phone, phone)):
        if value and contact is None:
            contact = db.session.scalar(
                select(Contact)
                .where(Contact.tenant_id == tenant_id, column == value, Contact.merged_into_id.is_(None))
                .order_by(Contact.id)
                .limit(1)
            )
    if contact is None:
        contact = Contact(
            tenant_id=tenant_id, name=name.strip()[:200], email=email, phone=phone, language=language
        )
        db.session.add(contact)
        db.session.flush()
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
        if getattr(contact, name) != value:
            cleaned[name] = {"old": getattr(contact, name), "new": value}
            setattr(contact, name, value)
    if cleaned and ticket is not None:
        record_event(ticket, "contact_updated", contact_id=contact.id, changes=cleaned)
    db.session.flush()
    return cleaned
