"""The SLA sweep over many running tickets: time of the catch-up run, of a steady one-minute run,
of an idle rerun, and the cost of the business-time arithmetic it is built on.

    .venv/bin/python bench/sla_sweep.py [--tickets 20000] [--tenants 20] [--escalations 500]

Half of the tenants count in a business calendar (Mon-Fri 08:00-18:00 Europe/Zurich, Swiss
holidays), half around the clock. Tickets are inserted in bulk with their clocks computed by
tickets.sla (the intake is not what is measured); one supervisor per tenant gets the mails.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import world  # noqa: F401  (sets the path and the instance folder)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--escalations", type=int, default=500)
    args = parser.parse_args()

    from sqlalchemy import func, insert, select, text

    from agents import services as agents
    from core import tenancy
    from core.auth import services as auth
    from core.auth.roles import Role
    from core.extensions import db
    from escalations.models import Escalation, Team
    from sla import calendar as bizcal
    from sla import calendars, policies
    from sla.models import SlaEvent
    from sla.sweep import sweep
    from tickets import sla
    from tickets.models import Ticket

    app, ids = world.build(args.tenants, assigned=0)
    now = datetime(2026, 6, 17, 10, 0, tzinfo=UTC)  # a Wednesday
    rng = random.Random(11)
    with app.app_context(), tenancy.system_scope():
        lead = auth.create_user(
            email="lead@bench.example", name="Lead", role=Role.SUPERVISOR, password="x" * 12
        )
        terms: dict[int, sla.Terms] = {}
        teams: dict[int, Team] = {}
        for n, tenant_id in enumerate(ids):
            agents.assign(lead, tenant_id)
            calendar_id = None
            if n % 2 == 0:
                calendar_id = calendars.create(
                    calendars.CalendarInput(
                        tenant_id=tenant_id,
                        name="Office",
                        timezone="Europe/Zurich",
                        hours={str(d): "08:00-18:00" for d in range(5)},
                        holiday_country="CH",
                    )
                ).id
            policy = policies.create(
                policies.PolicyInput(tenant_id=tenant_id, name="Default", calendar_id=calendar_id)
            )
            terms[tenant_id] = sla.Terms(policy, sla.calendar_schedule(tenant_id, calendar_id))
            teams[tenant_id] = Team(
                tenant_id=tenant_id, name="L2", timezone="Europe/Zurich", calendar_id=calendar_id
            )
            db.session.add(teams[tenant_id])
        db.session.commit()

        t0 = time.perf_counter()
        rows, numbers = [], dict.fromkeys(ids, 1000)
        for n in range(args.tickets):
            tenant_id = rng.choice(ids)
            numbers[tenant_id] += 1
            created = now - timedelta(minutes=rng.randrange(0, 5 * 24 * 60))
            ticket = Ticket(
                tenant_id=tenant_id,
                status=rng.choice(["new", "open", "open", "escalated"]),
                priority=rng.choice(["low", "normal", "normal", "high", "urgent"]),
                sla_policy_id=terms[tenant_id].policy.id,  # type: ignore[union-attr]
                created_at=created,
            )
            sla_terms = terms[tenant_id]
            ticket.first_response_due_at = sla_terms.due("first_response", ticket.priority, created)
            ticket.resolution_due_at = sla_terms.due("resolution", ticket.priority, created)
            if rng.random() < 0.5:
                ticket.first_response_at = created + timedelta(minutes=5)
            sla.refresh(ticket, now=created, terms=sla_terms)
            rows.append(
                {
                    "tenant_id": tenant_id,
                    "number": numbers[tenant_id],
                    "subject": f"Ticket {n}",
                    "status": ticket.status,
                    "priority": ticket.priority,
                    "category": "other",
                    "channel": "email",
                    "language": rng.choice(["de", "en"]),
                    "level": 1,
                    "tags": [],
                    "time_spent_seconds": 0,
                    "first_contact_resolution": False,
                    "customer_round_trip": False,
                    "was_escalated": False,
                    "created_at": created,
                    "updated_at": created,
                    "first_response_at": ticket.first_response_at,
                    "first_response_due_at": ticket.first_response_due_at,
                    "resolution_due_at": ticket.resolution_due_at,
                    "due_at": ticket.due_at,
                    "sla_check_at": ticket.sla_check_at,
                    "sla_policy_id": ticket.sla_policy_id,
                }
            )
            if len(rows) == 5_000:
                db.session.execute(insert(Ticket), rows)
                rows = []
        if rows:
            db.session.execute(insert(Ticket), rows)
        first_ids = list(db.session.scalars(select(Ticket.id, Ticket.tenant_id).limit(args.escalations)))
        for ticket_id in first_ids:
            ticket = db.session.get_one(Ticket, ticket_id)
            start = now - timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
            ack, resolve = sla.team_due_times(teams[ticket.tenant_id], start)
            db.session.add(
                Escalation(
                    tenant_id=ticket.tenant_id,
                    ticket_id=ticket.id,
                    team_id=teams[ticket.tenant_id].id,
                    level=2,
                    packet={},
                    created_at=start,
                    status=rng.choice(["open", "acknowledged"]),
                    ack_due_at=ack,
                    resolve_due_at=resolve,
                )
            )
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        backend = db.engine.dialect.name
        print(
            f"backend={backend}: {args.tickets} running tickets over {args.tenants} tenants and"
            f" {len(first_ids)} active escalations generated in {time.perf_counter() - t0:.1f} s"
        )

        def timed(at: datetime) -> tuple[float, object]:
            started = time.perf_counter()
            result = sweep(at)
            db.session.commit()
            return (time.perf_counter() - started) * 1000, result

        backlog = db.session.scalar(select(func.count()).where(Ticket.sla_check_at <= now))
        runs = []
        while db.session.scalar(select(func.count()).where(Ticket.sla_check_at <= now)):
            runs.append(timed(now))
        events = sum(r.warnings + r.breaches for _ms, r in runs)  # type: ignore[attr-defined]
        total = sum(ms for ms, _r in runs)
        print(
            f"catch-up: {backlog} tickets with a passed check time worked off in {len(runs)} runs"
            f" (longest {max(ms for ms, _r in runs):.0f} ms); {events} events and"
            f" {sum(r.mails for _ms, r in runs)} mails, {total / max(events, 1):.1f} ms per event"  # type: ignore[attr-defined]
        )
        ms, result = timed(now)
        print(f"idle rerun at the same instant (nothing new): {ms:.0f} ms, {result}")
        steady = []
        for minute in range(1, 11):
            ms, result = timed(now + timedelta(minutes=minute))
            steady.append((ms, result.checked))  # type: ignore[attr-defined]
        print(
            "steady one-minute runs (10 runs): "
            f"median {statistics.median(m for m, _c in steady):.0f} ms, "
            f"max {max(m for m, _c in steady):.0f} ms, "
            f"tickets checked per run {min(c for _m, c in steady)}-{max(c for _m, c in steady)}"
        )
        print(f"events recorded: {db.session.scalar(select(func.count()).select_from(SlaEvent))}")

        schedule = next(t.schedule for t in terms.values() if t.schedule is not None)
        start = datetime(2026, 6, 12, 15, 0, tzinfo=UTC)
        for minutes, label in ((240, "4 business hours"), (72 * 60, "72 business hours")):
            n = 2_000
            t = time.perf_counter()
            for _ in range(n):
                bizcal.add_business_minutes(schedule, start, minutes)
            per_call = (time.perf_counter() - t) / n * 1e6
            print(f"add_business_minutes({label}, office calendar, cached days): {per_call:.1f} µs per call")


if __name__ == "__main__":
    main()
