"""FCR, escalation rates, SLA compliance and times on a hand-made set, exactly; and the rollups
giving the same figures as the raw tickets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from reports import histogram, rollup
from reports.facts import Filters
from reports.metrics import Query, report
from tests.reports import handmade
from tests.reports.handmade import MONDAY

WEEK = (MONDAY, MONDAY + timedelta(days=6))


@pytest.fixture
def gamma(system: None, world: Any) -> Any:
    return handmade.build()


def test_handmade_figures_match_exactly(gamma: Any) -> None:
    figures = report(Query((gamma.id,), *WEEK), source="raw").totals
    assert figures.created == 5
    assert figures.resolved == 4
    assert figures.fcr_rate == 0.25
    assert figures.l1_rate == 0.5
    assert figures.l2_rate == 0.5
    assert figures.l3_rate == 0.25
    assert figures.deflection_rate == 0.25
    assert (figures.fr_met, figures.fr_due) == (3, 4)
    assert (figures.res_met, figures.res_due) == (3, 4)
    assert figures.fr_compliance == 0.75
    assert figures.res_compliance == 0.75
    # Team clocks: three acknowledged (two in time), two resolved (both in time).
    assert (figures.esc_created, figures.esc_created_l2, figures.esc_created_l3) == (3, 2, 1)
    assert (figures.esc_acked, figures.ack_met, figures.ack_due) == (3, 2, 3)
    assert (figures.esc_resolved, figures.fix_met) == (2, 2)
    assert figures.csat_average == 3.5
    assert figures.csat_positive == 0.5
    assert figures.handle_average == 300
    # First answers after 5, 10, 29 and 45 minutes: median 10, 90th percentile 45.
    assert figures.percentile("frt_cal", 50) == 10 * 60
    assert figures.percentile("frt_cal", 90) == 45 * 60


def test_business_time_counts_only_open_hours(gamma: Any) -> None:
    found = report(Query((gamma.id,), *WEEK, Filters(channel="phone")), source="raw").totals
    assert found.resolved == 1
    assert found.percentile("res_cal", 50) == histogram.EDGES[histogram.bucket(26 * 3600)]
    assert found.percentile("res_biz", 50) == (9 * 60 + 30) * 60
    # Answered 17:15 after the 17:00 closing: 30 business minutes.
    assert found.percentile("frt_biz", 50) == 30 * 60


def test_events_count_on_their_local_day(gamma: Any) -> None:
    days = dict(report(Query((gamma.id,), *WEEK), source="raw").days)
    assert days[MONDAY].created == 5  # ticket 5 at 23:30 Zurich is 22:30 UTC, still Monday
    assert days[MONDAY].resolved == 0
    assert days[MONDAY + timedelta(days=1)].resolved == 4
    heatmap = report(Query((gamma.id,), *WEEK), source="raw").heatmap
    assert heatmap[0][23] == 1
    assert heatmap[0][9] == 1
    assert sum(map(sum, heatmap)) == 5


def test_filters_and_breakdowns(gamma: Any) -> None:
    found = report(Query((gamma.id,), *WEEK), source="raw")
    assert {k: f.created for k, f in found.by["channel"].items()} == {"email": 3, "phone": 1, "chat": 1}
    assert {k: f.created for k, f in found.by["language"].items()} == {"de": 3, "en": 2}
    english = report(Query((gamma.id,), *WEEK, Filters(language="en")), source="raw").totals
    assert (english.created, english.resolved, english.reached_l3) == (2, 2, 1)


def test_other_clients_never_count(gamma: Any, world: Any) -> None:
    alone = report(Query((gamma.id,), *WEEK), source="raw").totals.created
    both = report(Query((gamma.id, world.beta.id), *WEEK), source="raw")
    assert alone == 5
    assert set(both.by_tenant) <= {gamma.id, world.beta.id}
    assert both.by_tenant[gamma.id].created == 5


def _comparable(found: Any) -> dict[str, Any]:
    out = found.as_dict()
    for key in ("source", "built_at"):
        out.pop(key)
    # Rolled-up channel, language, category and agent rows keep counters only.
    for dim, keys in out["by"].items():
        for figures in keys.values():
            if dim != "team":
                figures.pop("times", None)
                figures["ratings"] = None
    return out


def test_rollups_equal_the_raw_figures(gamma: Any) -> None:
    rollup.rebuild(gamma.id, *WEEK)
    rollup.rebuild(gamma.id, *WEEK)  # idempotent: replaced, not added
    query = Query((gamma.id,), *WEEK)
    assert report(query).source == "rollup"
    assert _comparable(report(query)) == _comparable(report(query, source="raw"))
    assert report(query).totals.created == 5


def test_one_filter_from_the_raw_path_matches_the_rollup_row(gamma: Any) -> None:
    rollup.rebuild(gamma.id, *WEEK)
    by_channel = report(Query((gamma.id,), *WEEK)).by["channel"]["email"]
    filtered = report(Query((gamma.id,), *WEEK, Filters(channel="email"))).totals
    assert filtered.as_dict(times=False) | {"ratings": None} == by_channel.as_dict(times=False) | {
        "ratings": None
    }
