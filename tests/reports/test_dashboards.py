"""The provider's and the client's dashboards: who may open them, what they show for the
hand-made set (tests/reports/handmade.py), live figures once filtered, errors in the form, and
the CSV of each table."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from core import tenancy
from core.auth.roles import Role
from core.extensions import db
from reports import rollup
from tests.conftest import sign_in
from tests.factories import World, make_user
from tests.reports import handmade
from tests.reports.handmade import MONDAY
from tickets.models import Ticket

WEEK = f"from={MONDAY.isoformat()}&to={(MONDAY + timedelta(days=6)).isoformat()}"


@pytest.fixture
def gamma(world: World) -> Any:
    """The hand-made client (ticket 1 resolved by Gina), rolled up; its admin; a supervisor of
    alpha and gamma."""
    with tenancy.system_scope():
        tenant = handmade.build()
        gina = make_user("gina@provider.example", Role.AGENT, assigned=(tenant,))
        first = db.session.scalar(select(Ticket).where(Ticket.tenant_id == tenant.id, Ticket.number == 1))
        first.assignee_id = gina.id
        db.session.flush()
        rollup.rebuild(tenant.id, MONDAY, MONDAY + timedelta(days=6))
        make_user("admin@gamma.example", Role.CLIENT_ADMIN, tenant=tenant)
        make_user("lead@provider.example", Role.SUPERVISOR, assigned=(world.alpha, tenant))
    return tenant


def _page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def _kpi(html: str, key: str) -> str:
    """The value shown in the tile of one key figure."""
    start = html.index(f'data-kpi="{key}"')
    value = html.index('class="kpi-value">', start) + len('class="kpi-value">')
    return html[value : html.index("<", value)]


def _csv(client: FlaskClient, url: str) -> tuple[Any, list[list[str]]]:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response, list(csv.reader(io.StringIO(response.get_data(as_text=True))))


# --- who may open which page ------------------------------------------------------------------


@pytest.mark.parametrize(
    "email", ["agent.alpha@provider.example", "expert@alpha.example", "admin@alpha.example"]
)
def test_the_provider_dashboard_is_refused_to_agents_and_client_staff(
    client: FlaskClient, world: World, email: str
) -> None:
    sign_in(client, email)
    assert client.get("/admin/reports/").status_code == 403
    assert client.get("/admin/reports/live").status_code == 403


@pytest.mark.parametrize(
    "email", ["agent.alpha@provider.example", "expert@alpha.example", "supervisor@provider.example"]
)
def test_the_client_dashboard_is_for_client_admins_and_provider_admins(
    client: FlaskClient, world: World, email: str
) -> None:
    sign_in(client, email)
    assert client.get("/portal/reports/").status_code == 403


def test_a_client_admin_sees_only_their_own_company(client: FlaskClient, world: World, gamma: Any) -> None:
    sign_in(client, "admin@gamma.example")
    html = _page(client, f"/portal/reports/?{WEEK}")
    assert "Gamma AG" in html
    assert client.get(f"/portal/reports/?tenant={world.alpha.id}").status_code == 404
    assert client.get(f"/portal/reports/?tenant={world.alpha.id}&export=kpis").status_code == 404


def test_a_supervisor_reports_on_the_clients_they_supervise_only(
    client: FlaskClient, world: World, gamma: Any
) -> None:
    sign_in(client, "lead@provider.example")
    html = _page(client, f"/admin/reports/?{WEEK}")
    assert "Gamma AG" in html
    assert "Alpha AG" in html
    assert "Beta AG" not in html
    refused = _page(client, f"/admin/reports/?{WEEK}&tenant={world.beta.id}", 422)
    assert "This is not one of the choices." in refused
    assert 'data-kpi="created"' not in refused
    assert client.get(f"/admin/reports/?tenant={world.beta.id}&export=clients").status_code == 422


# --- what the pages show ----------------------------------------------------------------------


def test_the_provider_dashboard_shows_the_handmade_figures(
    client: FlaskClient, world: World, gamma: Any
) -> None:
    sign_in(client, "admin@provider.example")
    html = _page(client, f"/admin/reports/?{WEEK}&tenant={gamma.id}")
    assert _kpi(html, "created") == "5"
    assert _kpi(html, "resolved") == "4"
    assert _kpi(html, "fcr_rate") == "25%"
    assert _kpi(html, "l1_rate") == "50%"
    assert _kpi(html, "l3_rate") == "25%"
    assert _kpi(html, "fr_compliance") == "75%"
    assert _kpi(html, "ack_compliance") == "67%"
    assert _kpi(html, "csat_average") == "3.5"
    assert _kpi(html, "frt_median_seconds") == "10 min"
    assert "Data as of" in html
    # Teams and agents by name; the open ticket in the backlog.
    assert "Second level" in html
    assert _kpi(html, "open_now") == "1"
    agents = html[html.index('data-table="agents"') :]
    assert '<th scope="row">Gina</th><td class="num">1</td><td class="num">5 min</td>' in agents


def test_filters_switch_to_live_figures(client: FlaskClient, world: World, gamma: Any) -> None:
    sign_in(client, "admin@provider.example")
    html = _page(client, f"/admin/reports/?{WEEK}&tenant={gamma.id}&language=en")
    assert "computed live" in html
    assert _kpi(html, "created") == "2"
    assert _kpi(html, "l3_rate") == "50%"


def test_a_bad_date_is_shown_in_the_form(client: FlaskClient, world: World) -> None:
    sign_in(client, "admin@provider.example")
    html = _page(client, "/admin/reports/?from=2026-02-30&to=yesterday", 422)
    assert "Enter a date as YYYY-MM-DD." in html
    assert 'aria-invalid="true"' in html
    reversed_range = _page(client, "/admin/reports/?from=2026-03-08&to=2026-03-01", 422)
    assert "The end must not be before the start." in reversed_range


def test_charts_are_svg_images_with_a_title_and_a_table(
    client: FlaskClient, world: World, gamma: Any
) -> None:
    sign_in(client, "admin@provider.example")
    html = _page(client, f"/admin/reports/?{WEEK}&tenant={gamma.id}")
    for name in ("daily", "heatmap", "channels", "languages", "categories", "outcomes", "csat", "backlog"):
        assert f'aria-labelledby="chart-{name}-title chart-{name}-desc"' in html
        assert f'<table class="table" data-table="{name}">' in html
    assert html.count('role="img"') == 8
    assert html.count("<summary>Table</summary>") == 8
    assert '<title id="chart-daily-title">Tickets per day</title>' in html
    assert "<script" not in html.split("<main", 1)[1]


def test_the_client_dashboard_names_no_agents_and_links_the_gaps(
    client: FlaskClient, world: World, gamma: Any
) -> None:
    sign_in(client, "admin@gamma.example")
    html = _page(client, f"/portal/reports/?{WEEK}")
    assert _kpi(html, "fcr_rate") == "25%"
    assert 'data-table="agents"' not in html
    assert 'data-table="clients"' not in html
    assert 'data-table="teams"' in html
    assert "Second level" in html
    assert "/kb/gaps" in html
    assert client.get(f"/portal/reports/?{WEEK}&export=agents").status_code == 404


def test_a_provider_admin_opens_a_clients_dashboard(client: FlaskClient, world: World, gamma: Any) -> None:
    sign_in(client, "admin@provider.example")
    html = _page(client, f"/portal/reports/?{WEEK}&tenant={gamma.id}")
    assert "Your service: Gamma AG" in html
    assert client.get("/portal/reports/").status_code == 404


# --- CSV --------------------------------------------------------------------------------------


def test_tables_export_as_csv(client: FlaskClient, world: World, gamma: Any) -> None:
    sign_in(client, "admin@provider.example")
    response, rows = _csv(client, f"/admin/reports/?{WEEK}&tenant={gamma.id}&export=daily")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="daily_2026-03-02_2026-03-08.csv"' in response.headers["Content-Disposition"]
    assert rows[0] == ["day", "created", "resolved"]
    assert rows[1] == ["2026-03-02", "5", "0"]
    assert rows[2] == ["2026-03-03", "0", "4"]
    _response, kpis = _csv(client, f"/admin/reports/?{WEEK}&tenant={gamma.id}&export=kpis")
    values = {row[0]: row[2] for row in kpis[1:]}
    assert values["fcr_rate"] == "0.25"
    assert values["frt_median_seconds"] == "600"
    assert client.get(f"/admin/reports/?{WEEK}&export=nonsense").status_code == 404


def test_csv_cells_cannot_smuggle_formulas(client: FlaskClient, world: World, gamma: Any) -> None:
    with tenancy.system_scope():
        gamma.name = '=HYPERLINK("http://evil")'
        db.session.flush()
    sign_in(client, "admin@provider.example")
    _response, rows = _csv(client, f"/admin/reports/?{WEEK}&export=clients")
    names = [row[0] for row in rows[1:]]
    assert '\'=HYPERLINK("http://evil")' in names


def test_the_team_filter_appears_once_one_client_is_chosen(
    client: FlaskClient, world: World, gamma: Any
) -> None:
    sign_in(client, "admin@provider.example")
    assert 'name="team"' not in _page(client, f"/admin/reports/?{WEEK}")
    chosen = _page(client, f"/admin/reports/?{WEEK}&tenant={gamma.id}")
    assert 'name="team"' in chosen
    assert ">Second level</option>" in chosen
    assert ">Gina</option>" in chosen  # agents of the clients in the report


def test_a_supervisor_without_clients_gets_an_empty_dashboard(client: FlaskClient, world: World) -> None:
    with tenancy.system_scope():
        make_user("new.lead@provider.example", Role.SUPERVISOR)
    sign_in(client, "new.lead@provider.example")
    html = _page(client, "/admin/reports/")
    assert _kpi(html, "created") == "0"
    assert _kpi(html, "fcr_rate") == "–"


def test_figures_and_dates_are_in_the_readers_language(client: FlaskClient, world: World, gamma: Any) -> None:
    with tenancy.system_scope():
        make_user("chefin@gamma.example", Role.CLIENT_ADMIN, tenant=gamma, locale="de")
    sign_in(client, "chefin@gamma.example")
    html = _page(client, f"/portal/reports/?{WEEK}")
    assert _kpi(html, "fcr_rate") == "25\xa0%"
    assert _kpi(html, "csat_average") == "3,5"
    assert ">2. März</text>" in html
