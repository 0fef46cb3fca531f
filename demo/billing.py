"""The demo clients' plans, a month of usage and its invoice. Idempotent: ledger rows have fixed
keys, plans and accounts are created once, and last month's invoice is built and finalized once.

Alpina pays in francs with Swiss VAT (8.1 %), Lumière in euros with French VAT (20 %). Last month's
usage is recorded through `billing.usage.record` at times spread over days and nights, so whether
each contact and call was outside business hours comes from the clients' demo calendars (run
`demo.sla.seed` first); the invoice then shows the out-of-hours surcharge.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from billing import accounts, invoices, plans, usage
from billing.invoice_run import run_month
from billing.models import Invoice, InvoiceStatus, UsageKind
from billing.periods import days_in_month, local_month, previous_month
from core import tenancy
from core.extensions import db
from core.models_base import utcnow
from tenants.models import Tenant

PLANS = {
    "alpina": plans.PlanInput(
        name="Alpina Standard",
        base_fee="1500",
        included_contacts="150",
        price_per_contact="2.80",
        call_minute_price="1.20",
        chat_minute_price="0.90",
        agent_hour_price="68",
        increment_seconds="30",
        rounding="up",
        after_call_seconds="30",
        out_of_hours_surcharge_pct="50",
        included_languages="1",
        extra_language_fee="150",
        price_per_escalation="12",
        vat_percent="8.1",
        payment_terms_days="30",
        contract_start="2025-01-01",
    ),
    "lumiere": plans.PlanInput(
        name="Lumière Essentiel",
        base_fee="1200",
        included_contacts="100",
        price_per_contact="2.40",
        call_minute_price="0.95",
        chat_minute_price="0.80",
        agent_hour_price="55",
        increment_seconds="60",
        rounding="nearest",
        after_call_seconds="20",
        out_of_hours_surcharge_pct="40",
        included_languages="2",
        extra_language_fee="120",
        price_per_escalation="10",
        vat_percent="20",
        payment_terms_days="30",
        contract_start="2025-01-01",
    ),
}
ACCOUNTS = {
    "alpina": accounts.AccountInput(
        "buchhaltung@alpina.example", "Buchhaltung\nBahnhofstrasse 12\n8001 Zürich", "14"
    ),
    "lumiere": accounts.AccountInput(
        "comptabilite@lumiere.example", "Comptabilité\n12 rue de la Paix\n75002 Paris", "21"
    ),
}
# Rows per month and client, and the quantity of each row (seconds for calls, chats and time).
VOLUME = {
    "alpina": {
        UsageKind.CONTACT: 190,
        UsageKind.CALL: 70,
        UsageKind.CHAT: 30,
        UsageKind.TIME: 25,
        UsageKind.ESCALATION: 6,
    },
    "lumiere": {
        UsageKind.CONTACT: 130,
        UsageKind.CALL: 45,
        UsageKind.CHAT: 40,
        UsageKind.TIME: 15,
        UsageKind.ESCALATION: 4,
    },
}
QUANTITY: dict[UsageKind, Callable[[random.Random], int]] = {
    UsageKind.CONTACT: lambda rng: 1,
    UsageKind.CALL: lambda rng: rng.randint(40, 900),
    UsageKind.CHAT: lambda rng: rng.randint(120, 1500),
    UsageKind.TIME: lambda rng: rng.randint(5, 60) * 60,
    UsageKind.ESCALATION: lambda rng: 1,
}


def _moments(
    rng: random.Random, period_days: int, start: datetime, zone: ZoneInfo, count: int
) -> list[datetime]:
    """`count` instants in the month: mostly office hours, a quarter at night or on weekends."""
    moments = []
    for n in range(count):
        day = start.date() + timedelta(days=rng.randrange(period_days))
        hour = rng.choice([6, 20, 22, 2]) if n % 4 == 0 else rng.randint(9, 16)
        local = datetime.combine(day, time(hour, rng.randrange(60)), tzinfo=zone)
        moments.append(local.astimezone(UTC))
    return sorted(moments)


def _usage(tenant: Tenant, period_start: datetime) -> None:
    rng = random.Random(f"{tenant.slug}{period_start:%Y%m}")  # noqa: S311  (repeatable demo data)
    zone = ZoneInfo(tenant.timezone)
    days = days_in_month(period_start.date())
    for kind, count in VOLUME[tenant.slug].items():
        for n, at in enumerate(_moments(rng, days, period_start, zone, count)):
            usage.record(
                tenant.id,
                kind,
                f"demo:{period_start:%Y-%m}:{kind.value}:{n}",
                quantity=QUANTITY[kind](rng),
                occurred_at=at,
                language=tenant.default_language,
                data={"source": "manual"} if kind == UsageKind.TIME else None,
            )


def seed(by_slug: dict[str, Tenant], now: datetime | None = None) -> list[Invoice]:
    """Plans, accounts, last month's usage and its finalized invoice; the caller commits."""
    now = now or utcnow()
    built: list[Invoice] = []
    with tenancy.system_scope():
        for slug, tenant in sorted(by_slug.items()):
            if slug not in PLANS:
                continue
            if plans.plan_for(tenant.id) is None:  # a plan edited in the demo is kept
                plans.save_plan(tenant, PLANS[slug])
            if accounts.find_account(tenant.id) is None:
                accounts.save_account(tenant.id, ACCOUNTS[slug])
            period = previous_month(local_month(now, tenant.timezone))
            start = datetime.combine(period, time(), tzinfo=ZoneInfo(tenant.timezone))
            _usage(tenant, start)
            db.session.flush()
            existing = db.session.scalar(
                db.select(Invoice)
                .where(Invoice.tenant_id == tenant.id, Invoice.period_start == period)
                .order_by(Invoice.revision.desc())
                .limit(1)
            )
            if existing is None or existing.status == InvoiceStatus.DRAFT:
                result = run_month(period, [tenant.id], now=now)
                existing = db.session.get_one(Invoice, result.invoice_ids[0])
                invoices.finalize(existing, now=now)
            built.append(existing)
        db.session.flush()
    return built
