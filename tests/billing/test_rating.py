"""The rating arithmetic: pure functions, no database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing.models import Plan
from billing.rating import Metered, MonthUsage, billed_seconds, contract_days, extra_languages, half_up, rate

NOV = date(2026, 11, 1)


def plan(**values: object) -> Plan:
    defaults: dict[str, object] = {
        "name": "Test",
        "base_fee": 0,
        "included_contacts": 0,
        "price_per_contact": 0,
        "call_minute_price": 0,
        "chat_minute_price": 0,
        "agent_hour_price": 0,
        "increment_seconds": 60,
        "rounding": "up",
        "after_call_seconds": 0,
        "out_of_hours_surcharge_pct": 0,
        "included_languages": 1,
        "extra_language_fee": 0,
        "price_per_escalation": 0,
        "vat_rate_bp": 0,
        "payment_terms_days": 30,
        "contract_start": date(2026, 1, 1),
        "contract_end": None,
    }
    defaults.update(values)
    return Plan(**defaults)


def lines_by_kind(rated) -> dict[str, object]:  # noqa: ANN001
    return {line.kind: line for line in rated.lines}


@pytest.mark.parametrize(
    ("seconds", "increment", "rounding", "after", "billed"),
    [
        (1, 30, "up", 0, 30),
        (30, 30, "up", 0, 30),
        (31, 30, "up", 0, 60),
        (0, 30, "up", 0, 0),
        (61, 60, "up", 0, 120),
        (89, 60, "nearest", 0, 60),
        (90, 60, "nearest", 0, 120),  # halves round up
        (29, 60, "nearest", 0, 0),
        (100, 30, "up", 30, 150),  # after-call work is added before rounding
        (-3250, 60, "up", 0, -3240),  # a negative correction rounds toward zero's ceiling
        (-90, 60, "nearest", 0, -120),
    ],
)
def test_billed_seconds_round_each_call_to_its_increment(
    seconds: int, increment: int, rounding: str, after: int, billed: int
) -> None:
    assert billed_seconds(seconds, increment, rounding, after) == billed


def test_rounding_is_per_call_not_on_the_month() -> None:
    p = plan(call_minute_price=100, increment_seconds=60)
    usage = MonthUsage()
    for _ in range(10):
        usage.calls.add(61, p)  # ten calls of 61 s: two started minutes each
    rated = rate(p, usage, NOV)
    line = lines_by_kind(rated)["call_minutes"]
    assert line.quantity == Decimal("20.000")  # not 610 s -> 11 minutes
    assert line.amount == 2000
    assert line.data["count"] == 10


def test_after_call_work_counts_for_calls_only() -> None:
    p = plan(call_minute_price=60, chat_minute_price=60, increment_seconds=30, after_call_seconds=30)
    usage = MonthUsage()
    usage.calls.add(40, p, after=p.after_call_seconds)  # 70 s -> 90 s
    usage.chats.add(40, p)  # 40 s -> 60 s
    rated = lines_by_kind(rate(p, usage, NOV))
    assert rated["call_minutes"].amount == 90
    assert rated["chat_minutes"].amount == 60


def test_contacts_beyond_the_included_volume_are_charged() -> None:
    p = plan(included_contacts=100, price_per_contact=250)
    rated = lines_by_kind(rate(p, MonthUsage(contacts=130), NOV))
    assert rated["contacts"].quantity == 30
    assert rated["contacts"].amount == 7500
    within = lines_by_kind(rate(p, MonthUsage(contacts=80), NOV))
    assert within["contacts"].amount == 0
    assert within["contacts"].data["handled"] == 80


def test_extra_languages_beyond_the_included_count_the_default_first() -> None:
    p = plan(included_languages=1, extra_language_fee=10000)
    assert extra_languages(p, ["fr", "it", "en"], "fr") == ["it", "en"]
    rated = lines_by_kind(rate(p, MonthUsage(), NOV, languages=["fr", "it", "en"], default_language="fr"))
    assert rated["extra_languages"].amount == 20000
    none = rate(
        plan(included_languages=3, extra_language_fee=10000),
        MonthUsage(),
        NOV,
        languages=["fr", "it", "en"],
        default_language="fr",
    )
    assert "extra_languages" not in lines_by_kind(none)


def test_out_of_hours_surcharge_is_its_own_line_on_the_out_of_hours_share() -> None:
    p = plan(
        price_per_contact=200,
        included_contacts=0,
        call_minute_price=100,
        increment_seconds=60,
        out_of_hours_surcharge_pct=50,
    )
    usage = MonthUsage(contacts=10, contacts_ooh=4)  # 20.00, of which 4/10 out of hours: 8.00
    usage.calls = Metered(count=2, seconds=600, seconds_ooh=120)  # 10.00, of which 2.00 out of hours
    rated = lines_by_kind(rate(p, usage, NOV))
    surcharge = rated["out_of_hours"]
    assert surcharge.unit_price == 1000  # the base: 8.00 + 2.00
    assert surcharge.amount == 500  # 50 %
    assert surcharge.data == {"base": 1000}


def test_included_contacts_carry_no_surcharge_in_proportion() -> None:
    p = plan(price_per_contact=100, included_contacts=50, out_of_hours_surcharge_pct=100)
    rated = lines_by_kind(rate(p, MonthUsage(contacts=100, contacts_ooh=50), NOV))
    # 50 charged contacts (50.00); half of the contacts were out of hours: 25.00 surcharge.
    assert rated["out_of_hours"].amount == 2500


def test_vat_and_totals_round_half_up_in_minor_units() -> None:
    p = plan(base_fee=12345, vat_rate_bp=810)
    rated = rate(p, MonthUsage(), NOV)
    assert rated.subtotal == 12345
    assert rated.vat_amount == 1000  # 123.45 * 8.1 % = 9.999... -> 10.00
    assert rated.total == 13345
    assert half_up(Decimal("0.5")) == 1
    assert half_up(Decimal("2.5")) == 3
    assert half_up(Decimal("-2.5")) == -3


def test_agent_hours_and_escalations() -> None:
    p = plan(agent_hour_price=6000, price_per_escalation=1500)
    rated = lines_by_kind(rate(p, MonthUsage(agent_seconds=5400, escalations=3), NOV))
    assert rated["agent_hours"].quantity == Decimal("1.500")
    assert rated["agent_hours"].amount == 9000
    assert rated["escalations"].amount == 4500


def test_corrections_are_netted_and_a_negative_month_is_credited() -> None:
    p = plan(price_per_contact=200, included_contacts=0, agent_hour_price=3600)
    rated = lines_by_kind(
        rate(p, MonthUsage(contacts=-3, contact_corrections=3, agent_seconds=-60, time_corrections=1), NOV)
    )
    assert rated["contacts"].amount == -600
    assert rated["agent_hours"].amount == -60
    assert rated["contacts"].data["corrections"] == 3


def test_no_invoice_outside_the_contract_and_a_pro_rated_base_fee_in_a_partial_month() -> None:
    assert rate(plan(contract_start=date(2026, 12, 1)), MonthUsage(), NOV) is None
    assert rate(plan(contract_end=date(2026, 10, 31)), MonthUsage(), NOV) is None
    started = plan(base_fee=30000, contract_start=date(2026, 11, 19))  # 12 of 30 days
    assert contract_days(started, NOV) == 12
    base = lines_by_kind(rate(started, MonthUsage(), NOV))["base_fee"]
    assert base.amount == 12000
    assert base.quantity == Decimal("0.400")
    assert base.data == {"days": 12, "of": 30}
    ended = plan(base_fee=31000, contract_end=date(2026, 12, 10))  # December: 10 of 31 days
    assert lines_by_kind(rate(ended, MonthUsage(), date(2026, 12, 1)))["base_fee"].amount == 10000
    full = lines_by_kind(rate(plan(base_fee=30000), MonthUsage(), NOV))["base_fee"]
    assert (full.quantity, full.amount, full.data) == (1, 30000, {})
