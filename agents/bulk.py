"""Bulk actions of the workspace and the API: one change applied to many tickets at once.

Each ticket is changed in its own savepoint: a ticket that cannot take the change (a closed one
cannot be reopened by a bulk status change) is reported back, the others are changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from flask_babel import gettext as _
from sqlalchemy import select

from agents import routing
from core.errors import Conflict, NotFound, ServiceError, ValidationFailed
from core.extensions import db
from tickets import merge as merging
from tickets import services as tickets
from tickets.models import Status, Ticket


class BulkAction(StrEnum):
    ASSIGN = "assign"  # value: a user id, or "" to unassign
    STATUS = "status"  # value: a status
    TAG = "tag"  # value: tags to add
    MERGE = "merge"  # into the oldest selected ticket


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    merged_into: int | None = None


def apply(ticket_ids: list[int], action: BulkAction, value: str = "") -> BulkResult:
    ids = list(dict.fromkeys(ticket_ids))[:500]
    if not ids:
        raise ValidationFailed(fields={"tickets": _("Choose at least one ticket.")})
    found = {t.id: t for t in db.session.scalars(select(Ticket).where(Ticket.id.in_(ids)))}
    result = BulkResult()
    for missing in (i for i in ids if i not in found):
        result.failed[missing] = _("This ticket does not exist or is not yours to see.")
    chosen = [found[i] for i in ids if i in found]
    if action is BulkAction.MERGE:
        if len(chosen) < 2:
            raise ValidationFailed(fields={"tickets": _("Choose at least two tickets to merge.")})
        target = min(chosen, key=lambda t: (t.created_at, t.id))
        merging.merge(target, [t for t in chosen if t.id != target.id])
        result.done = [t.id for t in chosen]
        result.merged_into = target.id
        return result
    tags = tickets.clean_tags(value) if action is BulkAction.TAG else []
    status = None
    if action is BulkAction.STATUS:
        try:
            status = Status(value)
        except ValueError:
            raise ValidationFailed(fields={"value": _("Invalid value.")}) from None
    assignee = None
    if action is BulkAction.ASSIGN and value:
        if not value.isdigit():
            raise ValidationFailed(fields={"value": _("Invalid value.")})
        assignee = int(value)
    for ticket in chosen:
        try:
            with db.session.begin_nested():
                if action is BulkAction.ASSIGN:
                    if assignee is not None and not routing.serves(ticket.tenant_id, assignee):
                        raise ValidationFailed(_("This person does not serve this client."))
                    tickets.assign(ticket, assignee)
                elif action is BulkAction.STATUS and status is not None:
                    tickets.set_status(ticket, status)
                elif action is BulkAction.TAG:
                    tickets.add_tags(ticket, tags)
                db.session.flush()
        except (Conflict, ValidationFailed, NotFound) as exc:
            result.failed[ticket.id] = _message(exc)
        else:
            result.done.append(ticket.id)
    return result


def _message(exc: ServiceError) -> str:
    return str(next(iter(exc.fields.values()), None) or exc.message)
