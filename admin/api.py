"""Platform health for monitoring: GET /api/v1/admin/health with a provider admin's token.

The shape is part of the API (it is in the OpenAPI document): counts, ages in seconds, ISO 8601
times in UTC, and `warnings` as stable codes; `status` is "ok" when there are none. The answer
is 200 whatever the health, so that a monitor reads the body instead of guessing from a code.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from flask import Blueprint
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel

from admin import health
from core.api import endpoint
from core.auth.roles import Role

bp = Blueprint("health_api", __name__, url_prefix="/api/v1/admin")


class QueueOut(BaseModel):
    name: str
    queued: int
    failed: int


class JobsOut(BaseModel):
    mode: Literal["inline", "redis"]
    reachable: bool | None
    queues: list[QueueOut]
    failed_total: int


class InboundOut(BaseModel):
    failed: int
    stuck: int


class OutboxOut(BaseModel):
    pending: dict[str, int]
    oldest_pending_at: datetime | None
    oldest_pending_seconds: int | None
    dead: int


class WebhooksOut(BaseModel):
    failed: int
    dead: int


class SweepOut(BaseModel):
    name: str
    every_seconds: int
    last_run_at: datetime | None
    overdue: bool


class SchedulerOut(BaseModel):
    heartbeat_at: datetime | None
    heartbeat_age_seconds: int | None
    stale: bool
    sweeps: list[SweepOut]


class HealthOut(BaseModel):
    status: Literal["ok", "warning"]
    checked_at: datetime
    warnings: list[str]
    jobs: JobsOut
    inbound: InboundOut
    outbox: OutboxOut
    webhooks: WebhooksOut
    scheduler: SchedulerOut


def _seconds(delta: timedelta | None) -> int | None:
    return None if delta is None else int(delta.total_seconds())


def as_document(state: health.Health) -> dict[str, Any]:
    document = HealthOut(
        status="ok" if state.ok else "warning",
        checked_at=state.checked_at,
        warnings=state.warnings,
        jobs=JobsOut(
            mode="inline" if state.jobs.inline else "redis",
            reachable=state.jobs.reachable,
            queues=[QueueOut(name=q.name, queued=q.queued, failed=q.failed) for q in state.jobs.queues],
            failed_total=state.jobs.failed_total,
        ),
        inbound=InboundOut(failed=state.inbound.failed, stuck=state.inbound.stuck),
        outbox=OutboxOut(
            pending=state.outbox.pending,
            oldest_pending_at=state.outbox.oldest_pending_at,
            oldest_pending_seconds=_seconds(state.outbox.oldest_pending_age),
            dead=state.outbox.dead_count,
        ),
        webhooks=WebhooksOut(failed=state.webhooks.failed_count, dead=state.webhooks.dead_count),
        scheduler=SchedulerOut(
            heartbeat_at=state.scheduler.heartbeat_at,
            heartbeat_age_seconds=_seconds(state.scheduler.age),
            stale=state.scheduler.stale,
            sweeps=[
                SweepOut(
                    name=s.name,
                    every_seconds=int(s.every.total_seconds()),
                    last_run_at=s.last_run_at,
                    overdue=s.overdue,
                )
                for s in state.scheduler.sweeps
            ],
        ),
    )
    return document.model_dump(mode="json")


@endpoint(
    bp,
    "/health",
    methods=["GET"],
    summary=_l("Platform health: queues, failures, backlog and the scheduler"),
    tag="admin",
    response=HealthOut,
    roles=[Role.PROVIDER_ADMIN],
)
def get_health() -> dict[str, Any]:
    return as_document(health.check())
