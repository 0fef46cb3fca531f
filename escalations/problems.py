"""Problem tickets: one fault, many customers. The tickets about it are linked to one parent; when
the parent is resolved, every linked ticket still open is resolved with it and its customer is
told, each in their own language."""

from __future__ import annotations

import re
from datetime import datetime

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from core import audit
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from tenants.models import Tenant
from tickets import services as tickets
from tickets.models import OPEN_STATUSES, Status, Ticket

OPEN_VALUES = [status.value for status in OPEN_STATUSES]


NUMBER_RE = re.compile(r"^(?:(.+)-)?(\d{1,9})$")


def tickets_by_number(problem: Ticket, raw: str) -> list[Ticket]:
    """`ALPINA-1042` or `1042`, separated by commas or spaces: tickets of the problem's client.
    Every wrong number is named at once; another client's prefix is an error, not a guess."""
    tenant = db.session.get_one(Tenant, problem.tenant_id)
    tokens = [token for token in re.split(r"[\s,;]+", raw.strip()) if token]
    if not tokens:
        raise ValidationFailed(fields={"numbers": _("Enter the numbers of the tickets to link.")})
    errors: list[str] = []
    found: list[Ticket] = []
    for token in tokens:
        match = NUMBER_RE.match(token.upper())
        if match is None:
            errors.append(_("%(value)s is not a ticket number.", value=token))
            continue
        prefix, number = match.groups()
        if prefix and prefix != tenant.ticket_prefix.upper():
            errors.append(_("%(number)s is not a ticket of %(client)s.", number=token, client=tenant.name))
            continue
        child = tickets.find_by_number(tenant.id, int(number))
        if child is None:
            errors.append(_("%(client)s has no ticket %(number)s.", client=tenant.name, number=token))
        elif child.id == problem.id:
            errors.append(_("A ticket cannot be linked to itself."))
        elif child not in found:
            found.append(child)
    if errors:
        raise ValidationFailed(fields={"numbers": " ".join(errors)})
    return found


def link(problem: Ticket, raw_numbers: str) -> list[Ticket]:
    """Mark `problem` as a problem ticket (tag `problem`) and link the tickets with these numbers
    to it, so that the desk and the resolution see them as one."""
    children = tickets_by_number(problem, raw_numbers)
    for child in children:
        try:
            tickets.link_parent(child, problem)
        except (ValidationFailed, NotFound) as exc:
            raise ValidationFailed(
                fields={"numbers": str(next(iter(exc.fields.values()), exc.message))}
            ) from exc
    tickets.add_tags(problem, ["problem"])
    db.session.flush()
    return children


def open_children(parent: Ticket) -> list[Ticket]:
    return list(
        db.session.scalars(
            select(Ticket)
            .where(
                Ticket.tenant_id == parent.tenant_id,
                Ticket.parent_id == parent.id,
                Ticket.status.in_(OPEN_VALUES),
            )
            .order_by(Ticket.id)
        )
    )


def notice(child: Ticket, parent: Ticket) -> str:
    tenant = db.session.get_one(Tenant, child.tenant_id)
    with force_locale(child.language):
        return _(
            "The problem behind your request %(number)s (%(subject)s) has been solved. Thank you for "
            "reporting it; if anything is still not right, simply reply to this message.",
            number=tickets.display_number(tenant, child),
            subject=child.subject,
        )


@tickets.on_resolved
def resolve_linked(parent: Ticket, now: datetime) -> None:
    """Every way of resolving a ticket passes here (desk, portal, API): its open linked tickets
    are resolved and their customers told, in the name of whoever resolved it."""
    children = open_children(parent)
    if not children:
        return
    author = audit.current_actor().user_id
    for child in children:
        tickets.reply(child, author, notice(child, parent), then=Status.RESOLVED)
        tickets.record_event(child, "resolved_with_problem", parent_id=parent.id)
    audit.record(
        "problem.resolved", tenant_id=parent.tenant_id, target=parent, data={"linked": len(children)}
    )
