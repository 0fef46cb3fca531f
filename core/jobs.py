"""Background jobs: one decorator, RQ when Redis is configured, inline after commit otherwise.

Jobs are enqueued *after* the transaction that asked for them commits (never before: a worker
must not race the row it is about to read), and they receive ids and the tenant id, never ORM
objects. Work that must not be lost keeps its state in the database (outbox rows, inbound
records) and a periodic sweep re-enqueues it, so Redis is a delivery mechanism, not a store.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from core import tenancy
from core.audit import SYSTEM_ACTOR, acting_as
from core.extensions import db

log = logging.getLogger(__name__)

RETRY_INTERVALS = (10, 30, 120, 600, 1800)
_registry: dict[str, Job] = {}


@dataclass
class Job:
    """A registered job function; call it directly, or `.enqueue()` it for after the commit."""

    fn: Callable[..., Any]
    queue: str
    retries: int
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = f"{self.fn.__module__}.{self.fn.__qualname__}"
        functools.update_wrapper(self, self.fn)  # type: ignore[arg-type]

    def __call__(self, tenant_id: int | None, *args: Any, **kwargs: Any) -> Any:
        return self.fn(tenant_id, *args, **kwargs)

    def enqueue(
        self, tenant_id: int | None, *args: Any, queue: str | None = None, key: str | None = None
    ) -> None:
        """Run once the current transaction has committed; dropped if it rolls back. `key` names
        the queued job (its RQ id), so that a job that did its work can `withdraw` it."""
        _pending(db.session()).append(Call(self.name, tenant_id, args, queue or self.queue, key))

    def withdraw(self, keys: Iterable[str], queue: str | None = None) -> None:
        """Once the current transaction has committed, take the jobs named `keys` off the queue
        if they are still waiting there: this job did their work. One that a worker has taken
        already is left alone (it finds nothing to do), and so is everything if Redis is away."""
        session = db.session()
        for key in keys:
            _pending(session).append(Call(self.name, None, (), queue or self.queue, key, withdraw=True))


def job(queue: str = "default", retries: int = len(RETRY_INTERVALS)) -> Callable[..., Job]:
    """Register a job. Its first parameter is the tenant id (None for platform-wide sweeps)."""

    def register(fn: Callable[..., Any]) -> Job:
        registered = Job(fn, queue, retries)
        _registry[registered.name] = registered
        return registered

    return register


@dataclass(frozen=True)
class Call:
    name: str
    tenant_id: int | None
    args: tuple[Any, ...]
    queue: str = "default"
    key: str | None = None
    withdraw: bool = False  # take the waiting job `key` off the queue instead of adding one


def _pending(session: Session) -> list[Call]:
    return session.info.setdefault("jobs_pending", [])


@event.listens_for(Session, "after_commit")
def _promote(session: Session) -> None:
    pending = session.info.pop("jobs_pending", None)
    if pending:
        session.info.setdefault("jobs_ready", []).extend(pending)


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop("jobs_pending", None)


def commit() -> None:
    """The unit-of-work boundary: commit, then hand what was enqueued to the queue."""
    db.session.commit()
    dispatch_ready()


def dispatch_ready() -> None:
    session = db.session()
    if session.info.get("jobs_dispatching"):
        return  # an inline job committed inside the loop below; the loop picks its calls up
    session.info["jobs_dispatching"] = True
    try:
        while ready := session.info.pop("jobs_ready", None):
            if current_app.config["JOBS_INLINE"]:
                for call in ready:
                    if not call.withdraw:  # inline, nothing ever waits in a queue
                        _run_inline(call)
            else:
                _enqueue(ready)
    finally:
        session.info.pop("jobs_dispatching", None)


def _run_inline(call: Call) -> None:
    try:
        execute(call.name, call.tenant_id, call.args)
    except Exception:
        # The job's own rows keep its state; the scheduler's sweeps retry it.
        log.exception("inline job %s failed", call.name)


# Removes each job still waiting in the queue (KEYS[1]) and its hash (KEYS[i + 1]); a job a worker
# has popped is not in the list any more and is left alone. (RQ skips an id without a hash, too.)
_WITHDRAW = """
local removed = 0
for i, id in ipairs(ARGV) do
    if redis.call("LREM", KEYS[1], 1, id) > 0 then
        redis.call("DEL", KEYS[i + 1])
        removed = removed + 1
    end
end
return removed
"""


def _enqueue(calls: list[Call]) -> None:
    """Hand a commit's calls to RQ in one Redis round trip (MULTI/EXEC), not two per job."""
    try:
        from rq import Retry
        from rq.job import Job as RqJob

        withdrawn: dict[str, list[str]] = {}
        with redis_connection().pipeline() as pipe:
            for call in calls:
                if call.withdraw:
                    withdrawn.setdefault(call.queue, []).append(str(call.key))
                    continue
                job_ = _registry[call.name]
                queue(call.queue).enqueue_call(
                    execute,
                    args=(call.name, call.tenant_id, call.args),
                    retry=Retry(max=job_.retries, interval=list(RETRY_INTERVALS[: job_.retries]))
                    if job_.retries
                    else None,
                    description=f"{call.name} tenant={call.tenant_id}",
                    job_id=call.key,
                    pipeline=pipe,
                )
            for name, keys in withdrawn.items():
                job_keys = [RqJob.key_for(key) for key in keys]
                pipe.eval(_WITHDRAW, 1 + len(keys), queue(name).key, *job_keys, *keys)
            pipe.execute()
    except Exception:
        names = ", ".join(sorted({call.name for call in calls}))
        log.exception("could not enqueue %s; the sweeps will re-enqueue", names)


def redis_connection(app: Flask | None = None) -> Any:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    conn = app.extensions.get("firstline_redis")
    if conn is None:
        import redis

        conn = redis.Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=10)
        app.extensions["firstline_redis"] = conn
    return conn


def queue(name: str) -> Any:
    from rq import Queue

    return Queue(name, connection=redis_connection())


_engine_pid = os.getpid()


def _after_fork() -> None:
    """RQ forks a work horse per job; pooled connections must not cross the fork."""
    global _engine_pid
    if os.getpid() != _engine_pid:
        for engine in db.engines.values():
            engine.dispose(close=False)
        _engine_pid = os.getpid()


def execute(name: str, tenant_id: int | None, args: tuple[Any, ...] | list[Any]) -> Any:
    """Run a registered job in its tenancy scope and commit; the entry point RQ calls."""
    _after_fork()
    job_ = _registry.get(name)
    if job_ is None:
        raise LookupError(f"unknown job {name}")
    scope = tenancy.SYSTEM if tenant_id is None else tenancy.tenants([tenant_id])
    session = db.session()
    with tenancy.using(scope), acting_as(SYSTEM_ACTOR):
        try:
            result = job_.fn(tenant_id, *args)
            session.commit()
        except Exception:
            session.rollback()
            raise
    if not current_app.config["JOBS_INLINE"]:
        dispatch_ready()
        db.session.remove()
    return result


def registered() -> dict[str, Job]:
    return dict(_registry)
