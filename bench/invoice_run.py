"""The monthly invoice run: 500 clients with plans and 2,000,000 ledger rows in one month.

    .venv/bin/python bench/invoice_run.py [--tenants 500] [--rows 2000000]

Target: under 60 s on PostgreSQL for the first run. The ledger is generated in the database (one
INSERT ... SELECT over generate_series as the owner role on PostgreSQL; batched inserts on SQLite):
40 % contacts, 20 % booked time (a quarter of it from logged calls), 25 % calls, 10 % chats,
5 % escalations, a fifth out of hours, plus a thousand corrections of calls. Clients are spread
over three time zones and four plan shapes (increments 1/30/60 s, rounding up or nearest), so the
per-call rounding runs with each client's own increment. Prints the figures: the first run, a
re-run that rebuilds every draft in place, and the aggregation alone.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, date, datetime, timedelta

import world  # noqa: F401  (sets the path and the instance folder)

PERIOD = date(2026, 10, 1)
ZONES = ("Europe/Zurich", "Europe/Paris", "Europe/London")
SHAPES = (("30", "up", "30"), ("60", "up", "0"), ("1", "nearest", "15"), ("60", "nearest", "20"))

# kind by (row number % 20): 8 contacts, 4 time, 5 calls, 2 chats, 1 escalation
KIND_SQL = """CASE WHEN g % 20 < 8 THEN 'contact' WHEN g % 20 < 12 THEN 'time' WHEN g % 20 < 17 THEN 'call'
  WHEN g % 20 < 19 THEN 'chat' ELSE 'escalation' END"""
QUANTITY_SQL = """CASE WHEN g % 20 < 8 OR g % 20 = 19 THEN 1 WHEN g % 20 < 12 THEN 60 + (g * 7919) % 3540
  WHEN g % 20 < 17 THEN 20 + (g * 104729) % 1180 ELSE 60 + (g * 1299709) % 1740 END"""
DATA_SQL = """CASE WHEN g % 20 BETWEEN 8 AND 11 THEN
  CASE WHEN g % 80 < 20 THEN '{"source": "call"}' ELSE '{"source": "manual"}' END ELSE '{}' END"""


def _generate_postgres(owner_url: str, tenant_ids: list[int], rows: int, start: datetime, span: int) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(owner_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                f"""
                INSERT INTO usage_events (tenant_id, kind, key, quantity, data, occurred_at, out_of_hours,
                                          language, note)
                SELECT (:ids)[1 + (g / 20) % :n], {KIND_SQL}, 'bench:' || g, {QUANTITY_SQL},
                       ({DATA_SQL})::json, :start + make_interval(secs => (g * 7) % :span),
                       g % 5 = 0, 'de', ''
                FROM generate_series(1, CAST(:rows AS bigint)) AS g
                """  # noqa: S608  (constant SQL fragments)
            ),
            {"ids": tenant_ids, "n": len(tenant_ids), "start": start, "span": span, "rows": rows},
        )
        conn.execute(
            text(
                """
                INSERT INTO usage_events (tenant_id, kind, key, quantity, data, occurred_at, out_of_hours,
                                          language, note, corrects_id)
                SELECT tenant_id, kind, 'bench-correction:' || id, -30, data, occurred_at, out_of_hours,
                       language, 'bench', id
                FROM usage_events WHERE kind = 'call' ORDER BY id LIMIT 1000
                """
            )
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE usage_events"))
    engine.dispose()


def _generate_sqlite(tenant_ids: list[int], rows: int, start: datetime, span: int) -> None:
    from sqlalchemy import insert

    from billing.models import UsageEvent
    from core.extensions import db

    kinds = ["contact"] * 8 + ["time"] * 4 + ["call"] * 5 + ["chat"] * 2 + ["escalation"]
    batch = []
    for g in range(1, rows + 1):
        kind = kinds[g % 20]
        quantity = {
            "contact": 1,
            "escalation": 1,
            "time": 60 + (g * 7919) % 3540,
            "call": 20 + (g * 104729) % 1180,
            "chat": 60 + (g * 1299709) % 1740,
        }[kind]
        data = {"source": "call" if g % 80 < 20 else "manual"} if kind == "time" else {}
        batch.append(
            {
                "tenant_id": tenant_ids[(g // 20) % len(tenant_ids)],
                "kind": kind,
                "key": f"bench:{g}",
                "quantity": quantity,
                "data": data,
                "occurred_at": start + timedelta(seconds=(g * 7) % span),
                "out_of_hours": g % 5 == 0,
                "language": "de",
                "note": "",
            }
        )
        if len(batch) == 20_000:
            db.session.execute(insert(UsageEvent), batch)
            batch = []
    if batch:
        db.session.execute(insert(UsageEvent), batch)
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=500)
    parser.add_argument("--rows", type=int, default=2_000_000)
    args = parser.parse_args()

    from sqlalchemy import func, select

    from billing import plans
    from billing.aggregate import month_usage
    from billing.invoice_run import run_month
    from billing.models import InvoiceLine, UsageEvent
    from core import tenancy
    from core.extensions import db
    from tenants.models import Tenant

    t0 = time.perf_counter()
    app, ids = world.build(args.tenants, assigned=0)
    with app.app_context(), tenancy.system_scope():
        for n, tenant in enumerate(db.session.scalars(select(Tenant).order_by(Tenant.id))):
            tenant.timezone = ZONES[n % len(ZONES)]
            tenant.languages = ["de", "en", "fr"][: 1 + n % 3]
            increment, rounding, after = SHAPES[n % len(SHAPES)]
            plans.save_plan(
                tenant,
                plans.PlanInput(
                    name="Bench",
                    base_fee="1500",
                    included_contacts=str(500 + n % 1000),
                    price_per_contact="2.80",
                    call_minute_price="1.20",
                    chat_minute_price="0.90",
                    agent_hour_price="68",
                    increment_seconds=increment,
                    rounding=rounding,
                    after_call_seconds=after,
                    out_of_hours_surcharge_pct="50",
                    extra_language_fee="150",
                    price_per_escalation="12",
                    vat_percent="8.1",
                    contract_start="2026-10-15" if n % 50 == 0 else "2025-01-01",
                ),
            )
        db.session.commit()
        # Inside the month in every zone (UTC+0 to +2): from the 1st 03:00 UTC to the 31st 20:00 UTC.
        start = datetime(PERIOD.year, PERIOD.month, 1, 3, tzinfo=UTC)
        span = int(timedelta(days=30, hours=17).total_seconds())
        backend = db.engine.dialect.name
        t1 = time.perf_counter()
        if backend == "postgresql":
            _generate_postgres(app.config["MIGRATE_DATABASE_URL"], ids, args.rows, start, span)
        else:
            _generate_sqlite(ids, args.rows, start, span)
        total_rows = db.session.scalar(select(func.count()).select_from(UsageEvent))
        print(
            f"backend={backend}: {args.tenants} clients with plans set up in {t1 - t0:.1f} s; "
            f"{total_rows:,} ledger rows in {PERIOD:%Y-%m} generated in {time.perf_counter() - t1:.1f} s"
        )

        started = time.perf_counter()
        result = run_month(PERIOD)
        db.session.commit()
        first = time.perf_counter() - started
        lines = db.session.scalar(select(func.count()).select_from(InvoiceLine))
        print(
            f"run_month (first run): {len(result.created)} draft invoices with {lines:,} lines in"
            f" {first:.2f} s ({total_rows / first:,.0f} ledger rows/s)"
            f" -- target < 60 s: {'OK' if first < 60 else 'MISSED'}"
        )

        started = time.perf_counter()
        again = run_month(PERIOD)
        db.session.commit()
        print(
            f"run_month (re-run, every draft rebuilt in place): {len(again.rebuilt)} drafts in"
            f" {time.perf_counter() - started:.2f} s, lines now"
            f" {db.session.scalar(select(func.count()).select_from(InvoiceLine)):,}"
        )

        zones = {tenant_id: ZONES[n % len(ZONES)] for n, tenant_id in enumerate(ids)}
        started = time.perf_counter()
        month_usage(PERIOD, zones)
        elapsed = time.perf_counter() - started
        print(f"aggregation alone (two GROUP BY queries per time zone): {elapsed:.2f} s")


if __name__ == "__main__":
    main()
