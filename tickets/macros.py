"""Canned replies per client and language, with placeholders filled from the ticket.

Placeholders are a fixed list (`{contact_name}`, `{ticket_number}` ...): a macro is written by a
client or a supervisor, so it must not reach anything else than these values. An unknown
placeholder is refused when the macro is saved, not discovered when a customer gets it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from core import audit
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from tenants.models import Tenant
from tickets import services as tickets
from tickets.models import Contact, Macro, Status, Ticket

PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")
PLACEHOLDERS = ("contact_name", "ticket_number", "ticket_subject", "agent_name", "client_name")
# What a macro may do to the ticket besides inserting text.
FOLLOW_UP_STATUSES = (Status.PENDING_CUSTOMER, Status.RESOLVED)


@dataclass
class MacroInput:
    tenant_id: int
    name: str
    language: str
    body: str
    set_status: str | None = None
    add_tags: list[str] | str | None = None


def _validated(data: MacroInput, tenant: Tenant) -> dict[str, object]:
    errors: dict[str, str] = {}
    name = " ".join(data.name.split())
    if not 1 <= len(name) <= 120:
        errors["name"] = _("Give a name of at most 120 characters.")
    if data.language not in tenant.languages:
        errors["language"] = _("This client does not serve customers in that language.")
    body = data.body.strip()
    if not body:
        errors["body"] = _("Write something first.")
    unknown = sorted({m for m in PLACEHOLDER_RE.findall(body) if m not in PLACEHOLDERS})
    if unknown:
        errors["body"] = _(
            "Unknown placeholder: %(names)s. Use %(known)s.",
            names=", ".join("{" + n + "}" for n in unknown),
            known=", ".join("{" + n + "}" for n in PLACEHOLDERS),
        )
    status = data.set_status or None
    if status is not None and status not in {s.value for s in FOLLOW_UP_STATUSES}:
        errors["set_status"] = _("Invalid value.")
    tags: list[str] = []
    try:
        tags = tickets.clean_tags(data.add_tags or [])
    except ValidationFailed as exc:
        errors.update({"add_tags": exc.fields["tags"]})
    if errors:
        raise ValidationFailed(fields=errors)
    return {"name": name, "language": data.language, "body": body, "set_status": status, "add_tags": tags}


def _tenant(tenant_id: int) -> Tenant:
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(_("Not found."))
    return tenant


def _unique(tenant_id: int, name: str, language: str, exclude: int | None = None) -> None:
    clash = db.session.scalar(
        select(Macro.id).where(Macro.tenant_id == tenant_id, Macro.name == name, Macro.language == language)
    )
    if clash is not None and clash != exclude:
        raise ValidationFailed(
            fields={"name": _("This client already has a macro of that name in that language.")}
        )


def create(data: MacroInput) -> Macro:
    values = _validated(data, _tenant(data.tenant_id))
    _unique(data.tenant_id, str(values["name"]), data.language)
    macro = Macro(tenant_id=data.tenant_id, **values)
    db.session.add(macro)
    db.session.flush()
    audit.record("macro.created", tenant_id=data.tenant_id, target=macro)
    return macro


def update(macro: Macro, data: MacroInput) -> Macro:
    values = _validated(data, _tenant(macro.tenant_id))
    _unique(macro.tenant_id, str(values["name"]), data.language, exclude=macro.id)
    for key, value in values.items():
        setattr(macro, key, value)
    db.session.flush()
    audit.record("macro.updated", tenant_id=macro.tenant_id, target=macro)
    return macro


def delete(macro: Macro) -> None:
    audit.record("macro.deleted", tenant_id=macro.tenant_id, target=macro, data={"name": macro.name})
    db.session.delete(macro)
    db.session.flush()


def get(macro_id: int) -> Macro:
    macro = db.session.get(Macro, macro_id)
    if macro is None:
        raise NotFound(_("Not found."))
    return macro


def listing(tenant_id: int | None = None) -> list[Macro]:
    query = select(Macro).order_by(Macro.tenant_id, Macro.name, Macro.language)
    if tenant_id is not None:
        query = query.where(Macro.tenant_id == tenant_id)
    return list(db.session.scalars(query))


def for_ticket(ticket: Ticket) -> list[Macro]:
    """The client's macros in the ticket's language; where a macro has no text in that language,
    its text in the client's default language (the agent sees which)."""
    tenant = _tenant(ticket.tenant_id)
    rows = db.session.scalars(
        select(Macro)
        .where(
            Macro.tenant_id == ticket.tenant_id,
            Macro.language.in_({ticket.language, tenant.default_language}),
        )
        .order_by(Macro.name)
    )
    chosen: dict[str, Macro] = {}
    for macro in rows:
        if macro.name not in chosen or macro.language == ticket.language:
            chosen[macro.name] = macro
    return list(chosen.values())


def values_for(ticket: Ticket, agent_name: str) -> Mapping[str, str]:
    tenant = _tenant(ticket.tenant_id)
    contact = db.session.get(Contact, ticket.contact_id) if ticket.contact_id else None
    return {
        "contact_name": (contact.name if contact and contact.name else ""),
        "ticket_number": tickets.display_number(tenant, ticket),
        "ticket_subject": ticket.subject,
        "agent_name": agent_name,
        "client_name": tenant.name,
    }


def render(macro: Macro, values: Mapping[str, str]) -> str:
    return fill(macro.body, values)


def fill(text: str, values: Mapping[str, str]) -> str:
    """Placeholders replaced; an unknown one is left as written (never evaluated)."""
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def follow_up(ticket: Ticket, macro: Macro) -> Status | None:
    """After a reply from this macro: its tags now, and the status the reply should leave."""
    if macro.tenant_id != ticket.tenant_id:
        raise NotFound(_("Not found."))
    if macro.add_tags:
        tickets.add_tags(ticket, list(macro.add_tags))
    return Status(macro.set_status) if macro.set_status else None
