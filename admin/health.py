"""Platform health: is anything stuck? Jobs, inbound contacts, the outbox, webhooks and the
scheduler, in one snapshot that the page and the monitoring API both read.

Every figure is a count over an indexed column or a short list; nothing here scans history.
The retry actions delegate to the services that own the rows and are audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from admin import queues
from core import audit, outbox, scheduler
from core.extensions import db
from core.models_base import utcnow
from core.outbox import OutboxMessage
from core.scheduler import SchedulerState
from escalations import webhooks
from escalations.models import DeliveryStatus, WebhookDelivery
from tickets.models import InboundRecord, InboundStatus

# The scheduler loop writes its heartbeat every few seconds (core.scheduler.run_forever); a
# heartbeat older than this means no scheduler runs, so no sweep does either.
HEARTBEAT_STALE = timedelta(seconds=30)
# A sweep is overdue when its last run is older than twice its interval plus this slack.
SWEEP_SLACK = timedelta(seconds=30)
# Received but not processed after this long: the job was lost and the retry sweep is not running.
INBOUND_STUCK_AFTER = timedelta(minutes=5)
LISTED = 50


@dataclass(frozen=True)
class Sweep:
    name: str
    every: timedelta
    last_run_at: datetime | None
    overdue: bool


@dataclass
class SchedulerHealth:
    heartbeat_at: datetime | None
    age: timedelta | None
    stale: bool
    sweeps: list[Sweep] = field(default_factory=list)


@dataclass
class OutboxHealth:
    pending: dict[str, int]
    oldest_pending_at: datetime | None
    oldest_pending_age: timedelta | None
    dead_count: int
    dead: list[OutboxMessage]


@dataclass
class WebhookHealth:
    failed_count: int
    dead_count: int
    rows: list[WebhookDelivery]


@dataclass
class InboundHealth:
    failed: int
    stuck: int


@dataclass
class Health:
    checked_at: datetime
    jobs: queues.JobsState
    inbound: InboundHealth
    outbox: OutboxHealth
    webhooks: WebhookHealth
    scheduler: SchedulerHealth

    @property
    def warnings(self) -> list[str]:
        """Stable codes of what needs a look (the page words them, monitoring matches them)."""
        found = []
        if self.jobs.reachable is False:
            found.append("redis_unreachable")
        if self.jobs.failed_total:
            found.append("failed_jobs")
        if self.inbound.failed:
            found.append("failed_inbound")
        if self.inbound.stuck:
            found.append("stuck_inbound")
        if self.outbox.dead_count:
            found.append("dead_outbox")
        if self.webhooks.dead_count or self.webhooks.failed_count:
            found.append("failed_webhooks")
        if self.scheduler.stale:
            found.append("scheduler_stale")
        if any(sweep.overdue for sweep in self.scheduler.sweeps):
            found.append("sweep_overdue")
        return found

    @property
    def ok(self) -> bool:
        return not self.warnings


def check(now: datetime | None = None) -> Health:
    now = now or utcnow()
    return Health(
        checked_at=now,
        jobs=queues.state(),
        inbound=_inbound(now),
        outbox=_outbox(now),
        webhooks=_webhooks(),
        scheduler=_scheduler(now),
    )


def _inbound(now: datetime) -> InboundHealth:
    counts = dict(
        db.session.execute(
            select(InboundRecord.status, func.count())
            .where(
                (InboundRecord.status == InboundStatus.FAILED.value)
                | (
                    (InboundRecord.status == InboundStatus.RECEIVED.value)
                    & (InboundRecord.received_at <= now - INBOUND_STUCK_AFTER)
                )
            )
            .group_by(InboundRecord.status)
        ).all()
    )
    return InboundHealth(
        failed=counts.get(InboundStatus.FAILED.value, 0), stuck=counts.get(InboundStatus.RECEIVED.value, 0)
    )


def _outbox(now: datetime) -> OutboxHealth:
    pending: dict[str, int] = {}
    oldest: datetime | None = None
    for kind, count, first in db.session.execute(
        select(OutboxMessage.kind, func.count(), func.min(OutboxMessage.created_at))
        .where(OutboxMessage.status == outbox.PENDING)
        .group_by(OutboxMessage.kind)
        .order_by(OutboxMessage.kind)
    ):
        pending[kind] = count
        oldest = first if oldest is None or first < oldest else oldest
    dead_count = db.session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == outbox.DEAD)
    )
    dead = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == outbox.DEAD)
        .order_by(OutboxMessage.id.desc())
        .limit(LISTED)
    )
    return OutboxHealth(
        pending=pending,
        oldest_pending_at=oldest,
        oldest_pending_age=_age(now, oldest),
        dead_count=int(dead_count or 0),
        dead=list(dead),
    )


def _webhooks() -> WebhookHealth:
    failing = (DeliveryStatus.FAILED.value, DeliveryStatus.DEAD.value)
    counts = dict(
        db.session.execute(
            select(WebhookDelivery.status, func.count())
            .where(WebhookDelivery.status.in_(failing))
            .group_by(WebhookDelivery.status)
        ).all()
    )
    rows = db.session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.status.in_(failing))
        .order_by(WebhookDelivery.id.desc())
        .limit(LISTED)
    )
    return WebhookHealth(
        failed_count=counts.get(DeliveryStatus.FAILED.value, 0),
        dead_count=counts.get(DeliveryStatus.DEAD.value, 0),
        rows=list(rows),
    )


def _scheduler(now: datetime) -> SchedulerHealth:
    runs = dict(db.session.execute(select(SchedulerState.name, SchedulerState.last_run_at)).all())
    heartbeat = runs.get(scheduler.HEARTBEAT)
    sweeps = [
        Sweep(
            name=item.name,
            every=item.every,
            last_run_at=runs.get(item.name),
            overdue=runs.get(item.name) is None or now - runs[item.name] > 2 * item.every + SWEEP_SLACK,
        )
        for item in sorted(scheduler.sweeps().values(), key=lambda item: item.name)
    ]
    age = _age(now, heartbeat)
    return SchedulerHealth(
        heartbeat_at=heartbeat, age=age, stale=age is None or age > HEARTBEAT_STALE, sweeps=sweeps
    )


def _age(now: datetime, then: datetime | None) -> timedelta | None:
    return None if then is None else max(now - then, timedelta(0))


# --- retry buttons ----------------------------------------------------------------------------


def retry_outbox(outbox_id: int) -> OutboxMessage:
    message = outbox.retry(outbox_id)
    audit.record("outbox.retried", tenant_id=message.tenant_id, target=message, data={"kind": message.kind})
    return message


def retry_webhook(delivery_id: int) -> WebhookDelivery:
    return webhooks.retry(delivery_id)


def retry_job(job_id: str) -> queues.FailedJob:
    return queues.requeue(job_id)
