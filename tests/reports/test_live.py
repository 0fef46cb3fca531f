"""The shift lead's live view (queue, SLA board in numbers, coverage, today so far) and the
backlog by age it shares with the dashboards."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient

from core import tenancy
from core.extensions import db
from core.models_base import utcnow
from reports import backlog
from reports.facts import Filters
from tests.conftest import sign_in
from tests.factories import World
from tests.reports.test_dashboards import _kpi, gamma  # noqa: F401 - the fixture
from tickets.models import Ticket


@pytest.mark.parametrize(
    "email", ["agent.both@provider.example", "admin@alpha.example", "expert@alpha.example"]
)
def test_the_live_view_is_for_shift_leads(client: FlaskClient, world: World, email: str) -> None:
    sign_in(client, email)
    assert client.get("/admin/reports/live").status_code == 403


def test_the_live_view_shows_the_queue_of_the_supervised_clients(client: FlaskClient, world: World) -> None:
    sign_in(client, "supervisor@provider.example")
    response = client.get("/admin/reports/live")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="60">' in html
    queue = html[html.index('data-table="queue"') : html.index("</table>", html.index('data-table="queue"'))]
    # Alpha's ticket waits unassigned and nobody who speaks German is available.
    cells = '<td class="num">1</td>' * 3  # open, unassigned, nobody available
    assert f'<th scope="row">Alpha AG</th><td>German</td>{cells}' in queue
    assert "Beta AG" not in html
    for link in ("/sla/board", "/agent/coverage", "/agent/routing"):
        assert f'href="{link}"' in html or f'href="http://firstline.test{link}"' in html
    assert 'data-table="coverage_gaps"' in html


def test_another_clients_live_view_is_not_found(client: FlaskClient, world: World) -> None:
    sign_in(client, "supervisor@provider.example")
    assert client.get(f"/admin/reports/live?tenant={world.beta.id}").status_code == 404
    assert client.get(f"/admin/reports/live?tenant={world.beta.id}&export=queue").status_code == 404
    assert client.get(f"/admin/reports/live?tenant={world.alpha.id}").status_code == 200


def test_the_queue_exports_as_csv(client: FlaskClient, world: World) -> None:
    sign_in(client, "admin@provider.example")
    response = client.get(f"/admin/reports/live?tenant={world.alpha.id}&export=queue")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:5] == ["client", "language", "open", "unassigned", "unroutable"]
    assert rows[1][:5] == ["Alpha AG", "German", "1", "1", "1"]
    assert client.get("/admin/reports/live?export=nonsense").status_code == 404


def test_today_so_far_comes_from_the_rollups(client: FlaskClient, world: World, gamma: Any) -> None:  # noqa: F811
    monday_evening = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)
    with time_machine.travel(monday_evening, tick=False):
        sign_in(client, "lead@provider.example")
        html = client.get(f"/admin/reports/live?tenant={gamma.id}").get_data(as_text=True)
    # Read from Monday's rollup row, which counts the whole local day.
    assert _kpi(html, "created") == "5"
    assert _kpi(html, "resolved") == "0"


def _open_ticket(tenant_id: int, number: int, age: timedelta, now: datetime, **values: Any) -> None:
    db.session.add(
        Ticket(
            tenant_id=tenant_id,
            number=number,
            subject=f"Old {number}",
            channel="email",
            language=values.pop("language", "de"),
            status=values.pop("status", "open"),
            created_at=now - age,
            **values,
        )
    )


def test_backlog_counts_open_tickets_by_age(world: World) -> None:
    now = utcnow()
    with tenancy.system_scope():
        for number, hours in enumerate((2, 30, 100, 300, 1000), start=9000):
            _open_ticket(world.alpha.id, number, timedelta(hours=hours), now)
        _open_ticket(
            world.alpha.id, 9010, timedelta(hours=1), now, assignee_id=world.agent_alpha.id, language="en"
        )
        _open_ticket(world.alpha.id, 9011, timedelta(hours=1), now, status="resolved")
        db.session.flush()
        rows = backlog.by_client_and_language([world.alpha.id], now)
        german = next(row for row in rows if row.language == "de")
        # With the world's own open ticket, created a moment ago.
        assert german.ages == [2, 1, 1, 1, 1]
        assert (german.open, german.unassigned) == (6, 6)
        total = backlog.total(rows)
        assert (total.open, total.unassigned) == (7, 6)
        english = backlog.by_client_and_language([world.alpha.id], now, Filters(language="en"))
        assert [(row.language, row.open, row.unassigned) for row in english] == [("en", 1, 0)]
        assert backlog.by_client_and_language([world.beta.id], now, Filters(language="en")) == []
