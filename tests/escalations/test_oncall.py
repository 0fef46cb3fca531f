"""The on-call rota and paging: wall-clock slots across DST, overrides first, pages that move on
to the next person when nobody acknowledges, and never twice."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core import scheduler, tenancy
from core.auth.models import User
from core.auth.roles import Role
from core.errors import ValidationFailed
from core.extensions import db
from core.outbox import OutboxMessage
from demo import oncall as demo_oncall
from escalations import oncall, rota
from escalations import services as escalations
from escalations.models import OnCallPage, Team, TeamMember, WebhookDelivery
from sla.models import BusinessCalendar
from tests.escalations.conftest import make_escalation
from tests.factories import World, make_team, make_user

MONDAY = datetime(2026, 12, 7, tzinfo=UTC)  # a Monday in winter: Zurich is UTC+1
H = 60


@dataclass
class Crew:
    team: Team
    anna: User
    bruno: User
    carla: User


@pytest.fixture
def crew(world: World) -> Crew:
    with tenancy.system_scope():
        anna = make_user("anna@alpha.example", Role.CLIENT_EXPERT, tenant=world.alpha, locale="de")
        bruno = make_user("bruno@alpha.example", Role.CLIENT_EXPERT, tenant=world.alpha, locale="en")
        carla = make_user("carla@alpha.example", Role.CLIENT_EXPERT, tenant=world.alpha, locale="en")
        team = make_team(
            world.alpha,
            "IT",
            members=(anna, bruno, carla),
            timezone="Europe/Zurich",
            email="it@alpha.example",
        )
    return Crew(team, anna, bruno, carla)


def _slot(crew: Crew, user: User, weekday: int, start: int, end: int, position: int = 0) -> Any:
    return rota.add_slot(
        crew.team, user_id=user.id, weekday=weekday, start_minute=start, end_minute=end, position=position
    )


def _errors(call: Any) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        call()
    return {key: str(value) for key, value in caught.value.fields.items()}


def _mails_to(address: str) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "email").order_by(OutboxMessage.id)
    )
    return [row.payload for row in rows if row.payload["to"] == [address]]


# --- the rota ---------------------------------------------------------------------------------


def test_empty_and_overlapping_slots_are_refused(world: World, crew: Crew) -> None:
    with tenancy.only(world.alpha.id):
        _slot(crew, crew.anna, 0, 18 * H, 8 * H)  # Monday 18:00 to Tuesday 08:00
        assert "give it a length" in _errors(lambda: _slot(crew, crew.bruno, 2, 9 * H, 9 * H))["end"]
        # Tuesday 07:00 is still Anna's Monday night.
        clash = _errors(lambda: _slot(crew, crew.bruno, 1, 7 * H, 12 * H))["start"]
        assert "overlaps Anna's slot on Monday 6:00\u202fPM – 8:00\u202fAM (next day)" in clash
        _slot(crew, crew.bruno, 1, 7 * H, 12 * H, position=1)  # as the backup, it may overlap
        _slot(crew, crew.bruno, 1, 8 * H, 12 * H)  # and it may start when the night ends
        assert len(rota.slots_of(crew.team)) == 3


def test_sunday_night_wraps_into_monday_morning(world: World, crew: Crew) -> None:
    with tenancy.only(world.alpha.id):
        _slot(crew, crew.anna, 6, 22 * H, 6 * H)  # Sunday 22:00 to Monday 06:00
        assert "overlaps" in _errors(lambda: _slot(crew, crew.bruno, 0, 0, 2 * H))["start"]
        _slot(crew, crew.bruno, 0, 6 * H, 24 * H)  # the rest of Monday, up to midnight
        sunday_night = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # Monday 04:00 in Zurich
        assert rota.on_call(crew.team, sunday_night) == [crew.anna]
        assert rota.on_call(crew.team, MONDAY + timedelta(hours=22, minutes=59)) == [crew.bruno]
        assert rota.on_call(crew.team, MONDAY + timedelta(hours=23)) == []  # Tuesday 00:00


def test_only_members_of_the_team_go_on_the_rota(world: World, crew: Crew) -> None:
    with tenancy.only(world.alpha.id):
        not_in_team = _errors(lambda: _slot(crew, world.alpha_admin, 0, 8 * H, 9 * H))
        assert not_in_team == {"user_id": "Choose a member of this team."}
        assert "user_id" in _errors(
            lambda: rota.add_override(
                crew.team,
                user_id=world.beta_expert.id,
                starts_local=datetime(2026, 12, 7, 8),
                ends_local=datetime(2026, 12, 7, 9),
            )
        )
    with tenancy.system_scope():
        # Even a user of another company who was somehow made a member does not count.
        db.session.add(
            TeamMember(tenant_id=world.alpha.id, team_id=crew.team.id, user_id=world.beta_expert.id)
        )
        db.session.flush()
        assert "user_id" in _errors(lambda: _slot(crew, world.beta_expert, 0, 8 * H, 9 * H))


def test_bad_times_are_refused(world: World, crew: Crew) -> None:
    assert rota.parse_clock("07:30") == 450
    assert rota.parse_clock("24:00", end=True) == 1440
    for bad in ("24:00", "7", "7:5", "25:00", "12:60", "ab:cd", ""):
        with pytest.raises(ValueError, match=f"^{re.escape(bad)}$"):
            rota.parse_clock(bad)
    with tenancy.only(world.alpha.id):
        errors = _errors(
            lambda: rota.add_slot(
                crew.team, user_id=crew.anna.id, weekday=7, start_minute=-1, end_minute=1500
            )
        )
        assert set(errors) == {"weekday", "start", "end"}


def test_overrides_are_the_teams_wall_clock_stored_in_utc(world: World, crew: Crew) -> None:
    with tenancy.only(world.alpha.id):
        winter = rota.add_override(
            crew.team,
            user_id=crew.carla.id,
            starts_local=datetime(2026, 12, 24, 8),
            ends_local=datetime(2026, 12, 27, 8),
        )
        assert winter.starts_at == datetime(2026, 12, 24, 7, tzinfo=UTC)
        summer = rota.add_override(
            crew.team,
            user_id=crew.carla.id,
            starts_local=datetime(2026, 7, 1, 8),
            ends_local=datetime(2026, 7, 2, 8),
        )
        assert summer.starts_at == datetime(2026, 7, 1, 6, tzinfo=UTC)
        # 02:30 on the night the clocks go forward never happens in Zurich.
        gap = _errors(
            lambda: rota.add_override(
                crew.team,
                user_id=crew.carla.id,
                starts_local=datetime(2026, 3, 29, 2, 30),
                ends_local=datetime(2026, 3, 29, 9),
            )
        )
        assert gap == {"starts_at": "This time does not exist in Europe/Zurich (the clocks go forward)."}
        backwards = _errors(
            lambda: rota.add_override(
                crew.team,
                user_id=crew.carla.id,
                starts_local=datetime(2026, 12, 2, 9),
                ends_local=datetime(2026, 12, 2, 8),
            )
        )
        assert backwards == {"ends_at": "The end must be after the start."}
        assert set(
            _errors(
                lambda: rota.add_override(
                    crew.team, user_id=crew.carla.id, starts_local=None, ends_local=None
                )
            )
        ) == {"starts_at", "ends_at"}


@pytest.mark.parametrize(
    ("at_utc", "expected"),
    [
        # Spring forward, Sunday 29 March 2026: 08:00 in Zurich is 06:00 UTC (not 07:00).
        (datetime(2026, 3, 29, 5, 59, tzinfo=UTC), "anna"),
        (datetime(2026, 3, 29, 6, 0, tzinfo=UTC), "bruno"),
        (datetime(2026, 3, 29, 6, 30, tzinfo=UTC), "bruno"),  # a fixed +01:00 would still say Anna
        # Fall back, Sunday 25 October 2026: 08:00 in Zurich is 07:00 UTC (not 06:00).
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "anna"),  # 02:30 summer time
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "anna"),  # 02:30 again, winter time
        (datetime(2026, 10, 25, 6, 30, tzinfo=UTC), "anna"),  # a fixed +02:00 would say Bruno
        (datetime(2026, 10, 25, 7, 0, tzinfo=UTC), "bruno"),
    ],
)
def test_on_call_follows_the_wall_clock_across_the_dst_switch(
    world: World, crew: Crew, at_utc: datetime, expected: str
) -> None:
    with tenancy.only(world.alpha.id):
        _slot(crew, crew.anna, 5, 22 * H, 8 * H)  # Saturday 22:00 to Sunday 08:00
        _slot(crew, crew.bruno, 6, 8 * H, 22 * H)  # Sunday 08:00 to 22:00
        assert rota.on_call(crew.team, at_utc) == [getattr(crew, expected)]


def test_overrides_come_first_then_the_pattern_by_position(world: World, crew: Crew) -> None:
    with tenancy.only(world.alpha.id):
        _slot(crew, crew.bruno, 0, 0, 24 * H, position=1)
        _slot(crew, crew.anna, 0, 0, 24 * H, position=0)
        noon = MONDAY + timedelta(hours=11)
        assert rota.on_call(crew.team, noon) == [crew.anna, crew.bruno]
        rota.add_override(
            crew.team,
            user_id=crew.carla.id,
            starts_local=datetime(2026, 12, 7, 12),
            ends_local=datetime(2026, 12, 7, 14),
        )
        assert rota.on_call(crew.team, noon) == [crew.carla, crew.anna, crew.bruno]
        assert rota.on_call(crew.team, noon + timedelta(hours=2)) == [crew.anna, crew.bruno]  # ended at 14:00
        # Someone who left the team is skipped, not paged.
        db.session.delete(db.session.scalar(select(TeamMember).where(TeamMember.user_id == crew.anna.id)))
        db.session.flush()
        assert rota.on_call(crew.team, noon) == [crew.carla, crew.bruno]


# --- paging -----------------------------------------------------------------------------------


def _night_rota(crew: Crew) -> None:
    """Every Monday evening: Anna first, Bruno as backup, Carla second backup."""
    for position, person in enumerate((crew.anna, crew.bruno, crew.carla)):
        _slot(crew, person, 0, 18 * H, 24 * H, position=position)


EVENING = MONDAY + timedelta(hours=19)  # Monday 20:00 in Zurich


def test_a_page_is_recorded_mailed_in_the_persons_language_and_told_by_webhook(
    world: World, crew: Crew
) -> None:
    with tenancy.only(world.alpha.id):
        crew.team.webhook_url = "https://hooks.example.com/firstline"
        _night_rota(crew)
        escalation = make_escalation(
            world.alpha_ticket, crew.team, summary="Der Drucker brennt seit dem Update."
        )
        assert oncall.page(escalation, EVENING) == crew.anna
        assert (escalation.paged_user_id, escalation.page_attempts) == (crew.anna.id, 1)
        assert escalation.page_due_at == EVENING + timedelta(minutes=15)
        [record] = db.session.scalars(select(OnCallPage).where(OnCallPage.escalation_id == escalation.id))
        assert (record.user_id, record.attempt) == (crew.anna.id, 1)
        [mail] = _mails_to("anna@alpha.example")
        text = mail["text"]
        assert mail["subject"].startswith(f"[ALPHA-{world.alpha_ticket.number}]")
        assert "Hallo Anna," in text  # German, her language
        assert "Betreff: Printer on fire" in text
        assert "Der Drucker brennt seit dem Update." in text
        assert "Dringlichkeit: dringend" in text
        assert "production stopped" in text
        assert f"http://127.0.0.1:5000/portal/tickets/{world.alpha_ticket.id}" in text
        assert "http://127.0.0.1:5000/portal/teams/ack/" in text
        [delivery] = db.session.scalars(select(WebhookDelivery))
        assert (delivery.event, delivery.escalation_id) == ("escalation.paged", escalation.id)


def test_nobody_on_call_records_nothing(world: World, crew: Crew) -> None:
    with tenancy.only(world.alpha.id):
        escalation = make_escalation(world.alpha_ticket, crew.team)
        assert oncall.page(escalation, EVENING) is None
        assert (escalation.page_attempts, escalation.paged_user_id, escalation.page_due_at) == (0, None, None)
        assert db.session.scalars(select(OnCallPage)).all() == []
        assert _mails_to("it@alpha.example") == []


def test_the_sweep_pages_the_next_person_once_then_tells_the_team(world: World, crew: Crew) -> None:
    with tenancy.only(world.alpha.id):
        _slot(crew, crew.anna, 0, 18 * H, 24 * H)
        _slot(crew, crew.bruno, 0, 18 * H, 24 * H, position=1)
        escalation = make_escalation(world.alpha_ticket, crew.team)
        oncall.page(escalation, EVENING)
    with tenancy.system_scope():
        assert oncall.sweep(EVENING + timedelta(minutes=14)) == 0  # Anna still has a minute
        later = EVENING + timedelta(minutes=15)
        assert oncall.sweep(later) == 1
        assert oncall.sweep(later) == 0  # a second run at the same moment pages nobody
        assert (escalation.paged_user_id, escalation.page_attempts) == (crew.bruno.id, 2)
        assert len(_mails_to("bruno@alpha.example")) == 1
        # Bruno does not answer either: everybody on call was paged, the team's address hears of it.
        assert oncall.sweep(later + timedelta(minutes=15)) == 1
        assert oncall.sweep(later + timedelta(minutes=30)) == 0
        assert escalation.page_due_at is None
        assert escalation.page_attempts == 2
        [notice] = _mails_to("it@alpha.example")
        assert "Niemand hat die dringende Eskalation" in notice["text"]
        assert "nach 2 Alarmierungen" in notice["text"]
        assert [p.attempt for p in db.session.scalars(select(OnCallPage).order_by(OnCallPage.attempt))] == [
            1,
            2,
        ]
        assert len(_mails_to("anna@alpha.example")) == 1


def test_the_sweep_wraps_around_the_rota_once(world: World, crew: Crew) -> None:
    with tenancy.only(world.alpha.id):
        _night_rota(crew)
        escalation = make_escalation(world.alpha_ticket, crew.team)
        # Bruno was paged first (Anna was not on call yet when it came in).
        db.session.add(
            OnCallPage(
                tenant_id=world.alpha.id, escalation_id=escalation.id, user_id=crew.bruno.id, attempt=1
            )
        )
        escalation.paged_user_id, escalation.page_attempts = crew.bruno.id, 1
        escalation.page_due_at = EVENING
        db.session.flush()
    paged = []
    with tenancy.system_scope():
        for minutes in (0, 15, 30, 45):
            oncall.sweep(EVENING + timedelta(minutes=minutes))
            paged.append(escalation.paged_user_id)
    assert paged == [crew.carla.id, crew.anna.id, crew.anna.id, crew.anna.id]
    assert escalation.page_due_at is None


def test_two_sweeps_racing_for_the_same_page_send_it_once(world: World, crew: Crew) -> None:
    with tenancy.only(world.alpha.id):
        _night_rota(crew)
        escalation = make_escalation(world.alpha_ticket, crew.team)
        oncall.page(escalation, EVENING)
        # The other sweep has just committed attempt 2 (to Bruno); this one still sees attempt 1.
        db.session.add(
            OnCallPage(
                tenant_id=world.alpha.id, escalation_id=escalation.id, user_id=crew.bruno.id, attempt=2
            )
        )
        db.session.flush()
        assert oncall.page(escalation, EVENING + timedelta(minutes=15)) == crew.bruno
        assert escalation.page_attempts == 1  # left for the sweep that paged to record
        assert _mails_to("bruno@alpha.example") == []


def test_acknowledging_stops_the_pages(world: World, crew: Crew) -> None:
    with tenancy.only(world.alpha.id):
        _night_rota(crew)
        escalation = make_escalation(world.alpha_ticket, crew.team)
        oncall.page(escalation, EVENING)
        assert escalations.acknowledge(escalation, crew.anna, EVENING + timedelta(minutes=5))
        assert (escalation.status, escalation.acknowledged_by_id, escalation.page_due_at) == (
            "acknowledged",
            crew.anna.id,
            None,
        )
        assert not escalations.acknowledge(escalation, crew.bruno, EVENING + timedelta(minutes=6))
        assert escalation.acknowledged_by_id == crew.anna.id
    with tenancy.system_scope():
        assert oncall.sweep(EVENING + timedelta(hours=1)) == 0
    assert oncall.oncall_sweep.name in {item.job.name for item in scheduler.sweeps().values()}
    assert scheduler.sweeps()["oncall_sweep"].every == timedelta(minutes=1)


def test_urgent_escalations_page_outside_working_hours_only(world: World, crew: Crew) -> None:
    with tenancy.only(world.alpha.id):
        urgent = make_escalation(world.alpha_ticket, crew.team)
        calm = make_escalation(world.alpha_ticket, crew.team, urgent=False)
        assert not oncall.should_page(urgent, EVENING)  # no calendar: the team works around the clock
        office = BusinessCalendar(
            tenant_id=world.alpha.id,
            name="Office",
            timezone="Europe/Zurich",
            hours={str(day): [["08:00", "12:00"], ["13:00", "18:00"]] for day in range(5)},
        )
        db.session.add(office)
        db.session.flush()
        crew.team.calendar_id = office.id
        assert not oncall.should_page(urgent, MONDAY + timedelta(hours=9))  # 10:00 in Zurich
        assert oncall.should_page(urgent, MONDAY + timedelta(hours=11, minutes=30))  # lunch
        assert oncall.should_page(urgent, EVENING)
        assert oncall.should_page(urgent, MONDAY - timedelta(days=1, hours=-10))  # Sunday
        assert not oncall.should_page(calm, EVENING)
        office.always_open = True
        assert not oncall.should_page(urgent, EVENING)


def test_the_demo_rota_splits_nights_and_weekends(world: World, crew: Crew) -> None:
    with tenancy.only(world.alpha.id):
        team = make_team(world.alpha, "Demo", timezone="Europe/Zurich")
        demo_oncall.seed(team, [crew.anna, crew.bruno])
        demo_oncall.seed(team, [crew.anna, crew.bruno])  # idempotent
        assert len(rota.slots_of(team)) == 16
        tuesday_night = MONDAY + timedelta(days=1, hours=1)  # Tuesday 02:00
        saturday = MONDAY + timedelta(days=5, hours=11)
        monday_dawn = MONDAY + timedelta(days=7, hours=5)  # the weekend's last hours
        assert rota.on_call(team, tuesday_night) == [crew.anna, crew.bruno]
        assert rota.on_call(team, saturday) == [crew.bruno, crew.anna]
        assert rota.on_call(team, monday_dawn) == [crew.bruno, crew.anna]
        assert rota.on_call(team, MONDAY + timedelta(hours=10)) == []  # office hours
