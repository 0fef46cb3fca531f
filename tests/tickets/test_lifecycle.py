"""Statuses, first-contact resolution, reopening, replies in the client's name, notes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import jobs, tenancy
from core.errors import Conflict, ValidationFailed
from core.extensions import db
from core.models_base import utcnow
from tests.factories import World
from tickets import contacts
from tickets import services as tickets
from tickets.models import Contact, Status


def test_resolved_at_first_contact_counts_as_fcr(world: World) -> None:
    ticket = world.alpha_ticket
    with tenancy.only(world.alpha.id):
        tickets.reply(ticket, world.agent_alpha.id, "Please press reset for 5 seconds.", then=Status.RESOLVED)
        assert ticket.status == Status.RESOLVED.value
        assert ticket.first_contact_resolution is True
        assert ticket.first_response_at is not None


def test_waiting_for_the_customer_is_no_fcr(world: World) -> None:
    ticket = world.alpha_ticket
    with tenancy.only(world.alpha.id):
        tickets.reply(ticket, world.agent_alpha.id, "Which model is it?", then=Status.PENDING_CUSTOMER)
        tickets.customer_wrote(ticket, "GS-450", contact_id=ticket.contact_id)
        assert ticket.status == Status.OPEN.value
        tickets.set_status(ticket, Status.RESOLVED)
        assert ticket.first_contact_resolution is False


def test_customer_reply_reopens_within_the_window_only(world: World) -> None:
    ticket = world.alpha_ticket
    with tenancy.only(world.alpha.id):
        tickets.set_status(ticket, Status.RESOLVED)
        tickets.customer_wrote(ticket, "Still broken", contact_id=None, now=utcnow() + timedelta(days=2))
        assert ticket.status == Status.OPEN.value
        tickets.set_status(ticket, Status.RESOLVED)
        tickets.customer_wrote(ticket, "Thanks!", contact_id=None, now=utcnow() + timedelta(days=30))
        assert ticket.status == Status.RESOLVED.value


def test_closed_tickets_cannot_change(world: World) -> None:
    ticket = world.alpha_ticket
    with tenancy.only(world.alpha.id):
        tickets.set_status(ticket, Status.CLOSED)
        with pytest.raises(Conflict):
            tickets.set_status(ticket, Status.OPEN)


def test_reply_is_mailed_in_the_clients_name_and_threads(world: World, smtp_to) -> None:
    ticket = world.alpha_ticket
    with tenancy.only(world.alpha.id):
        world.alpha.signatures = {"de": "Freundliche Grüsse\nAlpha Kundendienst"}
        tickets.reply(ticket, world.agent_alpha.id, "Bitte drücken Sie 5 Sekunden auf Reset.")
        jobs.commit()
    mail = smtp_to.messages[-1]
    assert mail["To"] == "anna.kunde@example.com"
    assert "Alpha AG" in mail["From"]
    assert "support@alpha.example" in mail["From"]
    assert mail["Subject"].startswith(f"[ALPHA-{ticket.number}]")
    assert "Alpha Kundendienst" in mail.get_body(("plain",)).get_content()


def test_internal_notes_are_never_sent(world: World, smtp_to) -> None:
    sent_before = len(smtp_to.messages)
    with tenancy.only(world.alpha.id):
        tickets.add_note(world.alpha_ticket, world.agent_alpha.id, "Customer sounded upset.")
        jobs.commit()
    assert len(smtp_to.messages) == sent_before


def test_empty_reply_is_refused(world: World) -> None:
    with tenancy.only(world.alpha.id), pytest.raises(ValidationFailed):
        tickets.reply(world.alpha_ticket, world.agent_alpha.id, "   ")


def test_contact_changes_are_recorded_on_the_ticket(world: World) -> None:
    ticket = world.alpha_ticket
    with tenancy.only(world.alpha.id):
        contact = db.session.get(Contact, ticket.contact_id)
        changed = contacts.update_contact(
            contact, {"phone": "+41 44 123 45 67", "contract_number": "C-77"}, ticket=ticket
        )
        assert contact.phone == "+41441234567"
        assert set(changed) == {"phone", "contract_number"}
        history = [e.kind for e in tickets.history_of(ticket)]
        assert "contact_updated" in history
        with pytest.raises(ValidationFailed):
            contacts.update_contact(contact, {"phone": "call me maybe"}, ticket=ticket)


def test_inbox_shows_only_tickets_in_scope_most_urgent_first(world: World) -> None:
    with tenancy.only(world.alpha.id):
        world.alpha_ticket.priority = "urgent"
        rows = tickets.inbox(tickets.InboxFilter())
    assert [t.tenant_id for t, _ in rows] == [world.alpha.id]
    with tenancy.using(tenancy.tenants([world.alpha.id, world.beta.id])):
        rows = tickets.inbox(tickets.InboxFilter())
    assert rows[0][0].id == world.alpha_ticket.id
    assert {t.tenant_id for t, _ in rows} == {world.alpha.id, world.beta.id}
