"""The audit log page: filters by client, action, actor and days (the viewer's days), pages back
through older entries, and shows times in the viewer's time zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient

from core import audit, tenancy
from core.extensions import db
from tests.conftest import sign_in
from tests.factories import World

LATE_EVENING = datetime(2026, 1, 15, 23, 10, tzinfo=UTC)  # already the 16th in Zurich


def _event(
    action: str, *, tenant_id: int | None, actor: str = "system", when: datetime = LATE_EVENING
) -> None:
    with tenancy.system_scope(), audit.acting_as(audit.Actor(None, actor)):
        event = audit.record(action, tenant_id=tenant_id, target_type="test", target_id=action)
        event.created_at = when
        db.session.flush()


def _actions(page: str) -> list[str]:
    return re.findall(r"<td><code>([^<]+)</code></td>", page)


def _as_admin_in_zurich(client: FlaskClient, world: World) -> None:
    with tenancy.system_scope():
        world.admin.timezone = "Europe/Zurich"
        db.session.flush()
    sign_in(client, "admin@provider.example")


def test_filters_by_client_action_prefix_and_actor(client: FlaskClient, world: World) -> None:
    _event("test.alpha_thing", tenant_id=world.alpha.id, actor="ops@provider.example")
    _event("test.beta_thing", tenant_id=world.beta.id, actor="100%_sure@provider.example")
    _event("other.beta_thing", tenant_id=world.beta.id)
    _as_admin_in_zurich(client, world)

    page = client.get(f"/admin/audit?tenant={world.beta.id}&action=test.").get_data(as_text=True)
    assert _actions(page) == ["test.beta_thing"]
    assert f'<option value="{world.beta.id}" selected>Beta AG</option>' in page
    assert _actions(client.get("/admin/audit?actor=OPS@").get_data(as_text=True)) == ["test.alpha_thing"]
    # LIKE's wildcards in the input are taken literally.
    assert _actions(client.get("/admin/audit?actor=100%25_").get_data(as_text=True)) == ["test.beta_thing"]
    assert _actions(client.get("/admin/audit?action=test%25").get_data(as_text=True)) == []


def test_days_and_times_are_the_viewers(client: FlaskClient, world: World) -> None:
    _event("test.late", tenant_id=world.alpha.id)
    _as_admin_in_zurich(client, world)
    page = client.get("/admin/audit?action=test.").get_data(as_text=True)
    assert "1/16/26, 12:10\u202fAM" in page  # 23:10 UTC is ten past midnight in Zurich
    assert "Times in Europe/Zurich." in page
    on_the_16th = client.get("/admin/audit?action=test.&since=2026-01-16&until=2026-01-16")
    assert _actions(on_the_16th.get_data(as_text=True)) == ["test.late"]
    until_the_15th = client.get("/admin/audit?action=test.&until=2026-01-15")
    assert _actions(until_the_15th.get_data(as_text=True)) == []


def test_a_date_that_is_no_date_is_pointed_out(client: FlaskClient, world: World) -> None:
    sign_in(client, "admin@provider.example")
    answer = client.get("/admin/audit?since=16.01.2026")
    assert answer.status_code == 200
    assert "Give a date such as 2026-03-31." in answer.get_data(as_text=True)


def test_older_entries_page_back_and_keep_the_filters(client: FlaskClient, world: World) -> None:
    for n in range(55):
        _event(f"bulk.n{n:02d}", tenant_id=world.alpha.id, when=LATE_EVENING + timedelta(minutes=n))
    _as_admin_in_zurich(client, world)
    first = client.get(f"/admin/audit?action=bulk.&tenant={world.alpha.id}").get_data(as_text=True)
    assert _actions(first)[:2] == ["bulk.n54", "bulk.n53"]
    assert len(_actions(first)) == 50
    older = re.search(r'<a class="btn" href="([^"]+)" rel="next">Older entries</a>', first).group(1)
    assert "action=bulk." in older
    assert f"tenant={world.alpha.id}" in older
    second = client.get(older.replace("&amp;", "&")).get_data(as_text=True)
    assert _actions(second) == ["bulk.n04", "bulk.n03", "bulk.n02", "bulk.n01", "bulk.n00"]
    assert "Older entries" not in second
    assert "Newest entries" in second
