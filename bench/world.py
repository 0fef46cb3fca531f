"""Shared setup of the benchmarks: a fresh schema, N tenants, and an agent of the first 20.

Not a benchmark itself (`run_all.py` skips it).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("FIRSTLINE_INSTANCE", tempfile.mkdtemp(prefix="firstline-bench-"))

AGENT_EMAIL = "agent@bench.example"
AGENT_PASSWORD = "bench-password"


def build(tenant_count: int, assigned: int = 20) -> tuple[Any, list[int]]:
    """A new app on an empty, migrated database; returns it and the tenant ids."""
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
            ids = [
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
                ).id
                for i in range(tenant_count)
            ]
            agent = auth.create_user(
                email=AGENT_EMAIL, name="Agent", role=Role.AGENT, password=AGENT_PASSWORD
            )
            for tenant_id in ids[:assigned]:
                agents.assign(agent, tenant_id)
            jobs.commit()
    return app, ids


def vacuum_analyze(app: Any, *tables: str) -> None:
    """Planner statistics and a set visibility map, as autovacuum would leave them a while after a
    bulk load. As the owner: the app role may not VACUUM or ANALYZE tables it does not own
    (PostgreSQL skips them with a warning), and without statistics the planner guesses."""
    from sqlalchemy import create_engine, text

    engine = create_engine(app.config.get("MIGRATE_DATABASE_URL") or app.config["SQLALCHEMY_DATABASE_URI"])
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if conn.dialect.name == "postgresql":
            for table in tables:
                conn.execute(text(f"VACUUM ANALYZE {table}"))
        else:
            conn.execute(text("ANALYZE"))
    engine.dispose()


def signed_in(app: Any) -> Any:
    """A test client with the agent's session cookie."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    client.post("/login", data={"email": AGENT_EMAIL, "password": AGENT_PASSWORD, "csrf_token": csrf})
    return client
