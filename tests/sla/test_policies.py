"""SLA policies: validation, which policy a ticket falls under, and no leak across clients."""

from __future__ import annotations

import pytest

from core.errors import ValidationFailed
from sla import policies
from tests.factories import World, make_ticket
from tickets import organizations
from tickets.models import Category


def _policy(world: World, name: str, **kwargs: object) -> policies.SlaPolicy:
    return policies.create(policies.PolicyInput(tenant_id=world.alpha.id, name=name, **kwargs))  # type: ignore[arg-type]


def test_the_most_specific_active_policy_applies(world: World, system: None) -> None:
    acme = organizations.create(world.alpha.id, organizations.OrganizationInput(name="Acme"))
    ticket = make_ticket(world.alpha, subject="Specific", key="p1")
    assert policies.policy_for(ticket) is None
    default = _policy(world, "Default")
    assert policies.policy_for(ticket) == default
    _policy(world, "Outages", category=Category.OUTAGE.value)
    assert policies.policy_for(ticket) == default
    ticket.category = Category.OUTAGE.value
    assert policies.policy_for(ticket).name == "Outages"
    _policy(world, "Acme", organization_id=acme.id)
    ticket.organization_id = acme.id
    assert policies.policy_for(ticket).name == "Acme"
    both = _policy(world, "Acme outages", organization_id=acme.id, category=Category.OUTAGE.value)
    assert policies.policy_for(ticket) == both
    both.active = False
    assert policies.policy_for(ticket).name == "Acme"


def test_ties_go_to_the_lower_position(world: World, system: None) -> None:
    ticket = make_ticket(world.alpha, subject="Ties", key="p2")
    _policy(world, "Second", position=5)
    first = _policy(world, "First", position=1)
    assert policies.policy_for(ticket) == first


def test_targets_are_positive_whole_minutes(world: World, system: None) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _policy(
            world,
            " ",
            targets={"first_response": {"urgent": "0", "high": "soon", "normal": "-5", "low": ""}},
            warn_percent="100",
        )
    fields = refused.value.fields
    assert set(fields) == {
        "name",
        "warn_percent",
        "target_first_response_urgent",
        "target_first_response_high",
        "target_first_response_normal",
    }
    assert "whole number of minutes" in str(fields["target_first_response_high"])


def test_empty_targets_are_not_stored_so_the_defaults_apply(world: World, system: None) -> None:
    policy = _policy(
        world, "Partial", targets={"resolution": {"urgent": "120", "low": " "}}, warn_percent="75"
    )
    assert policy.targets == {"resolution": {"urgent": 120}}
    assert policy.warn_percent == 75


def test_another_clients_organisation_or_calendar_is_refused_like_a_missing_one(
    world: World, system: None
) -> None:
    with pytest.raises(ValidationFailed) as foreign:
        _policy(
            world, "Sneaky", organization_id=world.beta_organization.id, calendar_id=world.beta_calendar.id
        )
    with pytest.raises(ValidationFailed) as missing:
        _policy(world, "Typo", organization_id=999_999, calendar_id=999_999)
    assert foreign.value.fields == missing.value.fields
    assert set(foreign.value.fields) == {"organization_id", "calendar_id"}


def test_an_update_cannot_move_a_policy_to_another_client(world: World, system: None) -> None:
    policy = _policy(world, "Mine")
    policies.update(policy, policies.PolicyInput(tenant_id=world.beta.id, name="Still mine"))
    assert (policy.tenant_id, policy.name) == (world.alpha.id, "Still mine")
