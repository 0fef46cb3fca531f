"""A client's dashboard over 12 months with 1,000,000 tickets: the rollup rebuild, the report read
from the rollups, the dashboard request, and a filtered report read from the raw tickets.

    .venv/bin/python bench/reports.py [--tickets 1000000] [--others 100000] [--tenants 2] [--runs 20]
    .venv/bin/python bench/reports.py --reuse   # measure what a previous run generated

PostgreSQL only (skipped on SQLite: the issue's target is PostgreSQL's). The tickets are generated
in the database as the owner role (one INSERT ... SELECT over generate_series each for tickets,
escalations, surveys and knowledge-base searches): the measured client gets `--tickets` over the
last 365 days, the other clients `--others` between them. Distributions: contacts by the hour of
an office day (some at night), channels (email 38 %, phone 30 %, chat 16 %, web form 12 %, fax
4 %), languages (de 60 %, en 25 %, fr 15 %), nine categories, priorities; first answers in
minutes (live channels at once), about 10 % escalated (a fifth of them on to level 3), 22 % with a
wait for the customer, the rest resolved at first contact; the last days still open; surveys sent
for a third of the resolved tickets, 30 % of them answered. Tickets run on an SLA policy with an
office-hours calendar, so business times are computed as for a real client.

Prints (a) the rollup rebuild of the 12 months in seconds, with the rows and table size, (b)
`reports.metrics.report` over the 12 months from the rollups, (c) the dashboard request if the
app has one (else the report plus `Report.as_dict()` as JSON), p50/p95 of `--runs` runs each,
and the raw path (email only, last 30 days).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any

import world  # noqa: E402  (sets the path and the instance folder)

DAYS = 365
AGENTS = 20
ADMIN_EMAIL = "reports-admin@bench.example"
# 100 slots: the hour of the day a contact arrives (UTC; the client is in Zurich).
HOURS = (
    [0, 1, 2, 3, 4, 5]
    + [6] * 3
    + [7] * 8
    + [8] * 10
    + [9] * 10
    + [10] * 9
    + [11] * 7
    + [12] * 8
    + [13] * 9
    + [14] * 8
    + [15] * 7
    + [16] * 5
    + [17] * 4
    + [18] * 3
    + [19] * 2
    + [20] * 2
    + [21, 22, 23]
)
CATEGORIES = (
    ["fault"] * 5
    + ["usage_question"] * 4
    + ["billing_payment"] * 3
    + ["product_question"] * 2
    + ["delivery_status"] * 2
    + ["order", "complaint_return", "outage", "other"]
)

TICKETS_SQL = """
WITH r AS MATERIALIZED (
    SELECT g,
           CAST(:start AS timestamptz) + ((g - 1)::bigint * :days / :n) * interval '1 day'
               + (CAST(:hours AS int[]))[1 + floor(random() * 100)::int] * interval '1 hour'
               + random() * interval '1 hour' AS created,
           random() AS r_channel, random() AS r_language, random() AS r_priority,
           random() AS r_answer, random() AS r_busy, random() AS r_escalate, random() AS r_l3,
           random() AS r_wait, random() AS r_resolve, random() AS r_kb, random() AS r_close,
           (CAST(:categories AS text[]))[1 + floor(random() * 20)::int] AS category,
           (CAST(:agents AS int[]))[1 + floor(random() * cardinality(CAST(:agents AS int[])))::int] AS agent
    FROM generate_series(1, CAST(:n AS int)) AS g
), t AS (
    SELECT *,
           CASE WHEN r_channel < 0.38 THEN 'email' WHEN r_channel < 0.68 THEN 'phone'
                WHEN r_channel < 0.84 THEN 'chat' WHEN r_channel < 0.96 THEN 'webform'
                ELSE 'fax' END AS channel,
           CASE WHEN r_language < 0.60 THEN 'de' WHEN r_language < 0.85 THEN 'en' ELSE 'fr' END AS language,
           CASE WHEN r_priority < 0.03 THEN 'urgent' WHEN r_priority < 0.15 THEN 'high'
                WHEN r_priority < 0.90 THEN 'normal' ELSE 'low' END AS priority,
           r_escalate < 0.10 AS escalated,
           r_escalate < 0.02 AS level3,
           r_escalate >= 0.10 AND r_wait < 0.22 AS waits
    FROM r
), a AS (
    SELECT *,
           created + CASE WHEN channel IN ('phone', 'chat') THEN r_answer * interval '4 minutes'
                          ELSE -ln(1 - r_answer) * interval '40 minutes' END
                   + CASE WHEN r_busy < 0.05 THEN interval '5 hours' ELSE interval '0' END AS answered,
           CASE priority WHEN 'urgent' THEN interval '30 minutes' WHEN 'high' THEN interval '1 hour'
                         WHEN 'normal' THEN interval '4 hours' ELSE interval '8 hours' END AS fr_target,
           CASE priority WHEN 'urgent' THEN interval '4 hours' WHEN 'high' THEN interval '16 hours'
                         WHEN 'normal' THEN interval '40 hours' ELSE interval '80 hours' END AS res_target
    FROM t
), d AS (
    SELECT *,
           answered + CASE WHEN escalated
                                THEN interval '30 minutes' + (0.2 + 3 * r_resolve) * interval '1 day'
                           WHEN waits THEN (2 - 16 * ln(1 - r_resolve)) * interval '1 hour'
                           WHEN channel IN ('phone', 'chat') THEN interval '6 minutes'
                           ELSE interval '2 minutes' END AS resolves
    FROM a
), s AS (
    SELECT *,
           answered <= CAST(:now AS timestamptz) AS is_answered,
           resolves <= CAST(:now AS timestamptz) AS is_resolved
    FROM d
)
INSERT INTO tickets (tenant_id, number, subject, status, priority, category, channel, language, level,
                     assignee_id, tags, time_spent_seconds, first_contact_resolution, customer_round_trip,
                     was_escalated, kb_resolution, created_at, updated_at, first_response_at, resolved_at,
                     closed_at, first_response_due_at, resolution_due_at, due_at, sla_paused_at,
                     sla_policy_id, team_id)
SELECT :tenant, 1000 + g, 'Bench ticket ' || g,
       CASE WHEN is_resolved AND r_close < 0.4 AND resolves < CAST(:now AS timestamptz) - interval '10 days'
                THEN 'closed'
            WHEN is_resolved THEN 'resolved'
            WHEN escalated AND is_answered THEN 'escalated'
            WHEN waits AND is_answered THEN 'pending_customer'
            WHEN is_answered THEN 'open' ELSE 'new' END,
       priority, category, channel, language,
       CASE WHEN level3 THEN 3 WHEN escalated THEN 2 ELSE 1 END,
       CASE WHEN is_answered THEN agent END, '[]',
       240 + floor(r_kb * 900)::int + CASE WHEN escalated THEN 900 ELSE 0 END,
       is_resolved AND NOT escalated AND NOT waits, waits, escalated,
       is_resolved AND NOT escalated AND r_kb < 0.15,
       created, CASE WHEN is_resolved THEN resolves WHEN is_answered THEN answered ELSE created END,
       CASE WHEN is_answered THEN answered END, CASE WHEN is_resolved THEN resolves END, NULL,
       created + fr_target, created + res_target,
       CASE WHEN NOT is_resolved AND NOT (waits AND is_answered) THEN
            CASE WHEN is_answered THEN created + res_target ELSE created + fr_target END END,
       CASE WHEN is_resolved THEN resolves WHEN waits AND is_answered THEN answered END,
       :policy, CASE WHEN level3 THEN :l3 WHEN escalated THEN :l2 END
FROM s
"""

# The second level's escalation of every escalated ticket (forwarded for those that reached level 3),
# then the third level's.
ESCALATIONS_SQL = """
INSERT INTO escalations (tenant_id, ticket_id, team_id, level, status, packet, urgent, created_by_id,
                         created_at, ack_due_at, resolve_due_at, acknowledged_at, closed_at, page_attempts)
SELECT tenant_id, id, :l2, 2,
       CASE WHEN level = 3 THEN 'forwarded' WHEN resolved_at IS NOT NULL THEN 'resolved'
            ELSE 'acknowledged' END,
       CAST('{}' AS json), priority = 'urgent', assignee_id,
       first_response_at + interval '30 minutes', first_response_at + interval '90 minutes',
       first_response_at + interval '30 minutes' + interval '3 days',
       first_response_at + interval '30 minutes' + (id % 110) * interval '1 minute',
       CASE WHEN level = 3 THEN first_response_at + interval '20 hours' ELSE resolved_at END, 0
FROM tickets WHERE tenant_id = :tenant AND was_escalated AND first_response_at IS NOT NULL
UNION ALL
SELECT tenant_id, id, :l3, 3,
       CASE WHEN resolved_at IS NOT NULL THEN 'resolved' ELSE 'acknowledged' END,
       CAST('{}' AS json), priority = 'urgent', assignee_id,
       first_response_at + interval '20 hours', first_response_at + interval '21 hours',
       first_response_at + interval '20 hours' + interval '3 days',
       first_response_at + interval '20 hours' + (id % 150) * interval '1 minute', resolved_at, 0
FROM tickets WHERE tenant_id = :tenant AND level = 3 AND first_response_at IS NOT NULL
"""

SURVEYS_SQL = """
INSERT INTO satisfaction_surveys (tenant_id, ticket_id, token, language, sent_at, rating, answered_at)
SELECT tenant_id, id, 'bench-' || id, language, resolved_at,
       CASE WHEN r < 0.3 THEN CASE WHEN r2 < 0.05 THEN 1 WHEN r2 < 0.1 THEN 2 WHEN r2 < 0.2 THEN 3
                                   WHEN r2 < 0.45 THEN 4 ELSE 5 END END,
       CASE WHEN r < 0.3 THEN resolved_at + r2 * interval '20 hours' END
FROM (SELECT tenant_id, id, language, resolved_at, random() AS r, random() AS r2
      FROM tickets WHERE tenant_id = :tenant AND resolved_at IS NOT NULL AND id % 3 = 0) AS resolved
"""

SEARCHES_SQL = """
INSERT INTO kb_searches (tenant_id, query, language, source, hits, created_at)
SELECT :tenant, 'query ' || (g % 50), CASE WHEN g % 4 = 0 THEN 'en' ELSE 'de' END, 'desk',
       CASE WHEN random() < 0.15 THEN 0 ELSE 1 + (g % 7) END,
       CAST(:start AS timestamptz) + random() * (CAST(:now AS timestamptz) - CAST(:start AS timestamptz))
FROM generate_series(1, CAST(:n AS int)) AS g
"""


def _percentiles(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    median = statistics.median(ordered)
    return f"p50 {median:.1f} ms, p95 {p95:.1f} ms (min {ordered[0]:.1f}, max {ordered[-1]:.1f})"


def _timed(runs: int, work: Callable[[], Any]) -> list[float]:
    work()  # warm-up: imports, statement caches, the first connection
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _setup(app: Any, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each client's SLA policy (the measured one's on an office-hours calendar), second- and
    third-level teams, and the agents (assigned to every client); a provider admin."""
    from agents import services as agents
    from core import tenancy
    from core.auth import services as auth
    from core.auth.roles import Role
    from core.extensions import db
    from escalations.models import Team
    from sla import calendars, policies
    from tenants.models import Tenant

    made: dict[int, dict[str, Any]] = {}
    with app.app_context(), tenancy.system_scope():
        users = [
            auth.create_user(
                email=f"agent{n}@bench.example", name=f"Agent {n}", role=Role.AGENT, password="x" * 12
            )
            for n in range(AGENTS)
        ]
        auth.create_user(
            email=ADMIN_EMAIL, name="Admin", role=Role.PROVIDER_ADMIN, password=world.AGENT_PASSWORD
        )
        for n, tenant_id in enumerate(ids):
            tenant = db.session.get_one(Tenant, tenant_id)
            tenant.languages = ["de", "en", "fr"]
            calendar_id = None
            if n == 0:
                calendar_id = calendars.create(
                    calendars.CalendarInput(
                        tenant_id=tenant_id,
                        name="Office",
                        timezone="Europe/Zurich",
                        hours={str(d): "08:00-18:00" for d in range(5)},
                        holiday_country="CH",
                        holiday_subdivision="ZH",
                    )
                ).id
            policy = policies.create(
                policies.PolicyInput(tenant_id=tenant_id, name="Standard", calendar_id=calendar_id)
            )
            teams = [
                Team(
                    tenant_id=tenant_id,
                    name=name,
                    level=level,
                    timezone="Europe/Zurich",
                    calendar_id=calendar_id,
                )
                for name, level in (("Second level", 2), ("IT", 3))
            ]
            db.session.add_all(teams)
            for user in users:
                agents.assign(user, tenant_id)
            db.session.flush()
            made[tenant_id] = {
                "policy": policy.id,
                "l2": teams[0].id,
                "l3": teams[1].id,
                "agents": [user.id for user in users],
            }
        db.session.commit()
    return made


def _generate(owner_url: str, tenant_id: int, setup: dict[str, Any], tickets: int, now: datetime) -> None:
    from sqlalchemy import create_engine, text

    start = datetime.combine((now - timedelta(days=DAYS)).date(), clock(), UTC)
    params = {"tenant": tenant_id, "start": start, "now": now, "days": DAYS, **setup}
    engine = create_engine(owner_url)
    with engine.begin() as conn:
        conn.execute(text("SELECT setseed(:seed)"), {"seed": (tenant_id % 100) / 100})
        ticket_params = {"n": tickets, "hours": HOURS, "categories": CATEGORIES, **params}
        conn.execute(text(TICKETS_SQL), ticket_params)
        conn.execute(text(ESCALATIONS_SQL), {"tenant": tenant_id, "l2": setup["l2"], "l3": setup["l3"]})
        conn.execute(text(SURVEYS_SQL), {"tenant": tenant_id})
        conn.execute(
            text(SEARCHES_SQL), {"tenant": tenant_id, "start": start, "now": now, "n": tickets // 20}
        )
        conn.execute(
            text(
                "INSERT INTO ticket_counters (tenant_id, last_number) VALUES (:tenant, 1000 + :n)"
                " ON CONFLICT (tenant_id) DO UPDATE SET last_number = excluded.last_number"
            ),
            {"n": tickets, "tenant": tenant_id},
        )
    engine.dispose()


_TABLES = ("tickets", "escalations", "satisfaction_surveys", "kb_searches", "report_daily")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000, help="tickets of the measured client")
    parser.add_argument("--others", type=int, default=100_000, help="tickets of the other clients together")
    parser.add_argument("--tenants", type=int, default=2)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--raw-runs", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="measure what a previous run generated")
    parser.add_argument("--profile", action="store_true", help="profile one report() call")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("reports.py: skipped, PostgreSQL only (set DATABASE_URL and MIGRATE_DATABASE_URL)")
        return

    from sqlalchemy import func, select, text

    from core import create_app, tenancy
    from core.extensions import db
    from escalations.models import Escalation
    from reports.models import ReportDaily
    from tenants.models import Tenant
    from tickets.models import SatisfactionSurvey, Ticket

    now = datetime.now(UTC)
    if args.reuse:
        app = create_app({"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024})
        with app.app_context(), tenancy.system_scope():
            ids = list(db.session.scalars(select(Tenant.id).order_by(Tenant.id)))
            newest = db.session.scalar(select(func.max(Ticket.created_at)).where(Ticket.tenant_id == ids[0]))
            now = max(now, newest or now)
    else:
        t0 = time.perf_counter()
        app, ids = world.build(args.tenants, assigned=0)
        setups = _setup(app, ids)
        owner = app.config["MIGRATE_DATABASE_URL"]
        for n, tenant_id in enumerate(ids):
            count = args.tickets if n == 0 else args.others // max(1, len(ids) - 1)
            _generate(owner, tenant_id, setups[tenant_id], count, now)
        world.vacuum_analyze(app, *_TABLES)
        print(f"generated in {time.perf_counter() - t0:.1f} s")
    tenant_id = ids[0]
    last = now.date()
    first = last - timedelta(days=DAYS - 1)
    with app.app_context(), tenancy.system_scope():
        counts = {
            "tickets": db.session.scalar(
                select(func.count()).select_from(Ticket).where(Ticket.tenant_id == tenant_id)
            ),
            "escalations": db.session.scalar(
                select(func.count()).select_from(Escalation).where(Escalation.tenant_id == tenant_id)
            ),
            "surveys answered": db.session.scalar(
                select(func.count())
                .select_from(SatisfactionSurvey)
                .where(SatisfactionSurvey.tenant_id == tenant_id, SatisfactionSurvey.rating.is_not(None))
            ),
            "all clients' tickets": db.session.scalar(select(func.count()).select_from(Ticket)),
        }
    print("measured client: " + ", ".join(f"{name} {value:,}" for name, value in counts.items()))

    if not args.reuse:
        _rebuild_all(app, ids, tenant_id, first, last, now)
        world.vacuum_analyze(app, *_TABLES)
    with app.app_context(), tenancy.system_scope():
        rows = db.session.execute(
            text("SELECT count(*), pg_total_relation_size('report_daily') FROM report_daily")
        ).one()
        mine = db.session.scalar(
            select(func.count()).select_from(ReportDaily).where(ReportDaily.tenant_id == tenant_id)
        )
        db.session.rollback()
    print(
        f"report_daily: {rows[0]:,} rows over all clients ({mine:,} of the measured one),"
        f" {rows[1] / 2**20:.1f} MB with indexes"
    )
    # As a gunicorn worker does after loading the app (platform/gunicorn.conf.py): what is
    # loaded so far moves out of the collector's way.
    gc.collect()
    gc.freeze()
    _measure(app, args, tenant_id, first, last)


def _rebuild_all(app: Any, ids: list[int], tenant_id: int, first: date, last: date, now: datetime) -> None:
    import resource

    from core import tenancy
    from core.extensions import db
    from reports import rollup

    with app.app_context():
        for each in ids:
            started = time.perf_counter()
            with tenancy.system_scope():
                made = rollup.rebuild(each, first, last, now)
            db.session.commit()
            took = time.perf_counter() - started
            label = (
                "(a) rollup rebuild, 12 months, measured client"
                if each == tenant_id
                else f"    rollup rebuild, client {each}"
            )
            print(f"{label}: {took:.1f} s, {made:,} rows")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"    max RSS of the benchmark process so far: {rss:.0f} MB")


def _dashboard_url(app: Any, tenant_id: int) -> str | None:
    """The provider's dashboard of one client over a year, if this build has it."""
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    path = next((path for path in ("/admin/reports", "/admin/reports/") if path in routes), None)
    return f"{path}?tenant={tenant_id}&preset=365d" if path else None


def _measure(app: Any, args: argparse.Namespace, tenant_id: int, first: date, last: date) -> None:
    from core import tenancy
    from core.extensions import db
    from reports.facts import Filters
    from reports.metrics import Query, report

    year = Query((tenant_id,), first, last)

    def in_request(work: Callable[[], Any]) -> Callable[[], Any]:
        """As a request does: the client's scope, a fresh session, one transaction."""

        def run() -> Any:
            with app.app_context(), tenancy.only(tenant_id):
                try:
                    return work()
                finally:
                    db.session.rollback()
                    db.session.remove()

        return run

    found = in_request(lambda: report(year))()
    totals = found.totals
    print(
        f"    12 months: {totals.created:,} created, {totals.resolved:,} resolved, FCR {totals.fcr_rate:.1%},"
        f" L2 {totals.l2_rate:.1%}, L3 {totals.l3_rate:.1%},"
        f" first answers in time {totals.fr_compliance:.1%},"
        f" CSAT {totals.csat_average:.2f} ({totals.csat_count:,})"
    )
    times = _timed(args.runs, in_request(lambda: report(year)))
    print(f"(b) report() over 12 months from the rollups, {args.runs} runs: {_percentiles(times)}")
    as_json = in_request(lambda: json.dumps(report(year).as_dict()))
    size = len(as_json())
    url = _dashboard_url(app, tenant_id)
    if url:
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        csrf = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
        client.post(
            "/login", data={"email": ADMIN_EMAIL, "password": world.AGENT_PASSWORD, "csrf_token": csrf}
        )
        status = client.get(url).status_code
        if status == 200:
            times = _timed(args.runs, lambda: client.get(url))
            print(f"(c) GET {url} (provider admin, in-process), {args.runs} runs: {_percentiles(times)}")
        else:
            print(f"(c) GET {url} answered {status}; measuring report() plus as_dict() as JSON instead")
            url = None
    if not url:
        print(
            "(c) report() plus as_dict() as JSON (no dashboard route in this build)"
            f" ({size / 1024:.0f} KB), {args.runs} runs: {_percentiles(_timed(args.runs, as_json))}"
        )
    month = Query((tenant_id,), last - timedelta(days=29), last, Filters(channel="email"))
    raw = in_request(lambda: report(month))
    print(
        f"    raw path (channel=email, last 30 days; {raw().totals.created:,} tickets), {args.raw_runs} runs:"
        f" {_percentiles(_timed(args.raw_runs, raw))}"
    )
    if args.profile:
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.runcall(in_request(lambda: report(year)))
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
