"""A plan with negative or absurd values is refused field by field; a good one is kept in minor units."""

from __future__ import annotations

import pytest

from billing import plans
from core.errors import ValidationFailed
from tests.billing.helpers import plan_input
from tests.factories import World


def errors_of(**overrides: str) -> dict[str, object]:
    with pytest.raises(ValidationFailed) as caught:
        plans.validate(plan_input(**overrides))
    return caught.value.fields


def test_a_valid_plan_is_kept_in_minor_units_and_basis_points(world: World, system: None) -> None:
    saved = plans.save_plan(world.alpha, plan_input(base_fee="1'250.50", vat_percent="8,1"))
    assert saved.base_fee == 125050
    assert saved.vat_rate_bp == 810
    assert saved.price_per_contact == 250
    again = plans.PlanInput.of(saved)
    assert (again.base_fee, again.vat_percent, again.price_per_contact) == ("1250.50", "8.1", "2.50")
    assert plans.save_plan(world.alpha, again).id == saved.id  # one plan per client


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("base_fee", "-1"),
        ("base_fee", "abc"),
        ("base_fee", "1e9"),
        ("base_fee", "NaN"),
        ("base_fee", "Infinity"),
        ("price_per_contact", "0.001"),
        ("call_minute_price", "2000000"),
        ("included_contacts", "-5"),
        ("included_contacts", "1.5"),
        ("included_contacts", "²"),
        ("included_contacts", "9" * 5000),
        ("increment_seconds", "0"),
        ("increment_seconds", "86400"),
        ("after_call_seconds", "99999"),
        ("out_of_hours_surcharge_pct", "10000"),
        ("payment_terms_days", "-3"),
        ("rounding", "sideways"),
        ("name", ""),
        ("name", "x" * 101),
        ("contract_start", ""),
        ("contract_start", "0001-01-01"),
        ("contract_start", "yesterday"),
        ("contract_end", "2024-12-31"),
        ("contract_end", "soon"),
    ],
)
def test_bad_values_are_refused_on_their_field(field: str, value: str, app: object) -> None:
    with app.test_request_context():  # type: ignore[attr-defined]
        assert field in errors_of(**{field: value})


@pytest.mark.parametrize("value", ["-1", "50.01", "8.123", "x"])
def test_vat_is_a_percentage_between_0_and_50_with_two_decimals(value: str, app: object) -> None:
    with app.test_request_context():  # type: ignore[attr-defined]
        assert set(errors_of(vat_percent=value)) == {"vat_percent"}


def test_every_wrong_field_is_named_at_once(app: object) -> None:
    with app.test_request_context():  # type: ignore[attr-defined]
        fields = errors_of(base_fee="-1", increment_seconds="0", vat_percent="99", name="")
    assert set(fields) == {"base_fee", "increment_seconds", "vat_percent", "name"}
