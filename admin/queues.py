"""The RQ side of platform health: queue lengths, failed jobs, and requeueing one.

Only meaningful when jobs go through Redis; in the embedded mode (no REDIS_URL) jobs run inline
after each commit and there is no queue to look at. Redis being unreachable is reported, not
raised: the page that shows the outage must not fail because of it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _

from core import audit, jobs
from core.config import QUEUES
from core.errors import Conflict, NotFound

log = logging.getLogger(__name__)
FAILED_SHOWN = 50


@dataclass(frozen=True)
class QueueInfo:
    name: str
    queued: int
    failed: int


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    description: str
    ended_at: datetime | None
    error: str  # the exception's last line; the full traceback stays in RQ


@dataclass
class JobsState:
    inline: bool
    reachable: bool | None = None  # None: there is no Redis to reach
    queues: list[QueueInfo] = field(default_factory=list)
    failed: list[FailedJob] = field(default_factory=list)

    @property
    def failed_total(self) -> int:
        return sum(queue.failed for queue in self.queues)


EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(: |$)")


def _exception_line(text: str | None) -> str:
    """'OperationalError: ...' out of a traceback: its last unindented `Name: message` line."""
    lines = [line for line in (text or "").splitlines() if EXCEPTION_LINE.match(line)]
    return lines[-1].strip()[:300] if lines else ""


def _failed_jobs(queue: object, registry: object, limit: int) -> list[FailedJob]:
    from rq.job import Job

    ids = registry.get_job_ids(0, limit - 1, desc=True)  # type: ignore[attr-defined]
    found = []
    for job in Job.fetch_many(ids, connection=jobs.redis_connection()):
        if job is None:  # expired between the two reads
            continue
        result = job.latest_result()
        found.append(
            FailedJob(
                id=job.id,
                queue=queue.name,  # type: ignore[attr-defined]
                description=job.description or job.func_name or "",
                ended_at=job.ended_at,
                error=_exception_line(result.exc_string if result is not None else None),
            )
        )
    return found


def state(limit: int = FAILED_SHOWN) -> JobsState:
    """Each queue's length and failed count, and the most recent failed jobs."""
    if current_app.config["JOBS_INLINE"]:
        return JobsState(inline=True)
    from redis.exceptions import RedisError

    result = JobsState(inline=False, reachable=True)
    try:
        for name in QUEUES:
            queue = jobs.queue(name)
            registry = queue.failed_job_registry
            result.queues.append(QueueInfo(name, queue.count, registry.count))
            result.failed.extend(_failed_jobs(queue, registry, limit))
    except RedisError:
        log.warning("platform health: Redis is unreachable", exc_info=True)
        return JobsState(inline=False, reachable=False)
    result.failed.sort(key=lambda job: job.ended_at.timestamp() if job.ended_at else 0, reverse=True)
    del result.failed[limit:]
    return result


def requeue(job_id: str) -> FailedJob:
    """Put a failed job back at the end of its queue; audited."""
    if current_app.config["JOBS_INLINE"]:
        raise Conflict(_("Jobs run inline here; there is no queue to retry in."))
    from redis.exceptions import RedisError

    try:
        return _requeue(job_id)
    except RedisError:
        log.warning("platform health: Redis is unreachable", exc_info=True)
        raise Conflict(_("Redis cannot be reached; try again when it is back.")) from None


def _requeue(job_id: str) -> FailedJob:
    for name in QUEUES:
        registry = jobs.queue(name).failed_job_registry
        if job_id in registry:
            job = registry.requeue(job_id)
            audit.record(
                "jobs.retried",
                tenant_id=None,
                target_type="rq_job",
                target_id=job_id[:40],
                data={"queue": name, "description": job.description or ""},
            )
            return FailedJob(job_id, name, job.description or "", None, "")
    raise NotFound(_("This job is not among the failed ones (any more)."))
