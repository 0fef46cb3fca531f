"""Ticket creation over the JSON API against a real gunicorn: `POST /api/v1/tickets`.

Builds a fresh schema with N tenants and an agent of the first `--spread` of them, issues the
agent a bearer token, starts gunicorn (`platform/gunicorn.conf.py`, `--workers` workers) on a
free loopback port with the same environment, and drives it with `--clients` threads, each
over one keep-alive `http.client` connection, posting tickets round-robin over the agent's
tenants. Prints req/s and p50/p95/p99 as the clients see them (the load generator shares the
machine's cores with the server), the CPU time per request of the web workers, PostgreSQL,
Redis and the load generator, how busy the machine was (other work skews the figures), the RSS
of every gunicorn worker after the run and, with `--drain`, how long `flask --app wsgi jobs
worker --burst` takes to turn the queued intake jobs into tickets.

Needs PostgreSQL and Redis (DATABASE_URL, MIGRATE_DATABASE_URL, REDIS_URL); the database is
emptied and rebuilt, and the RQ queues of REDIS_URL are emptied.

    .venv/bin/python bench/create_api.py [--seconds 20] [--warmup 5] [--clients 16] [--tenants 200]
        [--spread 20] [--workers 2] [--threads 0] [--drain [--drain-workers 1] [--drain-seconds 60]]

The issue's target: at least 400 tickets/s sustained with 16 clients, p99 under 100 ms, and
each web worker under 200 MB RSS after the run.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import world  # noqa: E402  (sets the path and the instance folder)

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PATH = "/api/v1/tickets"
TICKS = os.sysconf("SC_CLK_TCK")


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- processes, CPU and memory from /proc -----------------------------------------------------


def _stat(pid: int) -> list[str]:
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def children(parent: int) -> list[int]:
    found = []
    for pid in _pids():
        try:
            if int(_stat(pid)[1]) == parent:
                found.append(pid)
        except OSError:
            continue
    return sorted(found)


def cpu_seconds(pid: int, reaped: bool = False) -> float:
    """utime + stime of a process (all its threads), with `reaped` also that of the children it
    has waited for (gunicorn's master: the workers replaced meanwhile); 0 once it is gone."""
    try:
        fields = _stat(pid)
    except OSError:
        return 0.0
    return sum(int(value) for value in fields[11 : 15 if reaped else 13]) / TICKS


def processes_named(prefix: str, contains: str = "") -> list[int]:
    found = []
    for pid in _pids():
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith(prefix) and contains in title:
            found.append(pid)
    return found


def machine_cpu() -> tuple[float, float]:
    """Busy and total CPU seconds of the machine since boot, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    total = sum(values)
    return (total - values[3] - values[4]) / TICKS, total / TICKS


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) in kB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _sep, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def connections(pid: int, port: int) -> int:
    """Established TCP connections to `port` held by process `pid` (keep-alive clients)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
            inodes.add(fields[9])
    held = 0
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = str(fd.readlink())
            except OSError:
                continue
            held += target.startswith("socket:[") and target[8:-1] in inodes
    except OSError:
        return 0
    return held


class CpuMeter:
    """CPU seconds used during a window by gunicorn (master and workers, replaced ones too),
    the PostgreSQL backends of the database, Redis and this process (the load generator)."""

    def __init__(self, master: int, database: str, *others: int):
        self.masters = (master, *others)  # more than one gunicorn: the chat's stream nodes
        self.database = database

    def snapshot(self) -> dict[str, object]:
        groups = {
            "web": [pid for master in self.masters for pid in children(master)],
            "postgres": processes_named("postgres: ", f" {self.database} "),
            "redis": processes_named("redis-server"),
        }
        pids = {name: {pid: cpu_seconds(pid) for pid in group} for name, group in groups.items()}
        for master in self.masters:
            pids["web"][master] = cpu_seconds(master, reaped=True)
        return {
            "pids": pids,
            "client": time.process_time(),
            "machine": machine_cpu(),
        }

    @staticmethod
    def used(before: dict[str, object], after: dict[str, object]) -> dict[str, float]:
        used: dict[str, float] = {}
        for name, pids in after["pids"].items():  # type: ignore[attr-defined]
            old = before["pids"].get(name, {})  # type: ignore[attr-defined]
            used[name] = sum(cpu - old.get(pid, 0.0) for pid, cpu in pids.items())
        used["client"] = after["client"] - before["client"]  # type: ignore[operator]
        (busy0, total0), (busy1, total1) = before["machine"], after["machine"]  # type: ignore[misc]
        used["machine"] = busy1 - busy0
        used["cores"] = (total1 - total0) / max(1e-9, time_window(before, after))
        return used


def time_window(before: dict[str, object], after: dict[str, object]) -> float:
    return float(after["wall"]) - float(before["wall"])  # type: ignore[arg-type]


# --- gunicorn ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_gunicorn(
    port: int, workers: int, threads: int, extra: list[str], log_path: Path, config: str = "gunicorn.conf.py"
) -> subprocess.Popen:
    command = [
        str(BIN / "gunicorn"),
        "-c",
        str(ROOT / "platform" / config),
        "--chdir",
        str(ROOT),  # import this checkout's code, not an installed copy
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
    ]
    if threads:
        command += ["--threads", str(threads)]
    command += extra
    with log_path.open("wb") as log:
        return subprocess.Popen([*command, "wsgi:app"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def wait_healthy(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}; see its log")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            healthy = conn.getresponse().status == 200
            conn.close()
            if healthy:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /healthz in time")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- the load ---------------------------------------------------------------------------------


class Load:
    """Client threads over keep-alive connections; latencies are kept only while measuring."""

    def __init__(self, port: int, token: str, tenant_ids: list[int], clients: int):
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.tenants = tenant_ids
        self.lock = threading.Lock()
        self.measuring = False
        self.done = threading.Event()
        self.latencies: list[list[float]] = [[] for _ in range(clients)]
        self.errors: dict[str, int] = {}
        self.reconnects = 0
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(clients)]

    def body(self, n: int) -> bytes:
        return json.dumps(
            {
                "tenant_id": self.tenants[n % len(self.tenants)],
                "subject": f"Geschirrspüler zeigt Fehler E{n % 30}",
                "body": "Guten Tag, seit gestern zeigt unser Geschirrspüler den Fehler "
                f"E{n % 30} und pumpt das Wasser nicht mehr ab. Was können wir tun? (Anfrage {n})",
                "name": f"Kunde {n % 500}",
                "email": f"kunde{n % 500}@example.org",
                # The channel's idempotency key: a retry after a dropped keep-alive is one ticket.
                "external_id": uuid.uuid4().hex,
            }
        ).encode()

    def count(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1

    def post(self, conn: http.client.HTTPConnection, payload: bytes) -> tuple[int | None, object]:
        for attempt in range(2):
            try:
                conn.request("POST", PATH, payload, self.headers)
                response = conn.getresponse()
                response.read()
                return response.status, conn
            except (http.client.HTTPException, OSError) as exc:
                # The server closed the keep-alive connection (a worker was replaced): reconnect
                # and send the same body again; its external id makes it one ticket.
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    self.count(type(exc).__name__)
                else:
                    with self.lock:
                        self.reconnects += 1
        return None, conn

    def run(self, index: int) -> None:
        conn: object = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        mine = self.latencies[index]
        for n in itertools.count(index, len(self.threads)):
            if self.done.is_set():
                break
            payload = self.body(n)
            measuring = self.measuring
            t0 = time.perf_counter()
            status, conn = self.post(conn, payload)  # type: ignore[arg-type]
            elapsed = (time.perf_counter() - t0) * 1000
            if status is None:
                continue
            if status != 202:
                self.count(f"HTTP {status}")
            elif measuring and self.measuring:
                mine.append(elapsed)
        conn.close()  # type: ignore[attr-defined]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(timeout=35)


# --- the RQ queue -----------------------------------------------------------------------------


def _queue(redis_url: str, name: str = "default"):  # type: ignore[no-untyped-def]
    import redis
    from rq import Queue

    return Queue(name, connection=redis.Redis.from_url(redis_url))


def empty_queues(redis_url: str) -> None:
    from core.config import QUEUES

    for name in QUEUES:
        _queue(redis_url, name).empty()


def drain(env: dict[str, str], limit: float, workers: int) -> float:
    """Run `flask jobs worker --burst` processes until they stop (queue empty) or `limit` s."""
    command = [str(BIN / "flask"), "--app", "wsgi", "jobs", "worker", "--burst", "--queues", "default"]
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    deadline = time.monotonic() + limit
    while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
        time.sleep(0.1)
    took = time.perf_counter() - t0
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # warm shutdown: the running job finishes
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return took


def processed(app) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from core import tenancy
    from core.extensions import db
    from tickets.models import InboundRecord, InboundStatus

    with app.app_context(), tenancy.system_scope():
        count = db.session.scalar(
            select(func.count())
            .select_from(InboundRecord)
            .where(InboundRecord.status == InboundStatus.PROCESSED.value)
        )
        db.session.remove()
        db.engine.dispose()
    return int(count or 0)


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20, help="measured load")
    parser.add_argument("--warmup", type=float, default=5, help="load before measuring")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--spread", type=int, default=20, help="the agent's tenants; tickets go to them")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=0, help="gunicorn threads per worker (0: the conf's)")
    parser.add_argument(
        "--gunicorn-args", default="", help='more gunicorn options: --gunicorn-args="--max-requests 0"'
    )
    parser.add_argument("--drain", action="store_true", help="then drain the queue with RQ workers")
    parser.add_argument("--drain-workers", type=int, default=1)
    parser.add_argument("--drain-seconds", type=float, default=60, help="stop draining after this")
    args = parser.parse_args()

    env = dict(os.environ)
    configured = all(env.get(name) for name in ("DATABASE_URL", "MIGRATE_DATABASE_URL", "REDIS_URL"))
    if not configured or not env["DATABASE_URL"].startswith("postgres"):
        # `make bench` on a bare machine: a skip, not a failure.
        print("skipped: needs PostgreSQL and Redis (DATABASE_URL, MIGRATE_DATABASE_URL, REDIS_URL)")
        return
    database = urlsplit(env["DATABASE_URL"]).path.lstrip("/")
    empty_queues(env["REDIS_URL"])

    app, ids = world.build(args.tenants, assigned=args.spread)
    response = app.test_client().post(
        "/api/v1/auth/token", json={"email": world.AGENT_EMAIL, "password": world.AGENT_PASSWORD}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    token = response.get_json()["token"]
    with app.app_context():
        from core.extensions import db

        db.engine.dispose()  # this process holds no connections during the run

    port = free_port()
    log_path = Path(env["FIRSTLINE_INSTANCE"]) / "gunicorn.log"
    server = start_gunicorn(port, args.workers, args.threads, shlex.split(args.gunicorn_args), log_path)
    load = Load(port, token, ids[: args.spread], args.clients)
    try:
        wait_healthy(port, server)
        first_workers = children(server.pid)
        meter = CpuMeter(server.pid, database)
        load.start()
        time.sleep(args.warmup)
        before = {**meter.snapshot(), "wall": time.perf_counter()}
        load.measuring = True
        time.sleep(args.seconds)
        load.measuring = False
        after = {**meter.snapshot(), "wall": time.perf_counter()}
        held = {pid: connections(pid, port) for pid in children(server.pid)}
        load.finish()
        rss = {pid: memory(pid) for pid in children(server.pid)}
    finally:
        load.done.set()
        stop(server)

    window = time_window(before, after)
    used = CpuMeter.used(before, after)
    times = sorted(itertools.chain.from_iterable(load.latencies))
    n = len(times)
    print(
        f"backend=postgresql gunicorn workers={args.workers} clients={args.clients} "
        f"tenants={args.tenants} (tickets to {args.spread}) python={sys.version.split()[0]}"
    )
    if not n:
        raise SystemExit(f"no successful request; errors: {load.errors}; see {log_path}")
    print(
        f"POST {PATH} (202, through the intake): n={n} in {window:.1f} s  req/s={n / window:.0f}  "
        f"p50={statistics.median(times):.1f} ms  p95={percentile(times, 0.95):.1f} ms  "
        f"p99={percentile(times, 0.99):.1f} ms  max={times[-1]:.1f} ms"
    )
    replaced = len(set(first_workers) - set(rss))
    print(
        f"errors={load.errors or 0} reconnects={load.reconnects} workers replaced during the run={replaced}"
    )
    others = used["machine"] - used["web"] - used["postgres"] - used["redis"] - used["client"]
    print(
        "CPU ms per request: "
        + "  ".join(f"{name}={used[name] / n * 1000:.2f}" for name in ("web", "postgres", "redis", "client"))
        + f"  | machine busy {used['machine'] / window:.2f} of {used['cores']:.0f} cores,"
        f" other processes {max(0.0, others) / window:.2f} cores"
    )
    web_before, web_after = before["pids"]["web"], after["pids"]["web"]  # type: ignore[index]
    for pid, values in sorted(rss.items()):
        busy = (web_after.get(pid, 0.0) - web_before.get(pid, 0.0)) / window
        print(
            f"gunicorn worker pid={pid}: VmRSS={values['VmRSS'] / 1024:.0f} MB "
            f"(peak VmHWM={values['VmHWM'] / 1024:.0f} MB)  busy {busy:.2f} cores, "
            f"{held.get(pid, 0)} client connections"
        )
    print(f"gunicorn log: {log_path}")

    backlog = _queue(env["REDIS_URL"]).count
    if not args.drain:
        print(f"intake jobs queued for a worker: {backlog} (--drain measures an RQ worker)")
        return
    done_before = processed(app)
    took = drain(env, args.drain_seconds, args.drain_workers)
    done = processed(app) - done_before
    left = _queue(env["REDIS_URL"]).count
    rate = done / took
    print(
        f"RQ drain ({args.drain_workers} x flask jobs worker --burst): {done} of {backlog} queued intake jobs"
        f" made tickets in {took:.1f} s ({rate:.1f} jobs/s)"
        + (
            f"; {left} left, the whole backlog would take about {backlog / rate:.0f} s"
            if left and rate
            else ""
        )
    )


if __name__ == "__main__":
    main()
