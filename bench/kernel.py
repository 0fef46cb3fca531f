"""Kernel request overhead: bearer auth, tenancy scope, ORM criteria, template rendering.

Measures server time in-process (WSGI, no network) on a fresh database: SQLite by default, or
PostgreSQL when DATABASE_URL / MIGRATE_DATABASE_URL are set (the RLS path). Prints p50/p95/p99.

    .venv/bin/python bench/kernel.py [--requests 2000] [--tenants 200]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time

import world  # noqa: E402  (sets the path and the instance folder)


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

    app, _ids = world.build(args.tenants)
    backend = app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0]
    print(f"backend={backend} tenants={args.tenants} python={sys.version.split()[0]}")

    client = app.test_client()
    token = client.post(
        "/api/v1/auth/token", json={"email": world.AGENT_EMAIL, "password": world.AGENT_PASSWORD}
    ).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    measure("GET /api/v1/me (bearer auth)", lambda: client.get("/api/v1/me", headers=headers), args.requests)
    measure(
        "GET /api/v1/tenants?limit=50 (scoped list)",
        lambda: client.get("/api/v1/tenants?limit=50", headers=headers),
        args.requests,
    )
    measure("GET /login (anonymous page)", lambda: client.get("/login"), args.requests)
    browser = world.signed_in(app)
    measure("GET /tenants (signed-in page, 20 clients)", lambda: browser.get("/tenants"), args.requests)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"max RSS of this process: {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
