"""Inbound e-mail: how fast raw mail is stored, and how fast one RQ worker parses, threads and
stores it on PostgreSQL.

Builds a fresh schema with `--tenants` tenants, each with a support address and a set of
languages (de/en, de/fr/it/en, fr/de/en, it/de/en, en/de), and generates a corpus (`mail_corpus.py`):
~55% new mails in de/en/fr/it, ~25% replies (threading by In-Reply-To/References, or by
`[PREFIX-N]` in the subject), ~10% with a PDF or PNG of 20-300 KB, ~5% HTML-only and ~5%
out-of-office replies. Every message is stored with `channels.mail_inbound.receive_raw` (the
store rate, what an SMTP listener or MTA pipe sustains), which enqueues `process_inbound` on
RQ; then one `flask --app wsgi jobs worker --burst --queues default,mail` (an rq SimpleWorker)
drains the queue. A job processes its record and the tenant's other waiting ones
(`tickets.intake.process_batch`) and withdraws their jobs, so the rate counts messages
processed, not jobs. Prints messages/s of both steps, p50/p99 per job (from the RQ jobs'
started_at/ended_at; per message for the store), the CPU of the worker, PostgreSQL and Redis, how
busy the machine was, and what processing made of the corpus (tickets opened, replies threaded).

With `--profile N` no worker runs: the queued jobs are taken from Redis and run in this process
as the worker would (`core.jobs.execute`: tenancy scope, commit, enqueue) until N records are
processed, first timed (with the SQL statements per message, by kind), then N more under
cProfile: the time per stage, the own time per package and the hotspots are printed.

Needs PostgreSQL and Redis (DATABASE_URL, MIGRATE_DATABASE_URL, REDIS_URL); the database is
emptied and rebuilt, and the RQ queues of REDIS_URL are emptied.

    .venv/bin/python bench/inbound_mail.py [--messages 3000] [--tenants 20] [--seed 7]
        [--drain-seconds 600] [--profile 300]

The issue's target: at least 150 messages/s parsed, threaded and stored by one worker.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import io
import os
import pstats
import resource
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import world  # noqa: E402  (sets the path and the instance folder)
from create_api import cpu_seconds, empty_queues, machine_cpu, percentile, processes_named
from mail_corpus import AUTO_REPLY, MIX, OPENS_TICKET, Corpus, Mail

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
JOB = "tickets.intake.process_inbound"
LANGUAGE_SETS = (["de", "en"], ["de", "fr", "it", "en"], ["fr", "de", "en"], ["it", "de", "en"], ["en", "de"])
# Where the time of one message goes, for --profile: (file suffix, function) as cProfile names them.
STAGES = [
    ("core/jobs.py", "execute", "the whole job (core.jobs.execute)"),
    ("tickets/intake.py", "process_batch", "intake.process_batch (a job's records)"),
    ("tickets/intake.py", "_attempt", "one record's attempt (intake._attempt)"),
    ("tickets/intake.py", "_claim", "claiming the batch (intake._claim)"),
    ("channels/mail_parse.py", "parse", "parse (mail_parse.parse)"),
    ("email/parser.py", "parsebytes", "  stdlib message_from_bytes"),
    ("channels/mail_text.py", "sanitize_html", "  sanitize_html (nh3)"),
    ("channels/mail_text.py", "html_to_text", "  html_to_text"),
    ("channels/mail_text.py", "trim_reply", "  trim_reply"),
    ("channels/mail_noise.py", "classify", "classify noise"),
    ("channels/mail_threading.py", "thread", "thread (mail_threading.thread)"),
    ("channels/mail_inbound.py", "_store_attachments", "store attachments"),
    ("channels/mail_inbound.py", "_sender", "sender contact (threaded)"),
    ("tickets/intake.py", "open_from", "open_from (new tickets)"),
    ("i18n/detect.py", "detect", "  language detection"),
    ("tickets/contacts.py", "find_or_create", "  contacts.find_or_create"),
    ("tickets/services.py", "open_ticket", "  open_ticket"),
    ("tickets/services.py", "next_number", "    next_number"),
    ("tickets/sla.py", "start_clocks", "    sla.start_clocks"),
    ("billing/usage.py", "record", "  usage.record"),
    ("tickets/intake.py", "_acknowledge", "  _acknowledge"),
    ("flask/templating.py", "render_template", "    render_template"),
    ("core/outbox.py", "add", "    outbox.add"),
    ("tickets/services.py", "customer_wrote", "customer_wrote (threaded)"),
    ("sqlalchemy/orm/session.py", "flush", "Session.flush (all)"),
    ("sqlalchemy/orm/session.py", "commit", "Session.commit"),
    ("core/tenancy.py", "_scope_statements", "tenancy loader criteria (do_orm_execute)"),
    ("core/tenancy.py", "_apply_rls", "tenancy RLS set_config"),
    ("core/tenancy.py", "_refuse_foreign_writes", "tenancy before_flush check"),
    ("core/jobs.py", "_enqueue", "enqueue to Redis"),
]


# --- the world and the corpus -------------------------------------------------------------------


def support_addresses(app: Any, ids: list[int]) -> list[tuple[str, str, list[str]]]:
    """world.build makes de/en tenants without channels: give each a support address and one of
    the language sets; returns (prefix, address, languages) per tenant."""
    from core import jobs, tenancy
    from core.extensions import db
    from tenants.models import ChannelKind, Tenant, TenantChannel

    specs = []
    with app.app_context(), tenancy.system_scope():
        for index, tenant_id in enumerate(ids):
            tenant = db.session.get_one(Tenant, tenant_id)
            languages = LANGUAGE_SETS[index % len(LANGUAGE_SETS)]
            tenant.languages = list(languages)
            tenant.default_language = languages[0]
            address = f"support@{tenant.slug}.bench.example"
            db.session.add(TenantChannel(tenant_id=tenant_id, kind=ChannelKind.EMAIL.value, address=address))
            specs.append((tenant.ticket_prefix, address, list(languages)))
        jobs.commit()
        db.session.remove()
    return specs


def store(app: Any, mails: list[Mail], addresses: list[str]) -> list[float]:
    """receive_raw for every message, one after the other; ms per message."""
    from channels.mail_inbound import receive_raw
    from core.extensions import db

    times = []
    with app.app_context():
        for mail in mails:
            t0 = time.perf_counter()
            receive_raw(mail.raw, [addresses[mail.tenant_index]], source="bench")
            times.append((time.perf_counter() - t0) * 1000)
        db.session.remove()
        db.engine.dispose()  # this process holds no connections while the worker runs
    return times


# --- the worker ----------------------------------------------------------------------------------


def _redis(env: dict[str, str]) -> Any:
    import redis

    return redis.Redis.from_url(env["REDIS_URL"])


def drain(env: dict[str, str], database: str, limit: float, log_path: Path) -> dict[str, float]:
    """One `flask jobs worker --burst` until it stops (queues empty) or `limit` s; its wall and CPU
    time, and the CPU of PostgreSQL (this database's backends) and Redis meanwhile."""
    command = [str(BIN / "flask"), "--app", "wsgi", "jobs", "worker", "--burst", "--queues", "default,mail"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, total0 = machine_cpu()
    redis_pids = processes_named("redis-server")
    redis0 = sum(cpu_seconds(pid) for pid in redis_pids)
    backends = {pid: cpu_seconds(pid) for pid in processes_named("postgres: ", f" {database} ")}
    seen = dict(backends)
    t0 = time.perf_counter()
    with log_path.open("wb") as log:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + limit
    while worker.poll() is None and time.monotonic() < deadline:
        for pid in processes_named("postgres: ", f" {database} "):
            seen[pid] = cpu_seconds(pid) or seen.get(pid, 0.0)
        time.sleep(0.5)
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)  # warm shutdown: the running job finishes
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    took = time.perf_counter() - t0
    busy1, total1 = machine_cpu()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall": took,
        "worker": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "postgres": sum(cpu - backends.get(pid, 0.0) for pid, cpu in seen.items()),
        "redis": sum(cpu_seconds(pid) for pid in redis_pids) - redis0,
        "machine": busy1 - busy0,
        "cores": (total1 - total0) / took,
        "exit": float(worker.returncode),
    }


def job_times(env: dict[str, str], ids: list[str]) -> tuple[list[float], float, collections.Counter]:
    """Per-job ms (RQ's started_at to ended_at), the window from the first start to the last end,
    and the jobs' statuses."""
    from rq.job import Job

    jobs = [job for job in Job.fetch_many(ids, connection=_redis(env)) if job is not None]
    statuses = collections.Counter(job.get_status(refresh=False).value for job in jobs)
    done = [job for job in jobs if job.started_at and job.ended_at]
    if not done:
        return [], 0.0, statuses
    times = sorted((job.ended_at - job.started_at).total_seconds() * 1000 for job in done)
    window = (max(job.ended_at for job in done) - min(job.started_at for job in done)).total_seconds()
    return times, window, statuses


def mail_jobs(env: dict[str, str], since: datetime) -> list[float]:
    """ms per acknowledgement delivered (the outbox jobs the intake enqueued on `mail`) since then;
    earlier runs' jobs are still in the registry for RQ's result TTL."""
    from rq.job import Job
    from rq.registry import FinishedJobRegistry

    conn = _redis(env)
    ids = FinishedJobRegistry("mail", connection=conn).get_job_ids()
    jobs = [job for job in Job.fetch_many(ids, connection=conn) if job is not None]
    done = [job for job in jobs if job.started_at and job.ended_at and _aware(job.started_at) >= since]
    return sorted((job.ended_at - job.started_at).total_seconds() * 1000 for job in done)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def outcomes(app: Any) -> dict[str, int]:
    from sqlalchemy import func, select

    from core import tenancy
    from core.extensions import db
    from tickets.models import Attachment, InboundRecord, Ticket

    with app.app_context(), tenancy.system_scope():
        rows = db.session.execute(
            select(InboundRecord.status, InboundRecord.outcome, func.count()).group_by(
                InboundRecord.status, InboundRecord.outcome
            )
        ).all()
        found = {f"{status}/{outcome}": int(count) for status, outcome, count in rows}
        found["tickets"] = int(db.session.scalar(select(func.count()).select_from(Ticket)) or 0)
        found["attachments"] = int(db.session.scalar(select(func.count()).select_from(Attachment)) or 0)
        db.session.remove()
        db.engine.dispose()
    return found


# --- in-process profile ---------------------------------------------------------------------------


def profile(app: Any, n: int, warmup: int = 20) -> None:
    """Process records as the worker does, timed, then under cProfile: the queued jobs are taken
    from Redis in order and run with `core.jobs.execute` (tenancy scope, commit, enqueue), a job
    withdrawn by a batch that processed its record is skipped as RQ skips it; without RQ's own
    bookkeeping."""
    from rq import Queue
    from rq.exceptions import NoSuchJobError
    from rq.job import Job
    from sqlalchemy import event, func, select

    from core import jobs, tenancy
    from core.extensions import db
    from tickets.models import InboundRecord, InboundStatus

    conn = jobs.redis_connection(app)
    queue_key = Queue("default", connection=conn).key
    statements, counting = [0], [True]
    kinds: collections.Counter[str] = collections.Counter()

    def count(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        statements[0] += counting[0]
        if counting[0]:
            kinds[" ".join(sql.split())[:90]] += 1

    def next_job() -> Any:
        while (job_id := conn.lpop(queue_key)) is not None:
            try:
                return Job.fetch(job_id.decode(), connection=conn)
            except NoSuchJobError:
                continue
        return None

    def done() -> int:
        counting[0] = False
        with tenancy.system_scope():
            total = db.session.scalar(
                select(func.count())
                .select_from(InboundRecord)
                .where(InboundRecord.status != InboundStatus.RECEIVED.value)
            )
            db.session.remove()
        counting[0] = True
        return int(total or 0)

    def run(records: int, timed: list[float] | None = None) -> tuple[int, int]:
        """Jobs until `records` more records are processed; (records, jobs)."""
        start, ran = done(), 0
        while done() - start < records:
            job = next_job()
            if job is None:
                raise SystemExit(f"--profile {n} needs {warmup + 2 * n} messages (--messages)")
            t = time.perf_counter()
            jobs.execute(*job.args)
            if timed is not None:
                timed.append((time.perf_counter() - t) * 1000)
            ran += 1
        return done() - start, ran

    with app.app_context():
        t0 = time.perf_counter()
        run(warmup)
        warm = time.perf_counter() - t0
        print(f"in-process warm-up: {warmup}+ records in {warm:.2f} s (lingua loads its models)")

        event.listen(db.engine, "before_cursor_execute", count)
        times: list[float] = []
        cpu0 = time.process_time()
        records, ran = run(n, times)
        took, cpu = sum(times) / 1000, time.process_time() - cpu0
        event.remove(db.engine, "before_cursor_execute", count)
        times.sort()
        print(
            f"in-process (no RQ), {records} records in {ran} jobs: {records / took:.1f} msgs/s"
            f"  per job p50={statistics.median(times):.2f} ms p99={percentile(times, 0.99):.2f} ms"
            f"  CPU {cpu / records * 1000:.1f} ms/msg (incl. the counts between jobs) of"
            f" {took / records * 1000:.1f} ms wall; SQL statements/msg={statements[0] / records:.1f}"
            " (+ BEGIN, RLS set_config, COMMIT per job)"
        )
        print("statements per message, by kind:")
        for sql, calls in kinds.most_common(25):
            print(f"  {calls / records:6.2f}  {sql}")

        profiler = cProfile.Profile()
        profiler.enable()
        records, ran = run(n)
        profiler.disable()
    n = records
    entries = pstats.Stats(profiler).stats.items()  # type: ignore[attr-defined]
    print(f"\ncProfile of {n} more records (times inflated by the profiler); cumulative ms per message:")
    for suffix, name, label in STAGES:
        found = [
            (calls, cumulative)
            for (filename, _line, function), (_cc, calls, _tt, cumulative, _callers) in entries
            if function == name and filename.endswith(suffix)
        ]
        if found:
            calls = sum(c for c, _t in found)
            cumulative = max(t for _c, t in found)
            print(f"  {label:<44} {cumulative / n * 1000:8.2f} ms  ({calls / n:.1f} calls/msg)")
    packages: collections.Counter[str] = collections.Counter()
    for (filename, _line, _function), (_cc, _calls, tottime, _cum, _callers) in entries:
        packages[_package(filename)] += tottime
    print("\nown time by package, ms per message:")
    for package, seconds in packages.most_common(14):
        print(f"  {package:<30} {seconds / n * 1000:6.2f}")
    for order, limit in (("tottime", 30), ("cumulative", 45)):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(limit)
        print(f"\n--- top {limit} by {order} ---")
        print(out.getvalue().split("\n", 6)[-1].rstrip())


def _package(filename: str) -> str:
    """Where a profiled function lives: the installed package, the stdlib module or our package."""
    path = filename.replace("\\", "/")
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0].split(".", 1)[0]
    if path.startswith(str(ROOT)):
        return "firstline:" + path[len(str(ROOT)) + 1 :].split("/", 1)[0]
    if path.startswith("~") or path.startswith("<"):
        return "builtins"
    return "stdlib:" + path.rsplit("/", 1)[-1].split(".", 1)[0]


# --- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--drain-seconds", type=float, default=600, help="stop the worker after this")
    parser.add_argument("--profile", type=int, default=0, help="profile N records in-process, no worker")
    args = parser.parse_args()

    env = dict(os.environ)
    configured = all(env.get(name) for name in ("DATABASE_URL", "MIGRATE_DATABASE_URL", "REDIS_URL"))
    if not configured or not env["DATABASE_URL"].startswith("postgres"):
        # `make bench` on a bare machine: a skip, not a failure.
        print("skipped: needs PostgreSQL and Redis (DATABASE_URL, MIGRATE_DATABASE_URL, REDIS_URL)")
        return
    env.pop("SMTP_HOST", None)  # acknowledgements are written to the instance folder, never sent
    database = urlsplit(env["DATABASE_URL"]).path.lstrip("/")
    load_before = os.getloadavg()
    empty_queues(env["REDIS_URL"])

    app, ids = world.build(args.tenants, assigned=min(args.tenants, 20))
    specs = support_addresses(app, ids)
    t0 = time.perf_counter()
    mails = Corpus(args.messages, specs, seed=args.seed).mails()
    kinds = collections.Counter(mail.kind for mail in mails)
    languages = collections.Counter(mail.language for mail in mails)
    size = sum(len(mail.raw) for mail in mails)
    print(
        f"backend=postgresql tenants={args.tenants} python={sys.version.split()[0]} cpus={os.cpu_count()}"
        f" load average before={load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f}"
    )
    print(
        f"corpus: {len(mails)} messages, {size / 1e6:.1f} MB raw (median "
        f"{statistics.median(len(mail.raw) for mail in mails) / 1024:.1f} KB), generated in "
        f"{time.perf_counter() - t0:.1f} s; "
        + " ".join(f"{kind}={kinds[kind]}" for kind in MIX)
        + "; "
        + " ".join(f"{code}={count}" for code, count in sorted(languages.items()))
    )

    addresses = [address for _prefix, address, _languages in specs]
    times = store(app, mails, addresses)
    total = sum(times) / 1000
    times.sort()
    queued = _redis(env).llen("rq:queue:default")
    print(
        f"store (receive_raw, one process, sequential): {len(mails) / total:.0f} msgs/s"
        f" ({size / 1e6 / total:.1f} MB/s)  p50={statistics.median(times):.2f} ms"
        f"  p99={percentile(times, 0.99):.2f} ms  max={times[-1]:.1f} ms; {queued} jobs queued"
    )

    if args.profile:
        profile(app, args.profile)
        empty_queues(env["REDIS_URL"])
        return

    from rq import Queue

    job_ids = Queue("default", connection=_redis(env)).get_job_ids()
    log_path = Path(env["FIRSTLINE_INSTANCE"]) / "worker.log"
    started = datetime.now(UTC)
    used = drain(env, database, args.drain_seconds, log_path)
    times, window, statuses = job_times(env, job_ids)
    ran = statuses.get("finished", 0)
    found = outcomes(app)
    # A job processes its record and the tenant's other waiting ones (`intake.process_batch`) and
    # withdraws their jobs: the rate counts records, not jobs.
    done = sum(count for key, count in found.items() if key.startswith(("processed/", "ignored/")))
    if not times or not done:
        raise SystemExit(f"no job finished; see {log_path}")
    rate = done / window if window else 0.0
    print(
        f"process (1 x flask jobs worker --burst, rq SimpleWorker): {done} of {len(mails)} messages in"
        f" {window:.1f} s = {rate:.1f} msgs/s  (target 150); {ran} jobs ran ({done / ran:.1f} messages"
        f" each), {len(job_ids) - sum(statuses.values())} withdrawn; per job"
        f" p50={statistics.median(times):.1f} ms  p99={percentile(times, 0.99):.1f} ms"
        f"  max={times[-1]:.0f} ms  statuses={dict(statuses)}"
    )
    # Between two jobs the worker dequeues, saves the job's state and result, logs.
    print(
        f"  per message: {window / done * 1000:.1f} ms of the window, {sum(times) / done:.1f} ms inside"
        f" jobs: {(window * 1000 - sum(times)) / done:.1f} ms RQ overhead"
    )
    acks = mail_jobs(env, started)
    print(
        f"whole drain incl. worker start-up and {len(acks)} acknowledgements delivered"
        f" (mail queue, p50 {statistics.median(acks) if acks else 0:.1f} ms): {used['wall']:.1f} s"
        f" = {done / used['wall']:.1f} msgs/s end to end; worker exit={used['exit']:.0f}"
    )
    print(
        f"CPU ms per message: worker={used['worker'] / done * 1000:.2f}"
        f"  postgres={used['postgres'] / done * 1000:.2f}  redis={used['redis'] / done * 1000:.2f}"
        f"  | machine busy {used['machine'] / used['wall']:.2f} of {used['cores']:.0f} cores during the"
        f" drain, the worker {used['worker'] / used['wall']:.2f}; load average after={os.getloadavg()[0]:.2f}"
    )
    expected_new = sum(kinds[kind] for kind in OPENS_TICKET)
    expected_threaded = len(mails) - expected_new
    print(
        f"outcomes: {found} (expected {expected_new} new tickets, {expected_threaded} threaded"
        f" of which {kinds[AUTO_REPLY]} auto-replies)"
    )
    print(f"worker log: {log_path}")


if __name__ == "__main__":
    main()
