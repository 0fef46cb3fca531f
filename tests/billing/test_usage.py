"""The ledger: one row per billable piece of work, written by its call site, out of hours decided
against the client's business calendar when the work happens, corrections as new rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from agents import routing
from agents import services as agents
from agents.models import Presence
from billing import usage
from billing.invoice_run import lines_of, run_month
from billing.invoices import finalize
from billing.models import Invoice, UsageEvent, UsageKind
from channels import chat_ending, chat_queue, chat_start
from core import jobs
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from core.tenancy import only
from sla import calendars, policies
from tests.billing.helpers import MIDDAY, NIGHT, NOV, add_usage, make_plan
from tests.factories import World, make_ticket
from tickets import calls
from tickets.models import InboundRecord

SATURDAY = datetime(2025, 11, 15, 10, 0, tzinfo=UTC)
CHRISTMAS = datetime(2025, 12, 25, 10, 0, tzinfo=UTC)


def office_hours(world: World, *, always_open: bool = False, category: str | None = None) -> None:
    """Alpha's default policy counting in Zurich office hours (or around the clock)."""
    calendar = calendars.create(
        calendars.CalendarInput(
            tenant_id=world.alpha.id,
            name="Büro",
            timezone="Europe/Zurich",
            always_open=always_open,
            hours={str(day): "08:00-18:00" for day in range(5)},
            holiday_country="CH",
        )
    )
    policies.create(
        policies.PolicyInput(
            tenant_id=world.alpha.id, name="Standard", calendar_id=calendar.id, category=category
        )
    )


def rows(tenant_id: int, kind: UsageKind) -> list[UsageEvent]:
    return list(
        db.session.scalars(
            select(UsageEvent)
            .where(UsageEvent.tenant_id == tenant_id, UsageEvent.kind == kind.value)
            .order_by(UsageEvent.id)
        )
    )


def test_without_a_calendar_nothing_is_out_of_hours(world: World, system: None) -> None:
    assert usage.record(world.alpha.id, UsageKind.CONTACT, "a", occurred_at=NIGHT).out_of_hours is False


def test_out_of_hours_follows_the_calendar_of_the_default_policy(world: World, system: None) -> None:
    office_hours(world)
    assert usage.record(world.alpha.id, UsageKind.CONTACT, "day", occurred_at=MIDDAY).out_of_hours is False
    assert usage.record(world.alpha.id, UsageKind.CONTACT, "night", occurred_at=NIGHT).out_of_hours is True
    assert usage.record(world.alpha.id, UsageKind.CONTACT, "sat", occurred_at=SATURDAY).out_of_hours is True
    assert usage.record(world.alpha.id, UsageKind.CONTACT, "xmas", occurred_at=CHRISTMAS).out_of_hours is True


def test_a_24_7_calendar_or_one_of_a_special_policy_is_never_out_of_hours(world: World, system: None) -> None:
    office_hours(world, category="outage")  # not the default policy
    assert usage.record(world.alpha.id, UsageKind.CONTACT, "n1", occurred_at=NIGHT).out_of_hours is False
    office_hours_24 = calendars.create(
        calendars.CalendarInput(
            tenant_id=world.alpha.id, name="Immer", timezone="Europe/Zurich", always_open=True
        )
    )
    policies.create(
        policies.PolicyInput(tenant_id=world.alpha.id, name="Default", calendar_id=office_hours_24.id)
    )
    assert usage.record(world.alpha.id, UsageKind.CONTACT, "n2", occurred_at=NIGHT).out_of_hours is False


def test_recording_twice_with_one_key_bills_once(world: World, system: None) -> None:
    first = usage.record(world.alpha.id, UsageKind.CONTACT, "same")
    assert usage.record(world.alpha.id, UsageKind.CONTACT, "same") is first
    assert len([e for e in rows(world.alpha.id, UsageKind.CONTACT) if e.key == "same"]) == 1


def test_a_contact_is_billed_when_it_arrived_in_the_tickets_language(world: World, system: None) -> None:
    ticket = make_ticket(world.beta, subject="Compteur", body="Bonjour", language="fr", key="beta-compteur")
    record = db.session.scalar(select(InboundRecord).where(InboundRecord.ticket_id == ticket.id))
    [event] = [e for e in rows(world.beta.id, UsageKind.CONTACT) if e.ticket_id == ticket.id]
    assert (event.key, event.language, event.occurred_at) == (
        f"inbound:{record.id}",
        "fr",
        record.received_at,
    )


def test_a_logged_call_is_billed_by_its_seconds_and_its_time_is_not_agent_time(
    world: World, system: None
) -> None:
    log = calls.CallLog("+41790000000", "+41440000001", "inbound", 125, calls.Outcome.SOLVED, "Kunde rief an")
    message = calls.log_call(world.alpha_ticket, world.agent_alpha.id, log)
    [call] = rows(world.alpha.id, UsageKind.CALL)
    assert (call.key, call.quantity, call.language) == (
        f"call:{message.id}",
        125,
        world.alpha_ticket.language,
    )
    [time] = rows(world.alpha.id, UsageKind.TIME)
    assert time.data["source"] == "call"
    make_plan(
        world.alpha,
        agent_hour_price="60",
        call_minute_price="1",
        increment_seconds="60",
        after_call_seconds="0",
    )
    result = run_month(call.occurred_at.date())
    invoice = db.session.get_one(Invoice, result.created[0])
    kinds = {line.kind: line for line in lines_of(invoice)}
    assert kinds["call_minutes"].amount == 300  # 125 s -> 3 started minutes
    assert "agent_hours" not in kinds or kinds["agent_hours"].amount == 0


@pytest.fixture
def online(world: World, system: None) -> World:
    agents.set_languages(world.agent_alpha, {"de": "native"})
    routing.set_presence(world.agent_alpha, Presence.AVAILABLE)
    jobs.commit()
    return world


def test_an_accepted_chat_is_billed_from_acceptance_to_its_end(online: World) -> None:
    world = online
    session = chat_start.start(world.alpha, chat_start.StartChat("Eva", None, "de", "Geschirrspüler"))
    accepted = datetime.now(UTC) - timedelta(minutes=10)
    chat_queue.accept(session, world.agent_alpha, now=accepted)
    chat_ending.end(session, "agent", user_id=world.agent_alpha.id, now=accepted + timedelta(seconds=425))
    chat_ending.end(session, "agent", user_id=world.agent_alpha.id)  # ending twice bills nothing more
    [event] = rows(world.alpha.id, UsageKind.CHAT)
    assert (event.key, event.quantity, event.language) == (f"chat:{session.id}", 425, "de")
    assert event.occurred_at == accepted


def test_a_chat_nobody_accepted_is_not_billed(online: World) -> None:
    world = online
    session = chat_start.start(world.alpha, chat_start.StartChat("Eva", None, "de", "Niemand da"))
    chat_ending.end(session, "idle")
    assert rows(world.alpha.id, UsageKind.CHAT) == []


def test_an_escalation_is_billed_once_per_handoff(world: World, system: None) -> None:
    [event] = rows(world.beta.id, UsageKind.ESCALATION)
    assert event.key == f"escalation:{world.beta_escalation.id}"
    assert (event.ticket_id, event.language) == (world.beta_ticket.id, world.beta_ticket.language)


def test_a_correction_is_a_new_row_and_the_original_is_untouched(world: World, system: None) -> None:
    original = add_usage(world.alpha, UsageKind.CALL, 3600, at=MIDDAY, out_of_hours=True)
    correction = usage.correct(original.id, -3240, "Dauer falsch erfasst", world.admin.id)
    assert original.quantity == 3600
    assert (correction.corrects_id, correction.quantity, correction.kind) == (original.id, -3240, "call")
    assert (correction.occurred_at, correction.out_of_hours) == (original.occurred_at, True)
    again = usage.correct(correction.id, 60, "Nachtrag", world.admin.id)
    assert again.corrects_id == original.id  # always names the first row
    assert again.key != correction.key


def test_a_correction_of_a_finalized_month_counts_in_the_current_month(world: World, system: None) -> None:
    make_plan(world.alpha)
    original = add_usage(world.alpha, UsageKind.CONTACT, 1, at=MIDDAY)
    finalize(db.session.get_one(Invoice, run_month(NOV).created[0]))
    now = datetime(2025, 12, 3, 9, 0, tzinfo=UTC)
    correction = usage.correct(original.id, -1, "Doppelt erfasst", world.admin.id, now=now)
    assert correction.occurred_at == now


@pytest.mark.parametrize(
    ("quantity", "note", "field"), [(0, "x", "quantity"), (5, "  ", "note"), (10**9, "x", "quantity")]
)
def test_a_correction_needs_a_quantity_and_a_reason(
    world: World, system: None, quantity: int, note: str, field: str
) -> None:
    original = add_usage(world.alpha, UsageKind.CONTACT)
    with pytest.raises(ValidationFailed) as caught:
        usage.correct(original.id, quantity, note, world.admin.id)
    assert field in caught.value.fields


def test_another_clients_row_cannot_be_corrected(world: World, system: None) -> None:
    beta_row = add_usage(world.beta, UsageKind.CONTACT)
    with only(world.alpha.id), pytest.raises(NotFound):
        usage.correct(beta_row.id, -1, "Nicht unseres", world.alpha_admin.id)
