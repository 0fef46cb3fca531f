"""Time tracking, timers, bulk actions and the new ticket fields (tags, parent, SLA clocks) over the API."""

from __future__ import annotations

from datetime import datetime

from flask.testing import FlaskClient

from tests.conftest import Api, api_as
from tests.factories import World


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()["error"]


def _ticket(api: Api, world: World, subject: str) -> int:
    response = api.post(
        "/api/v1/tickets",
        json={
            "tenant_id": world.alpha.id,
            "subject": subject,
            "body": "Bitte helfen.",
            "email": "kim@example.ch",
        },
    )
    assert response.status_code == 202, response.get_json()
    return response.get_json()["ticket_id"]


def test_ticket_shows_sla_clocks_time_and_relations(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    ticket = api.get(f"/api/v1/tickets/{world.alpha_ticket.id}").get_json()
    for name in ("due_at", "first_response_due_at", "resolution_due_at"):
        assert datetime.fromisoformat(ticket[name]) > datetime.fromisoformat(ticket["created_at"])
    assert ticket["due_at"] == ticket["first_response_due_at"]
    assert (ticket["time_spent_seconds"], ticket["parent_id"], ticket["merged_into_id"]) == (0, None, None)
    assert "organization_id" in ticket
    # The clocks not running yet, and the escalation team, are there and empty.
    assert (ticket["next_response_due_at"], ticket["sla_paused_at"], ticket["team_id"]) == (None, None, None)


def test_book_time_by_hand(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    path = f"/api/v1/tickets/{world.alpha_ticket.id}"
    response = api.post(f"{path}/time", json={"seconds": 600, "note": "Read the manual"})
    assert response.status_code == 201, response.get_json()
    entry = response.get_json()
    assert (entry["seconds"], entry["source"], entry["note"], entry["user_id"]) == (
        600,
        "manual",
        "Read the manual",
        world.agent_alpha.id,
    )
    assert api.post(f"{path}/time", json={"seconds": 120}).status_code == 201
    assert [e["seconds"] for e in api.get(f"{path}/time").get_json()["data"]] == [600, 120]
    assert api.get(path).get_json()["time_spent_seconds"] == 720


def test_time_validation(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    path = f"/api/v1/tickets/{world.alpha_ticket.id}/time"
    assert _error(api.post(path, json={"seconds": 0}), 422)["fields"] == {"seconds": "Must be at least 1."}
    assert _error(api.post(path, json={"seconds": 12 * 3600 + 1}), 422)["fields"] == {
        "seconds": "Must be at most 43200."
    }
    assert _error(api.post(path, json={"note": "x"}), 422)["fields"] == {"seconds": "This field is required."}
    assert _error(api.post(path, json={"seconds": "lots"}), 422)["fields"] == {
        "seconds": "Must be a whole number."
    }
    assert api.get(path).get_json()["data"] == []


def test_timer_start_stop_and_twice(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    path = f"/api/v1/tickets/{world.alpha_ticket.id}"
    started = api.post(f"{path}/timer", json={"action": "start"})
    assert started.status_code == 200, started.get_json()
    assert (started.get_json()["source"], started.get_json()["seconds"]) == ("timer", None)
    again = _error(api.post(f"{path}/timer", json={"action": "start"}), 409)
    assert (again["code"], again["message"]) == ("conflict", "Your timer on this ticket is already running.")
    # Another agent has a timer of their own.
    other = api_as(client, "agent.both@provider.example")
    assert other.post(f"{path}/timer", json={"action": "start"}).status_code == 200
    assert [e["seconds"] for e in api.get(f"{path}/time").get_json()["data"]] == [None, None]

    stopped = api.post(f"{path}/timer", json={"action": "stop", "note": "Remote session"})
    assert stopped.status_code == 200
    assert stopped.get_json()["id"] == started.get_json()["id"]
    assert stopped.get_json()["seconds"] >= 1
    assert stopped.get_json()["note"] == "Remote session"
    assert api.get(path).get_json()["time_spent_seconds"] == stopped.get_json()["seconds"]
    assert _error(api.post(f"{path}/timer", json={"action": "stop"}), 409)["code"] == "conflict"
    assert set(_error(api.post(f"{path}/timer", json={"action": "pause"}), 422)["fields"]) == {"action"}


def test_time_of_another_clients_ticket_is_404(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    path = f"/api/v1/tickets/{world.beta_ticket.id}"
    assert api.get(f"{path}/time").status_code == 404
    assert api.post(f"{path}/time", json={"seconds": 60}).status_code == 404
    assert api.post(f"{path}/timer", json={"action": "start"}).status_code == 404


def test_patch_uses_the_services_for_priority_category_and_tags(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    path = f"/api/v1/tickets/{world.alpha_ticket.id}"
    before = api.get(path).get_json()
    response = api.patch(
        path, json={"priority": "urgent", "category": "fault", "tags": ["Printer", "VIP", "printer"]}
    )
    assert response.status_code == 200, response.get_json()
    after = response.get_json()
    assert (after["priority"], after["category"], after["tags"]) == ("urgent", "fault", ["printer", "vip"])
    # A new priority restarts the SLA clocks from when the ticket came in.
    assert after["resolution_due_at"] < before["resolution_due_at"]
    assert after["due_at"] < before["due_at"]
    assert api.patch(path, json={"tags": []}).get_json()["tags"] == []
    bad = _error(api.patch(path, json={"tags": ["two words"]}), 422)
    assert set(bad["fields"]) == {"tags"}
    assert _error(api.patch(path, json={"tags": "printer"}), 422)["fields"] == {"tags": "Must be a list."}


def test_patch_links_and_unlinks_a_parent_ticket(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    child = _ticket(api, world, "Also no printing")
    path = f"/api/v1/tickets/{child}"
    assert (
        api.patch(path, json={"parent_id": world.alpha_ticket.id}).get_json()["parent_id"]
        == world.alpha_ticket.id
    )
    circle = api.patch(f"/api/v1/tickets/{world.alpha_ticket.id}", json={"parent_id": child})
    assert _error(circle, 422)["fields"] == {"parent_id": "A ticket cannot be its own parent."}
    assert _error(api.patch(path, json={"parent_id": child}), 422)["fields"] == {
        "parent_id": "A ticket cannot be its own parent."
    }
    assert _error(api.patch(path, json={"parent_id": world.beta_ticket.id}), 404)["fields"] == {
        "parent_id": "Not found."
    }
    # An agent serving both clients still cannot relate tickets across them.
    both = api_as(client, "agent.both@provider.example")
    assert _error(both.patch(path, json={"parent_id": world.beta_ticket.id}), 404)["fields"] == {
        "parent_id": "Not found."
    }
    assert api.get(path).get_json()["parent_id"] == world.alpha_ticket.id
    assert api.patch(path, json={"parent_id": None}).get_json()["parent_id"] is None


def test_bulk_status_change_reports_what_failed(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    closed, pending = _ticket(api, world, "Closed already"), _ticket(api, world, "Waiting")
    assert api.patch(f"/api/v1/tickets/{closed}", json={"status": "closed"}).status_code == 200
    assert api.patch(f"/api/v1/tickets/{pending}", json={"status": "pending_customer"}).status_code == 200
    response = api.post(
        "/api/v1/tickets/bulk",
        json={
            "ticket_ids": [world.alpha_ticket.id, closed, pending, world.beta_ticket.id],
            "action": "status",
            "value": "open",
        },
    )
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert result["done"] == [world.alpha_ticket.id, pending]
    assert result["failed"] == {
        str(closed): "A ticket that is Closed cannot become Open.",
        str(world.beta_ticket.id): "This ticket does not exist or is not yours to see.",
    }
    assert result["merged_into"] is None
    statuses = {
        i: api.get(f"/api/v1/tickets/{i}").get_json()["status"]
        for i in (world.alpha_ticket.id, closed, pending)
    }
    assert statuses == {world.alpha_ticket.id: "open", closed: "closed", pending: "open"}


def test_bulk_assign_and_tag(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    second = _ticket(api, world, "Second")
    ids = [world.alpha_ticket.id, second]
    assigned = api.post(
        "/api/v1/tickets/bulk",
        json={"ticket_ids": ids, "action": "assign", "value": str(world.agent_alpha.id)},
    )
    assert assigned.get_json() == {"done": ids, "failed": {}, "merged_into": None}
    assert {api.get(f"/api/v1/tickets/{i}").get_json()["assignee_id"] for i in ids} == {world.agent_alpha.id}
    # The provider admin is not assigned to serve alpha.
    refused = api.post(
        "/api/v1/tickets/bulk", json={"ticket_ids": ids, "action": "assign", "value": str(world.admin.id)}
    )
    assert refused.get_json()["failed"] == {str(i): "This person does not serve this client." for i in ids}
    tagged = api.post(
        "/api/v1/tickets/bulk", json={"ticket_ids": ids, "action": "tag", "value": "Printer, urgent"}
    )
    assert tagged.get_json()["done"] == ids
    assert api.get(f"/api/v1/tickets/{second}").get_json()["tags"] == ["printer", "urgent"]
    unassigned = api.post("/api/v1/tickets/bulk", json={"ticket_ids": ids, "action": "assign"})
    assert unassigned.get_json()["done"] == ids
    assert api.get(f"/api/v1/tickets/{second}").get_json()["assignee_id"] is None


def test_bulk_merge_folds_into_the_oldest_ticket(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    newer = _ticket(api, world, "Printer again")
    assert api.post(f"/api/v1/tickets/{newer}/time", json={"seconds": 300}).status_code == 201
    response = api.post(
        "/api/v1/tickets/bulk", json={"ticket_ids": [newer, world.alpha_ticket.id], "action": "merge"}
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "done": [newer, world.alpha_ticket.id],
        "failed": {},
        "merged_into": world.alpha_ticket.id,
    }
    merged = api.get(f"/api/v1/tickets/{newer}").get_json()
    assert (merged["status"], merged["merged_into_id"], merged["time_spent_seconds"]) == (
        "closed",
        world.alpha_ticket.id,
        0,
    )
    target = api.get(f"/api/v1/tickets/{world.alpha_ticket.id}").get_json()
    assert target["time_spent_seconds"] == 300
    bodies = [
        m["body"] for m in api.get(f"/api/v1/tickets/{world.alpha_ticket.id}/messages").get_json()["data"]
    ]
    assert "Bitte helfen." in bodies
    again = api.post(
        "/api/v1/tickets/bulk", json={"ticket_ids": [newer, world.alpha_ticket.id], "action": "merge"}
    )
    assert _error(again, 409)["message"] == "Closed tickets cannot be merged."


def test_bulk_validation(client: FlaskClient, world: World) -> None:
    api = api_as(client, "agent.alpha@provider.example")
    ids = [world.alpha_ticket.id]
    empty = _error(api.post("/api/v1/tickets/bulk", json={"ticket_ids": [], "action": "tag"}), 422)
    assert set(empty["fields"]) == {"ticket_ids"}
    assert set(
        _error(api.post("/api/v1/tickets/bulk", json={"ticket_ids": ids, "action": "delete"}), 422)["fields"]
    ) == {"action"}
    status = api.post("/api/v1/tickets/bulk", json={"ticket_ids": ids, "action": "status", "value": "gone"})
    assert _error(status, 422)["fields"] == {"value": "Invalid value."}
    tag = api.post("/api/v1/tickets/bulk", json={"ticket_ids": ids, "action": "tag", "value": "ok bad!tag"})
    assert set(_error(tag, 422)["fields"]) == {"value"}
    one = api.post("/api/v1/tickets/bulk", json={"ticket_ids": ids, "action": "merge"})
    assert _error(one, 422)["fields"] == {"ticket_ids": "Choose at least two tickets to merge."}
    foreign_only = api.post(
        "/api/v1/tickets/bulk",
        json={"ticket_ids": [world.beta_ticket.id], "action": "status", "value": "open"},
    )
    assert foreign_only.get_json() == {
        "done": [],
        "failed": {str(world.beta_ticket.id): "This ticket does not exist or is not yours to see."},
        "merged_into": None,
    }
    assert (
        api_as(client, "admin@alpha.example")
        .post("/api/v1/tickets/bulk", json={"ticket_ids": ids, "action": "tag", "value": "x"})
        .status_code
        == 403
    )
