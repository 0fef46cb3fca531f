"""The reports API: who may ask about which clients, the filters, the stable error shape, and the
monthly report as JSON."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient

from core import jobs
from core.auth.roles import Role
from reports import rollup
from tests.conftest import api_as
from tests.factories import World, make_user
from tests.reports import handmade

METRICS = "/api/v1/reports/metrics"
MARCH_WEEK = "from=2026-03-02&to=2026-03-08"


@pytest.fixture
def gamma(system: None, world: World) -> Any:
    tenant = handmade.build()
    rollup.rebuild(tenant.id, date(2026, 3, 1), date(2026, 3, 31))  # as the sweeps do
    make_user("chefin@gamma.example", Role.CLIENT_ADMIN, tenant=tenant)
    jobs.commit()
    return tenant


def _ok(response: Any) -> Any:
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == code
    return error


def test_client_admin_gets_their_own_figures(client: FlaskClient, gamma: Any, world: World) -> None:
    api = api_as(client, "chefin@gamma.example")
    found = _ok(api.get(f"{METRICS}?{MARCH_WEEK}"))
    assert (found["from"], found["to"]) == ("2026-03-02", "2026-03-08")
    assert found["totals"]["created"] == 5
    assert found["totals"]["fcr_rate"] == 0.25
    assert found["totals"]["times"]["frt_cal"]["p50"] == 600
    assert list(found["by_tenant"]) == [str(gamma.id)]
    assert found["by"]["channel"]["email"]["created"] == 3
    phone = _ok(api.get(f"{METRICS}?{MARCH_WEEK}&channel=phone"))
    assert (phone["source"], phone["filters"], phone["totals"]["created"]) == ("raw", {"channel": "phone"}, 1)
    english = _ok(api.get(f"{METRICS}?{MARCH_WEEK}&language=en&tenant={gamma.id}"))
    assert english["totals"]["reached_l3"] == 1
    other = _error(api.get(f"{METRICS}?{MARCH_WEEK}&tenant={world.alpha.id}"), 422, "validation_failed")
    assert set(other["fields"]) == {"tenant"}


def test_provider_admin_sees_every_client_or_one(client: FlaskClient, gamma: Any, world: World) -> None:
    api = api_as(client, "admin@provider.example")
    everyone = _ok(api.get(f"{METRICS}?{MARCH_WEEK}"))
    assert everyone["totals"]["created"] == 5
    assert str(gamma.id) in everyone["by_tenant"]
    one = _ok(api.get(f"{METRICS}?{MARCH_WEEK}&tenant={world.alpha.id}"))
    assert one["totals"]["created"] == 0


def test_a_supervisor_sees_the_clients_they_supervise(client: FlaskClient, gamma: Any, world: World) -> None:
    api = api_as(client, "supervisor@provider.example")
    found = _ok(api.get(f"{METRICS}?{MARCH_WEEK}"))
    assert found["totals"]["created"] == 0
    assert str(gamma.id) not in found["by_tenant"]
    _error(api.get(f"{METRICS}?{MARCH_WEEK}&tenant={gamma.id}"), 422, "validation_failed")
    _ok(api.get(f"{METRICS}?preset=7d&tenant={world.alpha.id}"))


@pytest.mark.parametrize("email", ["agent.alpha@provider.example", "expert@alpha.example"])
def test_agents_and_experts_get_403(client: FlaskClient, world: World, email: str) -> None:
    api = api_as(client, email)
    _error(api.get(METRICS), 403, "forbidden")
    _error(api.get("/api/v1/reports/monthly/2026-03"), 403, "forbidden")


def test_without_a_token_it_is_401(client: FlaskClient, world: World) -> None:
    _error(client.get(METRICS), 401, "unauthorized")


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("from=2026-13-01&to=2026-03-08", {"from"}),
        ("from=2026-03-08&to=2026-03-01", {"to"}),
        ("from=2024-01-01&to=2026-03-01", {"to"}),
        ("preset=fortnight", {"preset"}),
        ("channel=pigeon", {"channel"}),
        ("category=nonsense", {"category"}),
        ("team=abc&agent=x", {"team", "agent"}),
        ("tenant=abc", {"tenant"}),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    client: FlaskClient, world: World, query: str, fields: set[str]
) -> None:
    api = api_as(client, "admin@provider.example")
    error = _error(api.get(f"{METRICS}?{query}"), 422, "validation_failed")
    assert set(error["fields"]) == fields


def test_the_monthly_report_as_json(client: FlaskClient, gamma: Any, world: World) -> None:
    api = api_as(client, "chefin@gamma.example")
    found = _ok(api.get("/api/v1/reports/monthly/2026-03"))
    assert (found["month"], found["previous_month"]) == ("2026-03", "2026-02")
    assert found["tenant"] == {"id": gamma.id, "slug": "gamma", "name": "Gamma AG"}
    fcr = next(kpi for kpi in found["kpis"] if kpi["key"] == "fcr_rate")
    assert (fcr["this_month"], fcr["previous_month"], fcr["direction"]) == (0.25, None, "none")
    assert found["csat"] == {"count": 2, "average": 3.5, "positive": 0.5, "ratings": [0, 1, 0, 0, 1]}
    assert [team["name"] for team in found["teams"]] == ["Second level", "IT"]
    assert found["totals"]["previous_month"]["created"] == 0
    _error(api.get("/api/v1/reports/monthly/2099-01"), 404, "not_found")
    assert set(_error(api.get("/api/v1/reports/monthly/2026-3"), 422, "validation_failed")["fields"]) == {
        "month"
    }
    _error(api.get(f"/api/v1/reports/monthly/2026-03?tenant={world.alpha.id}"), 404, "not_found")


def test_the_monthly_report_of_one_of_several_clients_needs_the_client(
    client: FlaskClient, gamma: Any, world: World
) -> None:
    admin = api_as(client, "admin@provider.example")
    missing = _error(admin.get("/api/v1/reports/monthly/2026-03"), 422, "validation_failed")
    assert set(missing["fields"]) == {"tenant"}
    found = _ok(admin.get(f"/api/v1/reports/monthly/2026-03?tenant={gamma.id}"))
    assert found["kpis"][0]["this_month"] == 5
    supervisor = api_as(client, "supervisor@provider.example")
    _ok(supervisor.get("/api/v1/reports/monthly/2026-03"))  # one client: alpha
    _error(supervisor.get(f"/api/v1/reports/monthly/2026-03?tenant={gamma.id}"), 404, "not_found")


def test_openapi_documents_the_reports_endpoints(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    metrics = paths["/api/v1/reports/metrics"]["get"]
    assert {p["name"] for p in metrics["parameters"]} >= {"from", "to", "preset", "tenant", "channel", "team"}
    assert metrics["tags"] == ["reports"]
    monthly = paths["/api/v1/reports/monthly/{month}"]["get"]
    assert {p["name"] for p in monthly["parameters"]} == {"month", "tenant"}
