"""Problem tickets: one fault, many customers. The tickets about it are linked to one parent; when
the parent is resolved, every linked ticket still open is resolved with it and its customer is
told, each in their own language."""

from __future__ import annotations

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


def parse_numbers(tenant: Tenant, raw: str) -> list[int]:
    """`ALPINA-1042, 1043` -> [1042, 1043]; another client's prefix is an error, not a guess."""
    numbers = []
    for part in raw.replace(";", ",").replace("\n", ",").split(","):
        part = part.strip().upper()
        if not part:
            continue
        prefix, _sep, digits = part.rpartition("-")
        if (prefix and prefix != tenant.ticket_prefix) or not digits.isdigit():
            raise ValidationFailed(
                fields={"numbers": _("%(number)s is not a ticket number of this client.", number=part)}
            )
        numbers.append(int(digits))
    if not numbers:
        raise ValidationFailed(fields={"numbers": _("Enter the numbers of the tickets to link.")})
    return numbers


def link(parent: Ticket, raw_numbers: str) -> list[Ticket]:
    """Make `parent` the problem ticket of the tickets with these numbers."""
    tenant = db.session.get_one(Tenant, parent.tenant_id)
    linked = []
    for number in parse_numbers(tenant, raw_numbers):
        child = tickets.find_by_number(parent.tenant_id, number)
        if child is None:
            raise ValidationFailed(
                fields={
                    "numbers": _("There is no ticket %(number)s.", number=f"{tenant.ticket_prefix}-{number}")
                }
            )
        try:
            tickets.link_parent(child, parent)
        except (ValidationFailed, NotFound) as exc:
            raise ValidationFailed(
                fields={"numbers": str(next(iter(exc.fields.values()), exc.message))}
            ) from exc
        linked.append(child)
    db.session.flush()
    return linked


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
