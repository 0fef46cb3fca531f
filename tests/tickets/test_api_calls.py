"""The calls API: calls the telephony system reported, and call logs on tickets."""

from __future__ import annotations

from flask.testing import FlaskClient

from core import jobs, tenancy
from tests.conftest import api_as
from tests.factories import ALPHA_PHONE, World
from tickets import calls

CALL_LOG = {
    "caller": "+41 79 555 12 34",
    "dialled": ALPHA_PHONE,
    "direction": "inbound",
    "duration_seconds": 270,
    "outcome": "solved",
    "notes": "Reset the printer together; it prints again.",
}


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()["error"]


def test_calls_are_listed_per_scope_and_filtered(client: FlaskClient, world: World) -> None:
    with tenancy.system_scope():
        ended = calls.apply_event(
            world.alpha.id, calls.CallEvent("call.ended", "alpha-call-1", "+41795551234", ALPHA_PHONE)
        )
        jobs.commit()
    both = api_as(client, "agent.both@provider.example")
    listed = both.get("/api/v1/calls").get_json()["data"]
    assert [c["id"] for c in listed] == [ended.id, world.beta_call.id]
    ringing = both.get("/api/v1/calls?status=ringing").get_json()["data"]
    assert [(c["id"], c["caller"], c["status"]) for c in ringing] == [
        (world.beta_call.id, "+33611223344", "ringing")
    ]
    assert [c["id"] for c in both.get(f"/api/v1/calls?tenant_id={world.alpha.id}").get_json()["data"]] == [
        ended.id
    ]
    first = both.get("/api/v1/calls?limit=1").get_json()
    second = both.get(f"/api/v1/calls?limit=1&cursor={first['next_cursor']}").get_json()
    assert [c["id"] for c in first["data"] + second["data"]] == [ended.id, world.beta_call.id]
    assert second["next_cursor"] is None
    assert _error(both.get("/api/v1/calls?status=busy"), 400)["fields"] == {"status": "Invalid value."}

    alpha = api_as(client, "agent.alpha@provider.example")
    assert [c["id"] for c in alpha.get("/api/v1/calls").get_json()["data"]] == [ended.id]


def test_one_call(client: FlaskClient, world: World) -> None:
    both = api_as(client, "agent.both@provider.example")
    call = both.get(f"/api/v1/calls/{world.beta_call.id}").get_json()
    assert (call["tenant_id"], call["external_id"], call["status"]) == (
        world.beta.id,
        "beta-call-1",
        "ringing",
    )
    alpha = api_as(client, "agent.alpha@provider.example")
    assert _error(alpha.get(f"/api/v1/calls/{world.beta_call.id}"), 404)["code"] == "not_found"


def test_log_a_call_on_a_ticket_books_its_time(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    path = f"/api/v1/tickets/{world.alpha_ticket.id}"
    response = api.post(f"{path}/calls", json=CALL_LOG)
    assert response.status_code == 201, response.get_json()
    message = response.get_json()
    assert message["kind"] == "call_log"
    assert message["body"] == CALL_LOG["notes"]
    assert message["author_user_id"] == world.agent_alpha.id
    assert message["data"] == {
        "caller": "+41795551234",
        "dialled": ALPHA_PHONE,
        "direction": "inbound",
        "duration_seconds": 270,
        "outcome": "solved",
    }
    assert [m["kind"] for m in api.get(f"{path}/messages").get_json()["data"]] == [
        "inbound",
        "system",
        "call_log",
    ]
    assert api.get(path).get_json()["time_spent_seconds"] == 270
    entries = api.get(f"{path}/time").get_json()["data"]
    assert [(e["source"], e["seconds"], e["user_id"]) for e in entries] == [
        ("call", 270, world.agent_alpha.id)
    ]


def test_a_call_without_duration_books_no_time(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    path = f"/api/v1/tickets/{world.alpha_ticket.id}"
    body = {**CALL_LOG, "duration_seconds": 0, "outcome": "no_answer", "direction": "outbound"}
    assert api.post(f"{path}/calls", json=body).status_code == 201
    assert api.get(path).get_json()["time_spent_seconds"] == 0
    assert api.get(f"{path}/time").get_json()["data"] == []


def test_call_log_validation(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    path = f"/api/v1/tickets/{world.alpha_ticket.id}/calls"
    bad_numbers = api.post(path, json={**CALL_LOG, "caller": "unknown", "dialled": "12"})
    assert _error(bad_numbers, 422)["fields"] == {
        "caller": "This is not a valid phone number.",
        "dialled": "This is not a valid phone number.",
    }
    fields = _error(
        api.post(
            path, json={**CALL_LOG, "duration_seconds": -1, "outcome": "maybe", "direction": "sideways"}
        ),
        422,
    )["fields"]
    assert set(fields) == {"duration_seconds", "outcome", "direction"}
    assert fields["duration_seconds"] == "Must be at least 0."
    too_long = api.post(path, json={**CALL_LOG, "duration_seconds": 13 * 3600})
    assert set(_error(too_long, 422)["fields"]) == {"duration_seconds"}
    missing = _error(api.post(path, json={"notes": "x"}), 422)["fields"]
    assert set(missing) == {"caller", "dialled", "duration_seconds", "outcome"}
    assert (
        api.get(f"/api/v1/tickets/{world.alpha_ticket.id}/messages").get_json()["data"][-1]["kind"]
        == "system"  # the acknowledgement; no call log was added
    )


def test_no_call_log_on_a_closed_ticket(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    path = f"/api/v1/tickets/{world.alpha_ticket.id}"
    assert api.patch(path, json={"status": "closed"}).status_code == 200
    assert _error(api.post(f"{path}/calls", json=CALL_LOG), 409)["code"] == "conflict"


def test_call_log_on_another_clients_ticket_is_404(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    assert _error(api.post(f"/api/v1/tickets/{world.beta_ticket.id}/calls", json=CALL_LOG), 404)
    assert api_as(client, "expert@alpha.example").get("/api/v1/calls").status_code == 403
