"""The ticket clocks: targets from policies, pausing while waiting for the customer, the next
response, and the team clocks of escalations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from core.extensions import db
from escalations.models import Team
from sla import calendars, policies
from tenants.models import Tenant
from tests.factories import World, make_ticket
from tickets import services as tickets
from tickets import sla
from tickets.models import Category, Channel, Priority, Status, Ticket

ZURICH = ZoneInfo("Europe/Zurich")
OFFICE = {str(day): "08:00-12:00, 13:00-18:00" for day in range(5)}


def zurich(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZURICH)  # type: ignore[misc]


def office_policy(tenant: Tenant, **kwargs: object) -> policies.SlaPolicy:
    calendar = calendars.create(
        calendars.CalendarInput(tenant_id=tenant.id, name="Office", timezone="Europe/Zurich", hours=OFFICE)
    )
    return policies.create(
        policies.PolicyInput(
            tenant_id=tenant.id,
            name="Office hours",
            calendar_id=calendar.id,
            targets={
                "first_response": {"normal": 120},
                "resolution": {"normal": 600},
                "next_response": {"normal": 60},
            },
            **kwargs,  # type: ignore[arg-type]
        )
    )


def started(tenant: Tenant, at: datetime, key: str) -> Ticket:
    ticket = make_ticket(tenant, subject=f"Clock {key}", key=key)
    sla.start_clocks(ticket, start=at, now=at)
    return ticket


def test_without_a_policy_the_clients_targets_apply_around_the_clock(world: World, system: None) -> None:
    world.alpha.sla_targets = {"first_response": {"normal": 15}}
    ticket = make_ticket(world.alpha, subject="Plain", key="c1")
    assert ticket.sla_policy_id is None
    assert ticket.first_response_due_at - ticket.created_at <= timedelta(minutes=15)
    assert ticket.first_response_due_at - ticket.created_at > timedelta(minutes=14)
    assert ticket.resolution_due_at - ticket.first_response_due_at == timedelta(hours=24) - timedelta(
        minutes=15
    )
    assert ticket.due_at == ticket.first_response_due_at


def test_clocks_count_from_when_the_contact_arrived(world: World, system: None) -> None:
    arrived = datetime.now(UTC) - timedelta(minutes=10)
    ticket, _message = tickets.open_ticket(
        tickets.NewTicket(
            tenant_id=world.alpha.id,
            subject="Late",
            body="Queued",
            channel=Channel.EMAIL,
            language="de",
            received_at=arrived,
        )
    )
    assert ticket.first_response_due_at == arrived + timedelta(hours=4)


def test_a_policy_counts_business_minutes_in_its_calendar(world: World, system: None) -> None:
    policy = office_policy(world.alpha)
    ticket = started(world.alpha, zurich(2026, 6, 12, 17, 0), "c2")  # a Friday
    assert ticket.sla_policy_id == policy.id
    assert ticket.first_response_due_at == zurich(2026, 6, 15, 9, 0)
    assert ticket.resolution_due_at == zurich(2026, 6, 15, 18, 0)
    assert ticket.due_at == ticket.first_response_due_at
    # The sweep looks first when 80 % of the first response target has passed.
    assert ticket.sla_check_at == zurich(2026, 6, 15, 8, 36)


def test_waiting_for_the_customer_pauses_and_resuming_keeps_the_time_left(world: World, system: None) -> None:
    office_policy(world.alpha)
    ticket = started(world.alpha, zurich(2026, 6, 15, 8, 0), "c3")  # Monday
    tickets.reply(ticket, world.agent_alpha.id, "We are on it.")
    assert ticket.first_response_at is not None
    tickets.set_status(ticket, Status.PENDING_CUSTOMER, now=zurich(2026, 6, 15, 10, 0))
    assert ticket.due_at is None
    assert ticket.sla_paused_at == zurich(2026, 6, 15, 10, 0)
    assert ticket.sla_check_at is None
    # Resolution was due Monday 18:00 + 1 h (Tuesday 09:00): 8 business hours were left.
    assert ticket.resolution_due_at == zurich(2026, 6, 16, 9, 0)
    tickets.customer_wrote(
        ticket, "Here is the photo.", contact_id=ticket.contact_id, now=zurich(2026, 6, 19, 17, 0)
    )
    assert ticket.status == Status.OPEN.value
    assert ticket.sla_paused_at is None
    # Friday 17:00 + 8 business hours: one on Friday, seven on Monday.
    assert ticket.resolution_due_at == zurich(2026, 6, 22, 16, 0)


def test_a_customer_message_starts_the_next_response_clock_and_a_reply_stops_it(
    world: World, system: None
) -> None:
    office_policy(world.alpha)
    ticket = started(world.alpha, zurich(2026, 6, 15, 8, 0), "c4")
    tickets.reply(ticket, world.agent_alpha.id, "First answer.")
    assert ticket.next_response_due_at is None
    assert ticket.due_at == ticket.resolution_due_at
    tickets.customer_wrote(ticket, "And now?", contact_id=ticket.contact_id, now=zurich(2026, 6, 15, 11, 30))
    assert ticket.next_response_due_at == zurich(2026, 6, 15, 13, 30)  # over the lunch break
    assert ticket.due_at == ticket.next_response_due_at
    tickets.customer_wrote(ticket, "Hello?", contact_id=ticket.contact_id, now=zurich(2026, 6, 15, 13, 0))
    assert ticket.next_response_due_at == zurich(2026, 6, 15, 13, 30)  # the earlier promise stands
    tickets.reply(ticket, world.agent_alpha.id, "Second answer.")
    assert ticket.next_response_due_at is None
    assert ticket.due_at == ticket.resolution_due_at


def test_before_the_first_answer_a_customer_message_starts_no_second_clock(
    world: World, system: None
) -> None:
    ticket = make_ticket(world.alpha, subject="Impatient", key="c5")
    tickets.customer_wrote(ticket, "Anyone?", contact_id=ticket.contact_id)
    assert ticket.next_response_due_at is None
    assert ticket.due_at == ticket.first_response_due_at


def test_a_new_priority_keeps_the_time_used_against_the_new_target(world: World, system: None) -> None:
    ticket = make_ticket(world.alpha, subject="Urgent now", key="c6")
    start = ticket.first_response_due_at - timedelta(hours=4)
    tickets.set_priority(ticket, Priority.URGENT)
    assert ticket.first_response_due_at == start + timedelta(minutes=30)
    assert ticket.resolution_due_at == start + timedelta(hours=4)


def test_a_category_with_its_own_policy_takes_over(world: World, system: None) -> None:
    outage = policies.create(
        policies.PolicyInput(
            tenant_id=world.alpha.id,
            name="Outages",
            category=Category.OUTAGE.value,
            targets={"first_response": {"normal": 10}},
        )
    )
    ticket = make_ticket(world.alpha, subject="Dark", key="c7")
    start = ticket.first_response_due_at - timedelta(hours=4)
    tickets.set_category(ticket, Category.OUTAGE)
    assert ticket.sla_policy_id == outage.id
    assert ticket.first_response_due_at == start + timedelta(minutes=10)


def test_resolving_stops_the_clocks_and_reopening_resumes_them(world: World, system: None) -> None:
    ticket = make_ticket(world.alpha, subject="Done", key="c8")
    left = ticket.resolution_due_at - datetime.now(UTC)
    tickets.set_status(ticket, Status.RESOLVED)
    assert ticket.due_at is None
    later = datetime.now(UTC) + timedelta(days=2)
    tickets.set_status(ticket, Status.OPEN, now=later)
    assert abs(ticket.resolution_due_at - (later + left)) < timedelta(seconds=5)


def test_team_clocks_count_in_the_teams_calendar(world: World, system: None) -> None:
    calendar = calendars.create(
        calendars.CalendarInput(tenant_id=world.alpha.id, name="IT", timezone="Europe/Zurich", hours=OFFICE)
    )
    team = Team(
        tenant_id=world.alpha.id, name="IT", timezone="Europe/Zurich", ack_minutes=60, resolve_minutes=600
    )
    db.session.add(team)
    db.session.flush()
    start = zurich(2026, 6, 12, 17, 30)
    assert sla.team_due_times(team, start) == (
        zurich(2026, 6, 12, 17, 30) + timedelta(hours=1),
        start + timedelta(minutes=600),
    )
    team.calendar_id = calendar.id
    assert sla.team_due_times(team, start) == (zurich(2026, 6, 15, 8, 30), zurich(2026, 6, 16, 8, 30))
