"""Plans and ledger rows for the billing tests."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

from billing import plans
from billing.models import Plan, UsageEvent, UsageKind
from core.extensions import db
from tenants.models import Tenant

_KEYS = itertools.count(1)
NOV = date(2025, 11, 1)
# A Wednesday in November 2025, in office hours in Zurich (UTC+1).
MIDDAY = datetime(2025, 11, 11, 10, 0, tzinfo=UTC)
NIGHT = datetime(2025, 11, 11, 23, 30, tzinfo=UTC)


def plan_input(**overrides: str) -> plans.PlanInput:
    values: dict[str, Any] = {
        "name": "Standard",
        "base_fee": "500",
        "included_contacts": "100",
        "price_per_contact": "2.50",
        "call_minute_price": "1.20",
        "chat_minute_price": "0.90",
        "agent_hour_price": "60",
        "increment_seconds": "30",
        "rounding": "up",
        "after_call_seconds": "30",
        "out_of_hours_surcharge_pct": "50",
        "included_languages": "1",
        "extra_language_fee": "100",
        "price_per_escalation": "15",
        "vat_percent": "8.1",
        "payment_terms_days": "30",
        "contract_start": "2025-01-01",
        "contract_end": "",
    }
    values.update(overrides)
    return plans.PlanInput(**values)


def make_plan(tenant: Tenant, **overrides: str) -> Plan:
    return plans.save_plan(tenant, plan_input(**overrides))


def add_usage(
    tenant: Tenant,
    kind: UsageKind,
    quantity: int = 1,
    *,
    at: datetime = MIDDAY,
    out_of_hours: bool = False,
    key: str | None = None,
    data: dict[str, Any] | None = None,
) -> UsageEvent:
    """A ledger row as it is stored, with its out-of-hours flag given (not computed)."""
    event = UsageEvent(
        tenant_id=tenant.id,
        kind=kind.value,
        key=key or f"test:{kind.value}:{next(_KEYS)}",
        quantity=quantity,
        occurred_at=at,
        out_of_hours=out_of_hours,
        data=data or {},
    )
    db.session.add(event)
    db.session.flush()
    return event
