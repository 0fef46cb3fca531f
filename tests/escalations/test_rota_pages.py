"""The portal's team pages: the rota and the delivery log, for the client's admins and the team's
own experts only, and the one-click acknowledge link of a page mail."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from core import jobs, tenancy
from core.extensions import db
from core.models_base import utcnow
from core.outbox import OutboxMessage
from escalations import oncall, rota
from escalations.models import Escalation, OnCallSlot, Team, WebhookDelivery
from tests.conftest import csrf_token, sign_in
from tests.escalations.conftest import Receiver, make_escalation
from tests.factories import World, make_team


@dataclass
class Teams:
    it: Team  # the alpha expert is a member
    accounting: Team  # the alpha expert is not


@pytest.fixture
def teams(world: World) -> Teams:
    with tenancy.only(world.alpha.id):
        it = make_team(world.alpha, "IT", members=(world.alpha_expert,), timezone="Europe/Zurich")
        accounting = make_team(world.alpha, "Buchhaltung", members=(world.alpha_admin,))
        jobs.commit()
    return Teams(it, accounting)


def _always(team: Team, user_id: int) -> None:
    """On call around the clock, so the page's "now" is covered whenever the test runs."""
    for day in range(7):
        rota.add_slot(team, user_id=user_id, weekday=day, start_minute=0, end_minute=24 * 60)


def _post(client: FlaskClient, path: str, data: dict[str, str] | None = None):  # noqa: ANN202
    return client.post(path, data={"csrf_token": csrf_token(client, "/profile"), **(data or {})})


def test_admins_see_every_team_and_experts_only_their_own(
    client: FlaskClient, world: World, teams: Teams
) -> None:
    sign_in(client, "expert@alpha.example")
    index = client.get("/portal/teams/").get_data(as_text=True)
    assert "IT" in index
    assert "Buchhaltung" not in index
    assert client.get(f"/portal/teams/{teams.it.id}/rota").status_code == 200
    theirs = teams.accounting.id
    assert client.get(f"/portal/teams/{theirs}/rota").status_code == 404
    assert client.get(f"/portal/teams/{theirs}/deliveries").status_code == 404
    assert (
        _post(client, f"/portal/teams/{theirs}/rota/slots", {"start": "08:00", "end": "09:00"}).status_code
        == 404
    )
    assert _post(client, f"/portal/teams/{theirs}/deliveries/test").status_code == 404

    admin = client.application.test_client()
    sign_in(admin, "admin@alpha.example")
    index = admin.get("/portal/teams/").get_data(as_text=True)
    assert "IT" in index
    assert "Buchhaltung" in index
    assert admin.get(f"/portal/teams/{theirs}/rota").status_code == 200
    assert admin.get(f"/portal/teams/{teams.it.id}/deliveries").status_code == 200


def test_another_companys_team_and_its_rota_are_not_found(
    client: FlaskClient, world: World, teams: Teams
) -> None:
    sign_in(client, "admin@alpha.example")
    assert client.get(f"/portal/teams/{world.beta_team.id}/rota").status_code == 404
    assert client.get(f"/portal/teams/{world.beta_team.id}/deliveries").status_code == 404
    # Beta's slot and override under alpha's own team id are not found either.
    own = teams.it.id
    assert _post(client, f"/portal/teams/{own}/rota/slots/{world.beta_slot.id}/delete").status_code == 404
    assert (
        _post(client, f"/portal/teams/{own}/rota/overrides/{world.beta_override.id}/delete").status_code
        == 404
    )
    with tenancy.only(world.beta.id):
        assert db.session.get(OnCallSlot, world.beta_slot.id) is not None


def test_provider_staff_do_not_use_the_client_portal(client: FlaskClient, world: World, teams: Teams) -> None:
    sign_in(client, "agent.alpha@provider.example")
    assert client.get("/portal/teams/").status_code == 403
    assert client.get(f"/portal/teams/{teams.it.id}/rota").status_code == 403


def test_the_rota_page_shows_the_week_and_who_is_on_call_now(
    client: FlaskClient, world: World, teams: Teams
) -> None:
    with tenancy.only(world.alpha.id):
        _always(teams.it, world.alpha_expert.id)
        rota.add_override(
            teams.it,
            user_id=world.alpha_expert.id,
            starts_local=datetime(2030, 7, 1, 8, 0),
            ends_local=datetime(2030, 7, 1, 18, 30),
            note="Swap with Anna",
        )
        jobs.commit()
    sign_in(client, "expert@alpha.example")
    page = client.get(f"/portal/teams/{teams.it.id}/rota").get_data(as_text=True)
    now_section = page.split('id="on-call-now"')[1].split("</section>")[0]
    assert "Expert" in now_section
    grid = page.split('id="rota-grid"')[1].split("</table>")[0]
    assert [day in grid for day in ("Monday", "Sunday")] == [True, True]
    assert grid.count("<strong>all day</strong>") == 7
    assert "Times are in Europe/Zurich." in page
    overrides = page.split('id="overrides"')[1].split("</table>")[0]
    assert "7/1/30, 8:00\u202fAM" in overrides  # the team's wall clock, as entered
    assert "6:30\u202fPM" in overrides
    assert "Swap with Anna" in overrides


def test_slots_are_added_and_removed_through_the_form(
    client: FlaskClient, world: World, teams: Teams
) -> None:
    sign_in(client, "expert@alpha.example")
    url = f"/portal/teams/{teams.it.id}/rota/slots"
    night = {
        "user_id": str(world.alpha_expert.id),
        "weekday": "0",
        "start": "18:00",
        "end": "08:00",
        "position": "0",
    }
    response = _post(client, url, night)
    assert response.status_code == 302
    page = client.get(f"/portal/teams/{teams.it.id}/rota").get_data(as_text=True)
    assert "Slot added." in page
    assert "6:00\u202fPM – 8:00\u202fAM (next day)" in page

    clash = _post(client, url, {**night, "weekday": "1", "start": "07:00", "end": "09:00"})
    assert clash.status_code == 422
    assert "overlaps Expert&#39;s slot on Monday" in clash.get_data(as_text=True)
    empty = _post(client, url, {**night, "start": "09:00", "end": "09:00"})
    assert "The slot ends when it starts" in empty.get_data(as_text=True)
    garbled = _post(client, url, {**night, "start": "25:00"})
    assert garbled.status_code == 422
    assert "Enter a time like 18:00." in garbled.get_data(as_text=True)
    stranger = _post(client, url, {**night, "user_id": str(world.alpha_admin.id), "weekday": "3"})
    assert "Choose a member of this team." in stranger.get_data(as_text=True)

    with tenancy.only(world.alpha.id):
        [slot] = rota.slots_of(teams.it)
    assert _post(client, f"/portal/teams/{teams.it.id}/rota/slots/{slot.id}/delete").status_code == 302
    with tenancy.only(world.alpha.id):
        assert rota.slots_of(teams.it) == []


def test_overrides_are_added_through_the_form(client: FlaskClient, world: World, teams: Teams) -> None:
    sign_in(client, "admin@alpha.example")
    url = f"/portal/teams/{teams.it.id}/rota/overrides"
    form = {
        "user_id": str(world.alpha_expert.id),
        "starts_at": "2030-12-24T08:00",
        "ends_at": "2030-12-27T08:00",
    }
    backwards = _post(client, url, {**form, "ends_at": "2030-12-23T08:00"})
    assert backwards.status_code == 422
    assert "The end must be after the start." in backwards.get_data(as_text=True)
    assert _post(client, url, {**form, "note": "Christmas"}).status_code == 302
    with tenancy.only(world.alpha.id):
        [override] = rota.overrides_of(teams.it)
        assert override.starts_at == datetime(2030, 12, 24, 7, tzinfo=UTC)
    assert (
        _post(client, f"/portal/teams/{teams.it.id}/rota/overrides/{override.id}/delete").status_code == 302
    )
    with tenancy.only(world.alpha.id):
        assert rota.overrides_of(teams.it) == []


def test_the_delivery_log_shows_each_attempt_in_the_readers_time_zone(
    client: FlaskClient, world: World, teams: Teams
) -> None:
    sent = datetime(2026, 12, 7, 19, 5, tzinfo=UTC)
    with tenancy.only(world.alpha.id):
        world.alpha_expert.timezone = "America/New_York"
        db.session.add(
            WebhookDelivery(
                tenant_id=world.alpha.id,
                team_id=teams.it.id,
                event="escalation.created",
                url="https://hooks.example.com/x",
                status="failed",
                attempts=2,
                response_status=500,
                error="HTTP 500: not today",
                created_at=sent,
            )
        )
        jobs.commit()
    sign_in(client, "expert@alpha.example")
    page = client.get(f"/portal/teams/{teams.it.id}/deliveries").get_data(as_text=True)
    row = page.split('class="delivery-failed"')[1].split("</tr>")[0]
    assert "escalation.created" in row
    assert format_datetime(sent, "short", tzinfo=ZoneInfo("America/New_York"), locale="en") in row
    assert "12/7/26, 2:05\u202fPM" in row
    assert "Failed, will retry" in row
    assert "<td>2</td><td>500</td>" in row
    assert "HTTP 500: not today" in row
    assert "no webhook address" in page  # this team has none: no test button


def test_a_test_event_reaches_the_teams_system(
    client: FlaskClient, world: World, teams: Teams, receiver: Receiver, loopback_webhooks
) -> None:
    with tenancy.only(world.alpha.id):
        teams.it.webhook_url = receiver.url
        receiver.secret = teams.it.webhook_secret
        jobs.commit()
    sign_in(client, "expert@alpha.example")
    assert _post(client, f"/portal/teams/{teams.it.id}/deliveries/test").status_code == 302
    [request] = receiver.requests
    assert request.signature_ok
    assert json.loads(request.body)["event"] == "ping"
    page = client.get(f"/portal/teams/{teams.it.id}/deliveries").get_data(as_text=True)
    assert "Test event sent" in page
    row = page.split('class="delivery-delivered"')[1].split("</tr>")[0]
    assert "ping" in row
    assert "Delivered" in row
    assert "<td>1</td><td>200</td>" in row


def test_a_test_event_needs_a_webhook(client: FlaskClient, world: World, teams: Teams) -> None:
    sign_in(client, "admin@alpha.example")
    _post(client, f"/portal/teams/{teams.it.id}/deliveries/test")
    page = client.get(f"/portal/teams/{teams.it.id}/deliveries").get_data(as_text=True)
    assert "This team has no webhook address; nothing was sent." in page
    with tenancy.only(world.alpha.id):
        assert db.session.scalars(select(WebhookDelivery)).all() == []


def _ack_path(world: World, escalation: Escalation) -> str:
    with tenancy.only(world.alpha.id):
        oncall.page(escalation, utcnow())
        jobs.commit()
        [mail] = [
            row.payload
            for row in db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "email"))
            if row.payload["to"] == ["expert@alpha.example"]
        ]
    url = re.search(r"http://\S+/portal/teams/ack/\S+", mail["text"]).group(0)
    return urlsplit(url).path


def test_the_page_mails_link_acknowledges_in_one_click(
    app: Flask, client: FlaskClient, world: World, teams: Teams
) -> None:
    with tenancy.only(world.alpha.id):
        _always(teams.it, world.alpha_expert.id)
        escalation = make_escalation(world.alpha_ticket, teams.it)
    path = _ack_path(world, escalation)

    assert "/login" in client.get(path).headers["Location"]  # signed out: sign in first
    someone_else = app.test_client()
    sign_in(someone_else, "admin@alpha.example")
    assert someone_else.get(path).status_code == 403  # a forwarded mail acknowledges nothing
    assert someone_else.get("/portal/teams/ack/forged-token").status_code == 404

    sign_in(client, "expert@alpha.example")
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/portal/tickets/{world.alpha_ticket.id}")
    with tenancy.only(world.alpha.id):
        escalation = db.session.get_one(Escalation, escalation.id, populate_existing=True)
        assert escalation.status == "acknowledged"
        assert escalation.acknowledged_by_id == world.alpha_expert.id
        assert escalation.page_due_at is None
    again = client.get(path, follow_redirects=False)
    assert again.status_code == 302
    assert "already acknowledged" in client.get("/portal/teams/").get_data(as_text=True)


def test_the_portal_navigation_leads_to_the_teams(client: FlaskClient, world: World, teams: Teams) -> None:
    sign_in(client, "expert@alpha.example")
    assert 'href="/portal/teams/"' in client.get("/").get_data(as_text=True)
