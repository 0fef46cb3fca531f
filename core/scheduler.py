"""Periodic sweeps: one scheduler loop enqueues due sweeps; the sweeps themselves are jobs.

Each sweep is claimed with a conditional UPDATE on its row, so two schedulers running at once
(a deploy overlap, a mistake) still run each sweep once per interval. The loop also writes a
heartbeat that platform health shows.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import String, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from core import jobs, outbox
from core.extensions import db
from core.models_base import utcnow

log = logging.getLogger(__name__)
HEARTBEAT = "__heartbeat__"


class SchedulerState(db.Model):
    """Platform-wide (not tenant data): when each sweep last ran."""

    __tablename__ = "scheduler_state"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_run_at: Mapped[datetime | None]


@dataclass(frozen=True)
class Periodic:
    name: str
    every: timedelta
    job: jobs.Job


_periodic: dict[str, Periodic] = {}


def periodic(name: str, every: timedelta, queue: str = "default") -> Callable[..., jobs.Job]:
    """Register a platform-wide sweep (a job with tenant id None) to run every `every`."""

    def register(fn: Callable[..., Any]) -> jobs.Job:
        registered = jobs.job(queue, retries=0)(fn)
        _periodic[name] = Periodic(name, every, registered)
        return registered

    return register


def sweeps() -> dict[str, Periodic]:
    return dict(_periodic)


def _ensure_rows(names: list[str]) -> None:
    known = set(db.session.scalars(select(SchedulerState.name)))
    for name in names:
        if name not in known:
            db.session.add(SchedulerState(name=name, last_run_at=None))
    db.session.flush()


def tick(now: datetime | None = None) -> list[str]:
    """Claim and enqueue every due sweep; returns their names. Commits."""
    now = now or utcnow()
    _ensure_rows([HEARTBEAT, *_periodic])
    db.session.execute(update(SchedulerState).where(SchedulerState.name == HEARTBEAT).values(last_run_at=now))
    started = []
    for item in _periodic.values():
        claimed = db.session.execute(
            update(SchedulerState)
            .where(
                SchedulerState.name == item.name,
                or_(
                    SchedulerState.last_run_at.is_(None),
                    SchedulerState.last_run_at <= now - item.every,
                ),
            )
            .values(last_run_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 1:
            item.job.enqueue(None)
            started.append(item.name)
    jobs.commit()
    return started


def heartbeat() -> datetime | None:
    row = db.session.get(SchedulerState, HEARTBEAT)
    return None if row is None else row.last_run_at


def run_forever(app: Flask, stop: threading.Event, interval: float = 5.0) -> None:
    """The scheduler loop (`flask jobs scheduler`, or a thread of the embedded server)."""
    from core import tenancy

    while not stop.is_set():
        with app.app_context(), tenancy.system_scope():
            try:
                tick()
            except Exception:
                log.exception("scheduler tick failed")
                db.session.rollback()
            finally:
                db.session.remove()
        stop.wait(interval)


def start_in_process(app: Flask) -> threading.Event:
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(app, stop), name="firstline-scheduler", daemon=True)
    thread.start()
    return stop


@periodic("outbox.relay", every=timedelta(seconds=30))
def relay_outbox(tenant_id: None) -> int:
    return outbox.relay()
