"""Kernel request overhead: bearer auth, tenancy scope, ORM criteria, template rendering.

Measures server time in-process (WSGI, no network) on a fresh database: SQLite by default, or
PostgreSQL when DATABASE_URL / MIGRATE_DATABASE_URL are set (the RLS path). Prints p50/p95/p99.

    .venv/bin/python bench/kernel.py [--requests 2000] [--tenants 200]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("FIRSTLINE_INSTANCE", tempfile.mkdtemp(prefix="firstline-bench-"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(label: str, call, n: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(min(50, n)):
        call()
    times = []
    start = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (label, response.status_code)
    total = time.perf_counter() - start
    print(
        f"{label:<44} n={n:<6} req/s={n / total:8.0f}  p50={statistics.median(times):6.2f} ms"
        f"  p95={percentile(times, 0.95):6.2f} ms  p99={percentile(times, 0.99):6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--tenants", type=int, default=200)
    args = parser.parse_args()

    import flask_migrate
    from sqlalchemy import create_engine, text

    from agents import services as agents
    from core import create_app, jobs, tenancy
    from core.auth import services as auth
    from core.auth.roles import Role
    from core.extensions import db
    from tenants import services as tenants

    app = create_app(
        {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024, "RATELIMIT_LOGIN": "1000000 per minute"}
    )
    with app.app_context():
        owner = create_engine(app.config["MIGRATE_DATABASE_URL"])
        with owner.begin() as conn:
            db.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        owner.dispose()
        flask_migrate.upgrade()
        with tenancy.system_scope():
            created = []
            for i in range(args.tenants):
                created.append(
                    tenants.create_tenant(
                        tenants.TenantInput(
                            slug=f"t{i}",
                            name=f"Tenant {i}",
                            languages=["de", "en"],
                            default_language="de",
                            timezone="Europe/Zurich",
                            currency="CHF",
                            ticket_prefix=f"T{i}",
                        )
                    )
                )
            agent = auth.create_user(
                email="agent@bench.example", name="Agent", role=Role.AGENT, password="bench-password"
            )
            for tenant in created[:20]:
                agents.assign(agent, tenant.id)
            jobs.commit()
    backend = app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0]
    print(f"backend={backend} tenants={args.tenants} python={sys.version.split()[0]}")

    client = app.test_client()
    token = client.post(
        "/api/v1/auth/token", json={"email": "agent@bench.example", "password": "bench-password"}
    ).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    measure("GET /api/v1/me (bearer auth)", lambda: client.get("/api/v1/me", headers=headers), args.requests)
    measure(
        "GET /api/v1/tenants?limit=50 (scoped list)",
        lambda: client.get("/api/v1/tenants?limit=50", headers=headers),
        args.requests,
    )
    measure("GET /login (anonymous page)", lambda: client.get("/login"), args.requests)
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    browser.post(
        "/login", data={"email": "agent@bench.example", "password": "bench-password", "csrf_token": csrf}
    )
    measure("GET /tenants (signed-in page, 20 clients)", lambda: browser.get("/tenants"), args.requests)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"max RSS of this process: {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
