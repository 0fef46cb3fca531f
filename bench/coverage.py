"""The coverage grid at provider scale: 50 clients × 4 languages, 200 agents with a week of shifts.

    .venv/bin/python bench/coverage.py [--tenants 50] [--agents 200] [--runs 20]

Prints the median time of the pure computation (`coverage.compute`), of the service with its three
queries (`coverage.grid`, 168 hours, every client), and of the whole page for a provider admin
(`GET /agent/coverage`, which also renders the 33,600 cells) and for one client (`?tenant=`).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import world  # noqa: E402  (sets the path and the instance folder)

LANGUAGES = ["de", "en", "fr", "it"]
ADMIN_EMAIL = "admin@bench.example"


def _median_ms(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _profile(fn) -> None:  # type: ignore[no-untyped-def]
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(fn)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="print where one grid and one page spend time")
    args = parser.parse_args()

    from sqlalchemy import insert, select, update

    from agents import coverage
    from agents.models import AgentAssignment, AgentLanguage, AgentShift
    from core import jobs, tenancy
    from core.auth import services as auth
    from core.auth.models import User
    from core.auth.roles import Role
    from core.extensions import db
    from core.models_base import utcnow
    from tenants.models import Tenant

    app, ids = world.build(args.tenants, assigned=0)
    rng = random.Random(7)
    now = utcnow()
    with app.app_context(), tenancy.system_scope():
        db.session.execute(update(Tenant).values(languages=LANGUAGES))
        auth.create_user(
            email=ADMIN_EMAIL, name="Admin", role=Role.PROVIDER_ADMIN, password=world.AGENT_PASSWORD
        )
        users = [
            auth.create_user(
                email=f"a{i}@bench.example", name=f"Agent {i}", role=Role.AGENT, password="x" * 12
            )
            for i in range(args.agents)
        ]
        jobs.commit()
        assignments, skills, shifts = [], [], []
        day0 = now.replace(hour=0, minute=0, second=0, microsecond=0)
        for user in users:
            for tenant_id in rng.sample(ids, 5):
                assignments.append({"tenant_id": tenant_id, "user_id": user.id})
            for language in rng.sample(LANGUAGES, rng.choice([2, 3])):
                skills.append(
                    {
                        "user_id": user.id,
                        "language": language,
                        "level": rng.choice(["native", "fluent", "basic"]),
                    }
                )
            start_hour = rng.choice([6, 14, 22])
            for day in rng.sample(range(8), 5):  # five 8-hour shifts in the window
                starts = day0 + timedelta(days=day, hours=start_hour)
                shifts.append(
                    {
                        "user_id": user.id,
                        "starts_at": starts,
                        "ends_at": starts + timedelta(hours=8),
                        "note": "",
                    }
                )
        db.session.execute(insert(AgentAssignment), assignments)
        db.session.execute(insert(AgentLanguage), skills)
        db.session.execute(insert(AgentShift), shifts)
        jobs.commit()

        zone = ZoneInfo("Europe/Zurich")
        tenants = list(db.session.scalars(select(Tenant).order_by(Tenant.name)))
        keys = [(t.id, language) for t in tenants for language in t.languages]
        hours = coverage.hour_starts(now, zone, coverage.WEEK_HOURS)
        serves, speaks, spans = coverage._load([t.id for t in tenants], hours[0], hours[-1] + coverage.HOUR)
        compute_ms = _median_ms(
            lambda: coverage.compute(keys, hours, spans, serves, speaks, since=now), args.runs
        )
        grid_ms = _median_ms(lambda: coverage.grid(zone, now=now), args.runs)
        found = coverage.grid(zone, now=now)
        cells = sum(len(r.cells) for r in found.rows)
        zero = sum(1 for r in found.rows for c in r.cells if c.count == 0)
        first_tenant = tenants[0].id
        db.session.execute(update(User).where(User.email == ADMIN_EMAIL).values(timezone="Europe/Zurich"))
        jobs.commit()

    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    client.post("/login", data={"email": ADMIN_EMAIL, "password": world.AGENT_PASSWORD, "csrf_token": csrf})
    assert client.get("/agent/coverage").status_code == 200
    if args.profile:
        with app.app_context(), tenancy.system_scope():
            _profile(lambda: coverage.grid(zone, now=now))
        _profile(lambda: client.get("/agent/coverage"))
    page_ms = _median_ms(lambda: client.get("/agent/coverage"), max(args.runs // 4, 3))
    one_ms = _median_ms(lambda: client.get(f"/agent/coverage?tenant={first_tenant}"), args.runs)
    size = len(client.get("/agent/coverage").data) / 1e6

    backend = str(app.config["SQLALCHEMY_DATABASE_URI"]).split(":")[0]
    print(
        f"coverage grid: {args.tenants} clients × {len(LANGUAGES)} languages × 168 hours = {cells:,} cells, "
        f"{args.agents} agents, {len(spans)} shifts ({zero:,} gap cells), {backend}"
    )
    print(f"  compute (pure Python)            median {compute_ms:7.1f} ms")
    print(f"  grid (three queries + compute)   median {grid_ms:7.1f} ms")
    print(f"  GET /agent/coverage, all clients median {page_ms:7.1f} ms ({size:.1f} MB of HTML)")
    print(f"  GET /agent/coverage?tenant=…     median {one_ms:7.1f} ms")


if __name__ == "__main__":
    main()
