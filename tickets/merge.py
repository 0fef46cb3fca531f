"""Merging duplicate tickets: the same customer wrote twice, or called about what they e-mailed.

The conversation of each merged ticket moves to the target, so the agent reads one thread and the
customer gets one answer; the merged ticket stays, closed, pointing at its target, so its number
still leads somewhere.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import update

from core.errors import Conflict, ValidationFailed
from core.extensions import db
from tenants.models import Tenant
from tickets import services as tickets
from tickets.models import Call, InboundRecord, Message, MessageKind, Status, Ticket, TimeEntry


def merge(target: Ticket, sources: list[Ticket]) -> Ticket:
    sources = [s for s in sources if s.id != target.id]
    if not sources:
        raise ValidationFailed(fields={"tickets": _("Choose at least two tickets to merge.")})
    if any(s.tenant_id != target.tenant_id for s in sources):
        raise ValidationFailed(fields={"tickets": _("Only tickets of the same client can be merged.")})
    if target.status == Status.CLOSED.value or any(s.status == Status.CLOSED.value for s in sources):
        raise Conflict(_("Closed tickets cannot be merged."))
    tenant = db.session.get_one(Tenant, target.tenant_id)
    for source in sources:
        moved = {"ticket_id": target.id}
        for model in (Message, TimeEntry, Call, InboundRecord):
            db.session.execute(
                update(model)
                .where(model.tenant_id == source.tenant_id, model.ticket_id == source.id)
                .values(**moved)
                .execution_options(synchronize_session=False)
            )
        target.time_spent_seconds += source.time_spent_seconds
        source.time_spent_seconds = 0
        target.tags = tickets.clean_tags([*(target.tags or []), *(source.tags or [])])
        number, into = tickets.display_number(tenant, source), tickets.display_number(tenant, target)
        tickets.add_message(target, MessageKind.SYSTEM, "").data = {"merged_from": number}
        tickets.add_message(source, MessageKind.SYSTEM, "").data = {"merged_into": into}
        source.merged_into_id = target.id
        tickets.record_event(source, "merged_into", ticket_id=target.id, number=into)
        tickets.record_event(target, "merged_from", ticket_id=source.id, number=number)
        tickets.set_status(source, Status.CLOSED)
    tickets.touch(target)
    db.session.flush()
    db.session.expire_all()
    return db.session.get_one(Ticket, target.id)
