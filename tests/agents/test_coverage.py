"""The coverage grid (who can answer which client's language in each hour), its scoping, the
warning sweep and the supervisor's home panel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from agents import coverage, coverage_sweep
from agents import services as agents
from agents.models import AgentShift, CoverageAlert
from core import jobs, tenancy
from core.extensions import db
from core.models_base import utcnow
from core.outbox import OutboxMessage
from tests.conftest import sign_in
from tests.factories import World

UTC_ZONE = ZoneInfo("UTC")
H = timedelta(hours=1)


def _staff(world: World) -> None:
    """alpha speaks de and en, beta fr, it and en."""
    agents.set_languages(world.agent_alpha, {"de": "native", "en": "fluent"})
    agents.set_languages(world.agent_both, {"de": "fluent", "fr": "native", "it": "basic"})
    agents.set_languages(world.beta_agent, {"fr": "fluent"})
    agents.set_languages(world.supervisor, {"de": "native"})


def _on_shift(user_id: int, starts: datetime, ends: datetime) -> None:
    db.session.add(AgentShift(user_id=user_id, starts_at=starts, ends_at=ends))
    db.session.flush()


def _counts(found: coverage.Grid, hour: int) -> dict[tuple[str, str], tuple[int, int]]:
    return {(r.tenant.slug, r.language): (r.cells[hour].count, r.cells[hour].basic) for r in found.rows}


def _hour() -> datetime:
    return utcnow().replace(minute=0, second=0, microsecond=0)


# --- the grid ---------------------------------------------------------------------------------


def test_an_agent_counts_where_they_are_assigned_and_speak_the_language(world: World, system: None) -> None:
    _staff(world)
    start = _hour() + 2 * H
    for user in (world.agent_alpha, world.agent_both, world.beta_agent):
        _on_shift(user.id, start, start + 8 * H)
    found = coverage.grid(UTC_ZONE, now=start)
    assert len(found.hours) == 168
    assert _counts(found, 0) == {
        ("alpha", "de"): (2, 0),  # agent_alpha and agent_both
        ("alpha", "en"): (1, 0),  # agent_alpha only
        ("beta", "fr"): (2, 0),  # agent_both and beta_agent
        ("beta", "it"): (0, 1),  # agent_both speaks a little Italian: shown, not covering
        ("beta", "en"): (0, 0),  # agent_alpha speaks English but does not serve beta
    }
    assert [r.cells[0].level for r in found.rows if r.tenant.slug == "alpha"] == ["ok", "thin"]
    assert _counts(found, 8)[("alpha", "de")] == (0, 0)  # after the shift
    # A supervisor assigned to a client and on shift counts too.
    _on_shift(world.supervisor.id, start, start + H)
    assert _counts(coverage.grid(UTC_ZONE, now=start), 0)[("alpha", "de")] == (3, 0)


def test_the_least_staffed_moment_of_an_hour_counts_so_a_half_hour_hole_is_a_gap() -> None:
    at = datetime(2026, 12, 1, 8, tzinfo=UTC)
    hours = [at, at + H]
    keys = [(1, "de")]
    serves = {10: [1], 11: [1]}
    speaks = {10: {"de": "native"}, 11: {"de": "fluent"}}
    half = timedelta(minutes=30)
    handover = [(10, at - 4 * H, at + half), (11, at + half, at + 4 * H)]
    assert coverage.compute(keys, hours, handover, serves, speaks)[0] == [[1, 1]]
    hole = [(10, at - 4 * H, at + half), (11, at + H, at + 4 * H)]
    assert coverage.compute(keys, hours, hole, serves, speaks)[0] == [[0, 1]]
    # What is past in the first hour does not count.
    late = [(10, at - 4 * H, at + half), (11, at + timedelta(minutes=40), at + 4 * H)]
    assert coverage.compute(keys, hours, late, serves, speaks)[0] == [[0, 1]]
    assert coverage.compute(keys, hours, late, serves, speaks, since=at + timedelta(minutes=45))[0] == [
        [1, 1]
    ]


def test_hours_follow_the_viewers_clock_over_a_clock_change(world: World, system: None) -> None:
    zurich = ZoneInfo("Europe/Zurich")
    found = coverage.grid(zurich, now=datetime(2027, 3, 27, 12, 30, tzinfo=UTC), hours=48)
    local = [h.astimezone(zurich) for h in found.hours]
    assert local[0].hour == 13
    sunday = [h.hour for h in local if h.day == 28]
    assert len(sunday) == 23
    assert 2 not in sunday


def test_a_supervisor_sees_their_clients_only(world: World) -> None:
    with tenancy.system_scope():
        _staff(world)
        start = _hour() + 2 * H
        for user in (world.agent_alpha, world.agent_both, world.beta_agent):
            _on_shift(user.id, start, start + 8 * H)
    with tenancy.using(tenancy.tenants([world.alpha.id])):
        found = coverage.grid(UTC_ZONE, now=start, hours=4)
    assert {(r.tenant.slug, r.language) for r in found.rows} == {("alpha", "de"), ("alpha", "en")}
    assert _counts(found, 0)[("alpha", "de")] == (2, 0)


def test_the_coverage_page_shows_gaps_in_red_and_thin_hours_in_amber(
    client: FlaskClient, world: World
) -> None:
    with tenancy.system_scope():
        _staff(world)
        start = _hour() + 3 * H
        _on_shift(world.agent_alpha.id, start, start + 8 * H)
        _on_shift(world.agent_both.id, start, start + 8 * H)
        jobs.commit()
    sign_in(client, "supervisor@provider.example")
    page = client.get("/agent/coverage").get_data(as_text=True)
    assert "Alpha AG · German" in page
    assert "Alpha AG · English" in page
    assert "Beta AG" not in page
    assert "French" not in page
    assert '<td class="gap">0</td>' in page
    assert '<td class="thin">1</td>' in page
    assert '<td class="ok">2</td>' in page
    assert "Alpha AG, English:" in page  # listed among the gaps


def test_provider_admins_see_every_client_and_filter_by_one(client: FlaskClient, world: World) -> None:
    with tenancy.system_scope():
        _staff(world)
        start = _hour() + 3 * H
        _on_shift(world.agent_both.id, start, start + 8 * H)
        jobs.commit()
    sign_in(client, "admin@provider.example")
    page = client.get("/agent/coverage").get_data(as_text=True)
    assert "Alpha AG · German" in page
    assert "Beta AG · Italian" in page
    assert '<td class="gap">0 <abbr class="basic" title="basic level">+1</abbr></td>' in page
    page = client.get(f"/agent/coverage?tenant={world.beta.id}").get_data(as_text=True)
    assert "Beta AG · French" in page
    assert "Alpha AG · German" not in page


def test_the_coverage_page_is_for_shift_leads(client: FlaskClient, world: World) -> None:
    for email in ("agent.alpha@provider.example", "admin@alpha.example", "expert@beta.example"):
        browser = client.application.test_client()
        sign_in(browser, email)
        assert browser.get("/agent/coverage").status_code == 403, email


def test_a_supervisors_tenant_filter_cannot_reach_another_client(client: FlaskClient, world: World) -> None:
    sign_in(client, "supervisor@provider.example")
    page = client.get(f"/agent/coverage?tenant={world.beta.id}").get_data(as_text=True)
    assert "Beta AG" not in page
    assert "Alpha AG · German" in page


# --- the sweep --------------------------------------------------------------------------------


def _mails() -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "email").order_by(OutboxMessage.id)
        )
    )


def test_the_sweep_warns_each_recipient_once_in_their_language(
    app: Flask, world: World, system: None
) -> None:
    _staff(world)
    world.supervisor.locale = "de"
    world.supervisor.timezone = "Europe/Zurich"
    now = datetime(2026, 12, 1, 9, 10, tzinfo=UTC)
    # alpha is covered in German and English until 10:00, then English is not; beta has nobody.
    _on_shift(world.agent_alpha.id, now - 2 * H, now + 50 * timedelta(minutes=1) + H)  # until 11:00
    _on_shift(world.agent_both.id, now - 2 * H, now + 6 * H)
    before = len(_mails())
    assert app.config["COVERAGE_WARN_HOURS"] == 2
    created = coverage_sweep.coverage_sweep(None, now=now)
    # Hours 09, 10 and 11 UTC: alpha en at 11; beta en and it at 9, 10, 11 (fr is covered by agent_both).
    assert created == 1 + 3 + 3
    alerts = {(a.tenant_id, a.language, a.hour.hour) for a in db.session.scalars(select(CoverageAlert))}
    assert (world.alpha.id, "en", 11) in alerts
    assert (world.beta.id, "fr", 9) not in alerts
    mails = _mails()[before:]
    assert sorted(m.payload["to"][0] for m in mails) == [
        "admin@provider.example",
        "supervisor@provider.example",
    ]
    to_supervisor = next(m for m in mails if m.payload["to"] == ["supervisor@provider.example"])
    text = to_supervisor.payload["text"]
    # In German (whatever the translators make of the sentence), at Zurich time.
    assert "Englisch" in text
    assert "01.12.26, 12:00" in text
    assert "Beta" not in text
    to_admin = next(m for m in mails if m.payload["to"] == ["admin@provider.example"])
    assert "Beta AG, Italian: 12/1/26, 9:00\u202fAM to 12:00\u202fPM" in to_admin.payload["text"]
    assert "Alpha" not in to_admin.payload["text"]  # alpha has a supervisor
    assert to_admin.payload["subject"] == "Coverage gaps: 2 languages uncovered soon"
    # A second run (or a second scheduler) finds nothing new and mails nobody.
    assert coverage_sweep.sweep(now=now + timedelta(minutes=15)) == 0
    assert len(_mails()) == before + 2
    assert db.session.scalar(select(func.count()).select_from(CoverageAlert)) == 7


def test_a_gap_already_alerted_is_not_mailed_again_and_the_next_hour_is(world: World, system: None) -> None:
    _staff(world)
    now = datetime(2026, 12, 1, 9, 10, tzinfo=UTC)
    agents.set_languages(world.beta_agent, {"fr": "fluent", "it": "native", "en": "fluent"})
    for user in (world.agent_both, world.beta_agent):
        _on_shift(user.id, now - H, now + 24 * H)
    # Only alpha's English goes uncovered, from 11:00 when agent_alpha leaves.
    _on_shift(world.agent_alpha.id, now - H, now + 110 * timedelta(minutes=1))
    before = len(_mails())
    assert coverage_sweep.sweep(now=now) == 1  # 11:00
    assert coverage_sweep.sweep(now=now + H) == 1  # 12:00 comes into view; 11:00 is known
    mails = _mails()[before:]
    assert len(mails) == 2
    assert "12:00" in mails[1].payload["text"]
    assert "11:00" not in mails[1].payload["text"]


def test_alerts_older_than_a_week_are_purged(world: World, system: None) -> None:
    now = datetime(2026, 12, 1, 9, 10, tzinfo=UTC)
    for days in (8, 6):
        hour = now.replace(minute=0) - timedelta(days=days)
        db.session.add(CoverageAlert(tenant_id=world.alpha.id, language="de", hour=hour, created_at=hour))
    db.session.flush()
    coverage_sweep.sweep(now=now)
    kept = db.session.scalars(select(CoverageAlert.hour).where(CoverageAlert.hour < now - H))
    assert [hour.date().isoformat() for hour in kept] == ["2026-11-25"]


# --- the home panel ---------------------------------------------------------------------------


def test_the_supervisors_home_page_warns_of_upcoming_gaps(client: FlaskClient, world: World) -> None:
    with tenancy.system_scope():
        _staff(world)
        start = _hour() - H
        # agent_alpha takes two hours off in the day; agent_both covers German, not English, then.
        _on_shift(world.agent_alpha.id, start, start + 10 * H)
        _on_shift(world.agent_alpha.id, start + 12 * H, start + 28 * H)
        _on_shift(world.agent_both.id, start + 8 * H, start + 16 * H)
        jobs.commit()
    sign_in(client, "supervisor@provider.example")
    page = client.get("/").get_data(as_text=True)
    assert 'id="coverage-home"' in page
    assert "1 gap in the next 24 hours" in page
    assert "Alpha AG, English:" in page
    assert "Alpha AG, German:" not in page
    assert "Beta" not in page
    browser = client.application.test_client()
    sign_in(browser, "agent.alpha@provider.example")
    assert 'id="coverage-home"' not in browser.get("/").get_data(as_text=True)


# --- the demo ---------------------------------------------------------------------------------


def test_the_demo_week_is_covered_but_for_italian_at_night(client: FlaskClient) -> None:
    from demo import data, staffing

    zurich = ZoneInfo("Europe/Zurich")
    now = utcnow()
    data.load()
    staffing.seed(now=now)
    jobs.commit()
    with tenancy.system_scope():
        planned = db.session.scalar(select(func.count()).select_from(AgentShift))
    staffing.seed(now=now)  # twice changes nothing
    jobs.commit()
    with tenancy.system_scope():
        assert db.session.scalar(select(func.count()).select_from(AgentShift)) == planned
        found = coverage.grid(zurich, now=now)
    gaps = coverage.gaps(found)
    assert {(g.tenant.slug, g.language) for g in gaps} == {("lumiere", "it")}
    # Every night from 18:00 to 06:00 (the first one may have begun already).
    assert len(gaps) in (7, 8)
    for gap in gaps:
        assert gap.starts == found.hours[0] or gap.starts.astimezone(zurich).hour == 18
        assert gap.ends == found.hours[-1] + H or gap.ends.astimezone(zurich).hour == 6
    sign_in(client, "supervisor@firstline.example", data.DEMO_PASSWORD)
    page = client.get("/agent/coverage").get_data(as_text=True)
    assert "Lumière Énergie SA · Italienisch" in page  # Samuel reads German
    assert '<td class="gap">0</td>' in page
