"""The SLA settings pages: who may edit which client's policies and calendars, and what a
mistake in the form says."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from core import tenancy
from core.extensions import db
from sla import calendars, policies
from sla.models import BusinessCalendar, CalendarHoliday, SlaPolicy
from tests.conftest import csrf_token, sign_in
from tests.factories import World

WEEK = {f"hours_{day}": "08:00-12:00, 13:00-17:00" if day < 5 else "" for day in range(7)}


def _post(client: FlaskClient, url: str, data: dict[str, str], page: str | None = None) -> tuple[int, str]:
    token = csrf_token(client, page or url)
    response = client.post(url, data={"csrf_token": token, **data}, follow_redirects=True)
    return response.status_code, response.get_data(as_text=True)


def _calendar(world: World, name: str = "Office") -> BusinessCalendar:
    with tenancy.system_scope():
        return calendars.create(
            calendars.CalendarInput(
                tenant_id=world.alpha.id, name=name, timezone="Europe/Zurich", hours={"0": "08:00-17:00"}
            )
        )


def test_a_client_admin_sets_up_a_calendar_and_a_policy(client: FlaskClient, world: World) -> None:
    sign_in(client, "admin@alpha.example")
    page = client.get("/sla/").get_data(as_text=True)
    assert "No policies yet" in page
    status, page = _post(
        client,
        "/sla/calendars/new",
        {
            "name": "Office Zurich",
            "timezone": "Europe/Zurich",
            "holiday_country": "CH",
            "holiday_subdivision": "zh",
            **WEEK,
        },
    )
    assert status == 200
    assert "Calendar saved." in page
    with tenancy.system_scope():
        calendar = db.session.scalar(select(BusinessCalendar).where(BusinessCalendar.name == "Office Zurich"))
    assert calendar.tenant_id == world.alpha.id
    assert calendar.hours["0"] == [["08:00", "12:00"], ["13:00", "17:00"]]
    assert calendar.holiday_subdivision == "ZH"
    status, page = _post(
        client,
        "/sla/policies/new",
        {
            "name": "Business hours",
            "calendar_id": str(calendar.id),
            "warn_percent": "75",
            "active": "1",
            "target_first_response_urgent": "15",
            "position": "0",
        },
    )
    assert status == 200
    assert "SLA policy saved." in page
    assert "Business hours" in page
    assert "Office Zurich" in page
    with tenancy.system_scope():
        policy = db.session.scalar(select(SlaPolicy).where(SlaPolicy.name == "Business hours"))
    assert policy.targets == {"first_response": {"urgent": 15}}


def test_a_calendar_without_any_hours_is_refused_with_a_clear_message(
    client: FlaskClient, world: World
) -> None:
    sign_in(client, "admin@alpha.example")
    status, page = _post(client, "/sla/calendars/new", {"name": "Empty", "timezone": "Europe/Zurich"})
    assert status == 422
    assert "needs working hours on at least one day" in page
    status, _page = _post(
        client, "/sla/calendars/new", {"name": "Always", "timezone": "Europe/Zurich", "always_open": "1"}
    )
    assert status == 200


def test_calendar_mistakes_are_named_at_their_field(client: FlaskClient, world: World) -> None:
    sign_in(client, "admin@alpha.example")
    _calendar(world, "Taken")
    status, page = _post(
        client,
        "/sla/calendars/new",
        {
            "name": "Taken",
            "timezone": "Mars/Olympus",
            "hours_0": "08:00-12:00, 11:00-14:00",
            "hours_1": "17:00-09:00",
            "hours_2": "morning",
            "holiday_country": "CH",
            "holiday_subdivision": "XX",
        },
    )
    assert status == 422
    for message in (
        "Choose a valid time zone",
        "The intervals of a day must not overlap.",
        "Each interval must end after it starts (17:00-09:00).",
        "Write the hours as 08:00-12:00",
        "This region is not known for that country.",
    ):
        assert message in page, message
    status, page = _post(client, "/sla/calendars/new", {"name": "Taken", "timezone": "Europe/Zurich", **WEEK})
    assert status == 422
    assert "This client already has a calendar of that name." in page


def test_holidays_are_pasted_copied_and_removed(client: FlaskClient, world: World) -> None:
    calendar = _calendar(world)
    sign_in(client, "admin@alpha.example")
    url = f"/sla/calendars/{calendar.id}"
    status, page = _post(
        client,
        url + "/holidays",
        {"source": "lines", "lines": "2026-12-24 Heiligabend\n2026-12-31 Silvester"},
        url,
    )
    assert "2 holidays added." in page
    assert "Heiligabend" in page
    status, page = _post(
        client, url + "/holidays", {"source": "lines", "lines": "24.12.2026 Heiligabend"}, url
    )
    assert status == 422
    assert "Line 1: write the date as YYYY-MM-DD, then the name." in page
    status, page = _post(
        client,
        url + "/holidays",
        {"source": "national", "country": "CH", "subdivision": "ZH", "years": "1"},
        url,
    )
    assert status == 200
    assert "holidays added." in page
    with tenancy.system_scope():
        days = {h.day.isoformat(): h for h in calendars.holidays_of(calendar)}
    assert "2026-12-24" in days
    assert len(days) > 5
    status, page = _post(client, f"{url}/holidays/{days['2026-12-24'].id}/delete", {}, url)
    assert "Holiday removed." in page
    with tenancy.system_scope():
        left = db.session.scalars(
            select(CalendarHoliday.id).where(CalendarHoliday.calendar_id == calendar.id)
        )
        assert days["2026-12-24"].id not in set(left)


def test_a_calendar_in_use_is_not_deleted(client: FlaskClient, world: World) -> None:
    calendar = _calendar(world)
    with tenancy.system_scope():
        policies.create(
            policies.PolicyInput(tenant_id=world.alpha.id, name="Uses it", calendar_id=calendar.id)
        )
    sign_in(client, "admin@alpha.example")
    url = f"/sla/calendars/{calendar.id}"
    _status, page = _post(client, url + "/delete", {}, url)
    assert "This calendar is still used by Uses it" in page
    with tenancy.system_scope():
        assert db.session.get(BusinessCalendar, calendar.id) is not None


def test_policy_mistakes_and_foreign_ids_are_field_errors(client: FlaskClient, world: World) -> None:
    sign_in(client, "admin@alpha.example")
    status, page = _post(
        client,
        "/sla/policies/new",
        {
            "name": "Sneaky",
            "warn_percent": "80",
            "organization_id": str(world.beta_organization.id),
            "calendar_id": str(world.beta_calendar.id),
            "target_resolution_low": "a week",
        },
    )
    assert status == 422
    assert "Choose one of this client&#39;s organisations." in page
    assert "Choose one of this client&#39;s calendars." in page
    assert "A target is a whole number of minutes" in page
    assert "Durand SARL" not in page


def test_a_supervisor_edits_the_policies_of_the_clients_they_supervise(
    client: FlaskClient, world: World
) -> None:
    with tenancy.system_scope():
        policy = policies.create(policies.PolicyInput(tenant_id=world.alpha.id, name="Alpha default"))
    sign_in(client, "supervisor@provider.example")
    page = client.get("/sla/").get_data(as_text=True)
    assert "Alpha default" in page
    assert "Standard" not in page  # beta's policy
    status, page = _post(
        client, f"/sla/policies/{policy.id}", {"name": "Alpha renamed", "warn_percent": "90", "position": "2"}
    )
    assert status == 200
    assert "Alpha renamed" in page
    assert client.get(f"/sla/policies/{world.beta_policy.id}").status_code == 404
    assert client.get(f"/sla/policies/new?tenant_id={world.beta.id}").status_code == 404


def test_a_provider_admin_chooses_the_client(client: FlaskClient, world: World) -> None:
    sign_in(client, "admin@provider.example")
    page = client.get("/sla/").get_data(as_text=True)
    assert "Standard" in page
    assert "Bureau" in page
    assert "Choose a client to add a policy" in page
    page = client.get(f"/sla/?tenant_id={world.beta.id}").get_data(as_text=True)
    assert f"/sla/policies/new?tenant_id={world.beta.id}" in page


def test_experts_and_agents_do_not_see_the_settings(client: FlaskClient, world: World) -> None:
    sign_in(client, "expert@alpha.example")
    assert client.get("/sla/").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/profile")})
    sign_in(client, "agent.alpha@provider.example")
    assert client.get("/sla/").status_code == 403
