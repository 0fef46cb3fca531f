"""Shift planning: the rules a planner is told about, clock changes, who plans whom, the week page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from agents import shifts
from agents.models import AgentShift
from core import jobs, tenancy
from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.extensions import db
from core.models_base import utcnow
from tests.conftest import csrf_token, sign_in
from tests.factories import World

ZURICH = "Europe/Zurich"
BEFORE_SPRING = datetime(2026, 3, 20, 12, tzinfo=UTC)  # "now" for the 2026 clock changes
BEFORE_AUTUMN = datetime(2026, 10, 20, 12, tzinfo=UTC)


def _shift(user_id: int, starts: str, ends: str, timezone: str = ZURICH, note: str = "") -> shifts.ShiftInput:
    return shifts.ShiftInput(
        user_id, datetime.fromisoformat(starts), datetime.fromisoformat(ends), timezone, note
    )


def _refused(data: shifts.ShiftInput, actor, *, now: datetime = BEFORE_SPRING, weeks: int = 1) -> dict:
    with pytest.raises(ValidationFailed) as caught:
        shifts.add(data, actor, weeks=weeks, now=now)
    return {key: str(value) for key, value in caught.value.fields.items()}


def _count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(AgentShift).where(AgentShift.user_id == user_id)
    )


# --- the rules --------------------------------------------------------------------------------


def test_a_shift_must_end_after_it_starts_and_last_at_most_16_hours(world: World, system: None) -> None:
    agent = world.agent_alpha.id
    assert _refused(_shift(agent, "2026-03-24T16:00", "2026-03-24T08:00"), world.admin) == {
        "ends": "The shift must end after it starts."
    }
    assert _refused(_shift(agent, "2026-03-24T06:00", "2026-03-24T22:30"), world.admin) == {
        "ends": "A shift lasts at most 16 hours."
    }
    exactly_16 = shifts.add(
        _shift(agent, "2026-03-24T06:00", "2026-03-24T22:00"), world.admin, now=BEFORE_SPRING
    )
    assert exactly_16[0].ends_at - exactly_16[0].starts_at == timedelta(hours=16)


def test_an_agents_shifts_may_not_overlap_but_may_touch(world: World, system: None) -> None:
    agent = world.agent_alpha.id
    shifts.add(_shift(agent, "2026-03-24T08:00", "2026-03-24T16:00"), world.admin, now=BEFORE_SPRING)
    errors = _refused(_shift(agent, "2026-03-24T15:00", "2026-03-24T20:00"), world.admin)
    assert errors == {
        "overlap": "Agent.Alpha already works from 3/24/26, 8:00\u202fAM to 3/24/26, 4:00\u202fPM."
    }
    shifts.add(_shift(agent, "2026-03-24T16:00", "2026-03-24T20:00"), world.admin, now=BEFORE_SPRING)
    # Another agent's shift at the same time is no clash.
    shifts.add(
        _shift(world.agent_both.id, "2026-03-24T15:00", "2026-03-24T20:00"), world.admin, now=BEFORE_SPRING
    )
    assert _count(agent) == 2


def test_only_agents_and_supervisors_work_shifts(world: World, system: None) -> None:
    for user in (world.admin, world.alpha_admin):
        assert _refused(_shift(user.id, "2026-03-24T08:00", "2026-03-24T16:00"), world.admin) == {
            "user": "Only agents and supervisors work shifts."
        }
    shifts.add(
        _shift(world.supervisor.id, "2026-03-24T08:00", "2026-03-24T16:00"), world.admin, now=BEFORE_SPRING
    )


def test_a_shift_may_start_at_most_a_day_in_the_past(world: World, system: None) -> None:
    now = datetime(2026, 3, 24, 12, tzinfo=UTC)
    assert _refused(
        _shift(world.agent_alpha.id, "2026-03-23T06:00", "2026-03-23T10:00", "UTC"), world.admin, now=now
    ) == {"starts": "A shift cannot start more than a day in the past."}
    # A shift logged afterwards, the same or the previous day, is fine.
    shifts.add(
        _shift(world.agent_alpha.id, "2026-03-23T14:00", "2026-03-23T20:00", "UTC"), world.admin, now=now
    )


def test_every_problem_is_reported_at_once(world: World, system: None) -> None:
    errors = _refused(
        _shift(world.agent_alpha.id, "2026-03-01T10:00", "2026-03-01T09:00", note="x" * 201),
        world.admin,
        weeks=40,
    )
    assert set(errors) == {"ends", "starts", "weeks", "note"}
    assert errors["weeks"] == "Repeat a shift for 1 to 26 weeks."


# --- clock changes ----------------------------------------------------------------------------


def test_a_night_shift_over_the_clock_change_has_its_real_length(world: World, system: None) -> None:
    spring = shifts.add(
        _shift(world.agent_alpha.id, "2026-03-28T22:00", "2026-03-29T06:00"), world.admin, now=BEFORE_SPRING
    )[0]
    assert (spring.starts_at, spring.ends_at) == (
        datetime(2026, 3, 28, 21, tzinfo=UTC),
        datetime(2026, 3, 29, 4, tzinfo=UTC),
    )
    assert spring.ends_at - spring.starts_at == timedelta(hours=7)
    autumn = shifts.add(
        _shift(world.agent_alpha.id, "2026-10-24T22:00", "2026-10-25T06:00"), world.admin, now=BEFORE_AUTUMN
    )[0]
    assert autumn.ends_at - autumn.starts_at == timedelta(hours=9)
    # 22:00 to 13:00 is 15 hours on an ordinary night, 16 over the autumn change: both allowed,
    # but 22:00 to 14:00 over the autumn change is 17 hours.
    errors = _refused(
        _shift(world.agent_both.id, "2026-10-24T22:00", "2026-10-25T14:00"), world.admin, now=BEFORE_AUTUMN
    )
    assert errors == {"ends": "A shift lasts at most 16 hours."}


def test_a_time_the_clocks_skip_is_refused(world: World, system: None) -> None:
    errors = _refused(_shift(world.agent_alpha.id, "2026-03-29T02:30", "2026-03-29T08:00"), world.admin)
    assert errors == {"starts": "2:30\u202fAM does not exist on that day: the clocks go forward."}


def test_a_weekly_series_keeps_its_wall_clock_times_over_a_clock_change(world: World, system: None) -> None:
    series = shifts.add(
        _shift(world.agent_alpha.id, "2026-03-21T22:00", "2026-03-22T06:00", note="Nacht"),
        world.admin,
        weeks=3,
        now=BEFORE_SPRING,
    )
    assert [s.starts_at for s in series] == [
        datetime(2026, 3, 21, 21, tzinfo=UTC),  # winter time, UTC+1
        datetime(2026, 3, 28, 21, tzinfo=UTC),  # the night of the change: starts in winter time
        datetime(2026, 4, 4, 20, tzinfo=UTC),  # summer time, UTC+2
    ]
    assert [(s.ends_at - s.starts_at).total_seconds() / 3600 for s in series] == [8, 7, 8]
    assert {s.note for s in series} == {"Nacht"}


def test_a_series_that_clashes_in_one_week_plans_nothing(world: World, system: None) -> None:
    agent = world.agent_alpha.id
    shifts.add(_shift(agent, "2026-04-07T10:00", "2026-04-07T12:00"), world.admin, now=BEFORE_SPRING)
    errors = _refused(_shift(agent, "2026-03-24T08:00", "2026-03-24T16:00"), world.admin, weeks=4)
    assert errors["overlap"].startswith("Agent.Alpha already works from 4/7/26")
    assert _count(agent) == 1


def test_repeat_copies_a_shift_to_the_following_weeks_and_edit_and_delete_work(
    world: World, system: None
) -> None:
    first = shifts.add(
        _shift(world.agent_alpha.id, "2026-03-24T08:00", "2026-03-24T16:00"), world.admin, now=BEFORE_SPRING
    )[0]
    copies = shifts.repeat(first, 2, ZURICH, world.supervisor, now=BEFORE_SPRING)
    # 08:00 in Zurich: 07:00 UTC before the change, 06:00 after it.
    assert [c.starts_at for c in copies] == [
        datetime(2026, 3, 31, 6, tzinfo=UTC),
        datetime(2026, 4, 7, 6, tzinfo=UTC),
    ]
    # Editing a shift does not clash with itself.
    shifts.update(
        first,
        _shift(world.agent_alpha.id, "2026-03-24T09:00", "2026-03-24T17:00"),
        world.supervisor,
        now=BEFORE_SPRING,
    )
    assert first.starts_at == datetime(2026, 3, 24, 8, tzinfo=UTC)
    shifts.delete(copies[0], world.supervisor)
    assert _count(world.agent_alpha.id) == 2
    with pytest.raises(PermissionDenied):
        shifts.delete(first, world.agent_alpha)


# --- who plans whom ---------------------------------------------------------------------------


def test_a_supervisor_plans_the_staff_of_their_clients_only(world: World) -> None:
    with tenancy.using(tenancy.tenants([world.alpha.id])):
        planned = [u.email for u in shifts.plannable_users(world.supervisor)]
        assert planned == [
            "agent.alpha@provider.example",
            "agent.both@provider.example",
            "supervisor@provider.example",
        ]
        errors = _refused(
            _shift(world.beta_agent.id, "2026-03-24T08:00", "2026-03-24T16:00"), world.supervisor
        )
        assert errors == {"user": "Choose a member of your staff."}
        with pytest.raises(NotFound):
            shifts.get(world.beta_shift.id, world.supervisor)
        assert [u.email for u in shifts.plannable_users(world.agent_alpha)] == [
            "agent.alpha@provider.example"
        ]
    with tenancy.system_scope():
        assert world.beta_agent in shifts.plannable_users(world.admin)
        assert shifts.get(world.beta_shift.id, world.admin) is world.beta_shift
        with pytest.raises(PermissionDenied):
            shifts.add(
                _shift(world.agent_alpha.id, "2026-03-24T08:00", "2026-03-24T16:00"), world.agent_alpha
            )


# --- the pages --------------------------------------------------------------------------------


def _next_monday() -> date:
    today = utcnow().date()
    return today + timedelta(days=7 - today.weekday())


def test_a_supervisor_plans_a_night_shift_on_the_week_page_in_their_time_zone(
    client: FlaskClient, world: World
) -> None:
    with tenancy.system_scope():
        world.supervisor.timezone = ZURICH
        jobs.commit()
    sign_in(client, "supervisor@provider.example")
    # The spring clock change of 2027 (28 March), in the future whatever day the suite runs.
    token = csrf_token(client, "/agent/shifts?week=2027-03-22")
    response = client.post(
        "/agent/shifts",
        data={
            "csrf_token": token,
            "user": world.agent_alpha.id,
            "day": "2027-03-27",
            "starts": "22:00",
            "ends": "06:00",
            "weeks": "1",
            "note": "Pikett",
        },
    )
    assert response.status_code == 302
    assert "week=2027-03-22" in response.headers["Location"]
    with tenancy.system_scope():
        shift = db.session.scalar(select(AgentShift).where(AgentShift.user_id == world.agent_alpha.id))
        assert (shift.starts_at, shift.ends_at) == (
            datetime(2027, 3, 27, 21, tzinfo=UTC),
            datetime(2027, 3, 28, 4, tzinfo=UTC),
        )
    page = client.get("/agent/shifts?week=2027-03-24").get_data(as_text=True)
    assert "Shift planned." in page
    assert "10:00\u202fPM–6:00\u202fAM" in page
    assert "Pikett" in page
    assert "Times in Europe/Zurich" in page
    assert "Agent.Both" in page
    assert "Agent.Beta" not in page
    assert f"/agent/shifts/{shift.id}" in page
    # The row's total: the night has 7 hours.
    row = page.split(f'id="staff-{world.agent_alpha.id}"')[1].split("</tr>")[0]
    assert "<td>7</td>" in row


def test_a_refused_shift_shows_why_and_plans_nothing(client: FlaskClient, world: World) -> None:
    sign_in(client, "supervisor@provider.example")
    monday = _next_monday()
    token = csrf_token(client, "/agent/shifts")
    response = client.post(
        "/agent/shifts",
        data={
            "csrf_token": token,
            "user": world.agent_alpha.id,
            "day": monday.isoformat(),
            "starts": "04:00",
            "ends": "22:00",
            "weeks": "1",
        },
    )
    assert response.status_code == 422
    assert "A shift lasts at most 16 hours." in response.get_data(as_text=True)
    response = client.post(
        "/agent/shifts",
        data={
            "csrf_token": token,
            "user": world.beta_agent.id,
            "day": monday.isoformat(),
            "starts": "08:00",
            "ends": "12:00",
        },
    )
    assert response.status_code == 422
    assert "Choose a member of your staff." in response.get_data(as_text=True)
    with tenancy.system_scope():
        assert db.session.scalar(select(func.count()).select_from(AgentShift)) == 1  # the world's own


def test_edit_repeat_and_delete_from_the_shift_page(client: FlaskClient, world: World) -> None:
    monday = _next_monday()
    with tenancy.system_scope():
        shift = shifts.add(
            _shift(world.agent_both.id, f"{monday}T08:00", f"{monday}T16:00", "UTC"), world.admin
        )[0]
        jobs.commit()
    sign_in(client, "supervisor@provider.example")
    token = csrf_token(client, f"/agent/shifts/{shift.id}")
    response = client.post(
        f"/agent/shifts/{shift.id}",
        data={
            "csrf_token": token,
            "user": world.agent_both.id,
            "day": monday.isoformat(),
            "starts": "09:00",
            "ends": "17:00",
        },
    )
    assert response.status_code == 302
    response = client.post(f"/agent/shifts/{shift.id}/repeat", data={"csrf_token": token, "weeks": "2"})
    assert response.status_code == 302
    with tenancy.system_scope():
        assert _count(world.agent_both.id) == 3
    # Once more: those weeks are taken now; the repeat form says so and nothing is added.
    response = client.post(f"/agent/shifts/{shift.id}/repeat", data={"csrf_token": token, "weeks": "1"})
    assert response.status_code == 422
    repeat_form = response.get_data(as_text=True).split("<h2>Repeat</h2>")[1]
    assert "Agent.Both already works from" in repeat_form
    with tenancy.system_scope():
        assert _count(world.agent_both.id) == 3
    page = client.get(f"/agent/shifts?week={monday + timedelta(weeks=2)}").get_data(as_text=True)
    assert "9:00\u202fAM–5:00\u202fPM" in page
    response = client.post(f"/agent/shifts/{shift.id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    with tenancy.system_scope():
        assert _count(world.agent_both.id) == 2


def test_agents_read_their_own_shifts_only_and_cannot_plan(client: FlaskClient, world: World) -> None:
    monday = _next_monday()
    with tenancy.system_scope():
        mine = shifts.add(
            _shift(world.agent_alpha.id, f"{monday}T06:00", f"{monday}T14:00", "UTC"), world.admin
        )[0]
        shifts.add(_shift(world.agent_both.id, f"{monday}T06:00", f"{monday}T14:00", "UTC"), world.admin)
        jobs.commit()
    sign_in(client, "agent.alpha@provider.example")
    page = client.get(f"/agent/shifts?week={monday}").get_data(as_text=True)
    assert "6:00\u202fAM–2:00\u202fPM" in page
    assert "Agent.Both" not in page
    assert "Plan a shift" not in page
    assert f"/agent/shifts/{mine.id}" not in page
    token = csrf_token(client, "/agent/shifts")
    assert client.get(f"/agent/shifts/{mine.id}").status_code == 403
    assert client.post(f"/agent/shifts/{mine.id}/delete", data={"csrf_token": token}).status_code == 403
    response = client.post(
        "/agent/shifts",
        data={
            "csrf_token": token,
            "user": world.agent_alpha.id,
            "day": monday.isoformat(),
            "starts": "08:00",
            "ends": "12:00",
        },
    )
    assert response.status_code == 403


def test_client_staff_do_not_see_shifts(client: FlaskClient, world: World) -> None:
    sign_in(client, "admin@alpha.example")
    assert client.get("/agent/shifts").status_code == 403


def test_a_supervisor_cannot_touch_the_shifts_of_another_clients_agent(
    client: FlaskClient, world: World
) -> None:
    sign_in(client, "supervisor@provider.example")
    token = csrf_token(client, "/agent/shifts")
    assert client.get(f"/agent/shifts/{world.beta_shift.id}").status_code == 404
    assert (
        client.post(f"/agent/shifts/{world.beta_shift.id}/delete", data={"csrf_token": token}).status_code
        == 404
    )
    assert (
        client.post(
            f"/agent/shifts/{world.beta_shift.id}/repeat", data={"csrf_token": token, "weeks": "1"}
        ).status_code
        == 404
    )
    with tenancy.system_scope():
        assert db.session.get(AgentShift, world.beta_shift.id) is not None
    fresh = client.application.test_client()
    sign_in(fresh, "admin@provider.example")
    assert fresh.get(f"/agent/shifts/{world.beta_shift.id}").status_code == 200
