"""Agent inbox first page over many tickets: server time of `GET /agent/` for an agent of
20 clients, with tickets spread over all tenants.

    .venv/bin/python bench/inbox.py [--tickets 200000] [--tenants 200] [--requests 200]

The issue's target is 1,000,000 tickets over 200 tenants (`--tickets 1000000`); generating them
takes about three minutes. `--reuse` measures again what a previous run generated: on PostgreSQL
the database of DATABASE_URL, on SQLite the one in FIRSTLINE_INSTANCE (the generating run prints
that folder). Rows are inserted in bulk, bypassing the intake, because the benchmark measures
reading, not writing.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import world  # noqa: E402  (sets the path and the instance folder)

# First-response targets in minutes, as tickets.sla's defaults.
TARGETS = {"urgent": 30, "high": 60, "normal": 240, "low": 480}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--reuse", action="store_true", help="measure the tickets a previous run left")
    args = parser.parse_args()
    if args.reuse:
        from core import create_app

        measure(create_app({"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024}), args.requests)
        return

    from sqlalchemy import insert

    from core import tenancy
    from core.extensions import db
    from tickets.models import Ticket

    app, ids = world.build(args.tenants)
    with app.app_context(), tenancy.system_scope():
        rng = random.Random(7)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        statuses = [
            "new",
            "open",
            "pending_customer",
            "resolved",
            "closed",
            "closed",
            "closed",
            "resolved",
        ]
        t0 = time.perf_counter()
        batch, numbers = [], dict.fromkeys(ids, 1000)
        for n in range(args.tickets):
            tenant_id = rng.choice(ids)
            numbers[tenant_id] += 1
            created = start + timedelta(minutes=n)
            status = rng.choice(statuses)
            priority = rng.choice(["low", "normal", "normal", "high", "urgent"])
            running = status in ("new", "open")
            batch.append(
                {
                    "tenant_id": tenant_id,
                    "number": numbers[tenant_id],
                    "subject": f"Ticket {n}",
                    "status": status,
                    "priority": priority,
                    "category": "other",
                    "channel": rng.choice(["email", "phone", "webform"]),
                    "language": rng.choice(["de", "en"]),
                    "level": 1,
                    "tags": [],
                    "time_spent_seconds": 0,
                    "first_contact_resolution": False,
                    "customer_round_trip": False,
                    "was_escalated": False,
                    "created_at": created,
                    "updated_at": created,
                    "due_at": created + timedelta(minutes=TARGETS[priority]) if running else None,
                }
            )
            if len(batch) == 10_000:
                db.session.execute(insert(Ticket), batch)
                batch = []
        if batch:
            db.session.execute(insert(Ticket), batch)
        db.session.commit()
        where = "" if db.engine.dialect.name == "postgresql" else f" (in {os.environ['FIRSTLINE_INSTANCE']})"
        print(
            f"generated {args.tickets} tickets over {args.tenants} tenants"
            f" in {time.perf_counter() - t0:.1f} s{where}"
        )

    world.vacuum_analyze(app, "tickets")
    measure(app, args.requests)


def measure(app: object, requests: int) -> None:
    client = world.signed_in(app)
    for _ in range(10):
        assert client.get("/agent/").status_code == 200
    rows = client.get("/agent/").get_data(as_text=True).count('name="ticket" value=')
    # As a gunicorn worker does after loading the app (platform/gunicorn.conf.py): what is loaded
    # so far, here the generator's leftovers too, moves out of the collector's way.
    gc.collect()
    gc.freeze()
    times = []
    for _ in range(requests):
        t = time.perf_counter()
        response = client.get("/agent/")
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200
    times.sort()
    backend = app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0]
    print(
        f"backend={backend} GET /agent/ (first page of {rows} rows, agent of 20 clients): "
        f"p50={statistics.median(times):.1f} ms p95={times[int(0.95 * len(times)) - 1]:.1f} ms "
        f"p99={times[int(0.99 * len(times)) - 1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
