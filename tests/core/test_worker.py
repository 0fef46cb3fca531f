"""Jobs through a real Redis and a real RQ worker process, on committed data."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import delete

from core import jobs, outbox, tenancy
from core.audit import AuditEvent
from core.extensions import db
from core.mail import send_email
from core.models_base import utcnow
from core.outbox import OutboxMessage
from tenants.models import Tenant
from tests.conftest import REDIS_URL, SmtpServer, free_port, worker_process
from tests.factories import make_tenant

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set: no Redis for a real RQ worker"),
]


@pytest.fixture
def committed_tenant(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A tenant that is really committed, so that a worker process can see it; removed after."""
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    with app.app_context():
        jobs.queue("mail").empty()
        with tenancy.system_scope():
            tenant_id = make_tenant("workers").id
            jobs.commit()
    try:
        yield tenant_id
    finally:
        with app.app_context(), tenancy.system_scope():
            db.session.execute(delete(AuditEvent).where(AuditEvent.tenant_id == tenant_id))
            db.session.execute(delete(OutboxMessage).where(OutboxMessage.tenant_id == tenant_id))
            db.session.execute(delete(Tenant).where(Tenant.id == tenant_id))
            db.session.commit()
            db.session.remove()


def run_worker(smtp: SmtpServer) -> subprocess.CompletedProcess[str]:
    return worker_process("mail", SMTP_HOST=smtp.host, SMTP_PORT=str(smtp.port))


def _status(app: Flask, tenant_id: int, outbox_id: int) -> str:
    with app.app_context(), tenancy.only(tenant_id):
        status = db.session.get(OutboxMessage, outbox_id).status
        db.session.remove()
    return status


def test_mail_is_delivered_by_a_real_worker(
    app: Flask, committed_tenant: int, smtp_server: SmtpServer
) -> None:
    with app.app_context(), tenancy.only(committed_tenant):
        message = send_email(
            to="customer@example.com", subject="Via RQ", text="Hi", tenant_id=committed_tenant
        )
        outbox_id = message.id
        jobs.commit()
        assert jobs.queue("mail").count == 1
    result = run_worker(smtp_server)
    assert result.returncode == 0, result.stderr[-2000:]
    assert [m["Subject"] for m in smtp_server.messages] == ["Via RQ"]
    assert _status(app, committed_tenant, outbox_id) == outbox.SENT


def test_redis_outage_loses_nothing(
    app: Flask, committed_tenant: int, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    app.extensions.pop("firstline_redis", None)
    with app.app_context(), tenancy.only(committed_tenant):
        outbox_id = send_email(
            to="c@example.com", subject="While Redis was down", text="Hi", tenant_id=committed_tenant
        ).id
        jobs.commit()  # the enqueue fails; the row is committed all the same
    assert _status(app, committed_tenant, outbox_id) == outbox.PENDING

    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)  # Redis is back
    app.extensions.pop("firstline_redis", None)
    with app.app_context(), tenancy.system_scope():
        assert outbox.relay(now=utcnow() + outbox.REENQUEUE_AFTER + timedelta(seconds=1)) >= 1
        jobs.commit()
    result = run_worker(smtp_server)
    assert result.returncode == 0, result.stderr[-2000:]
    assert [m["Subject"] for m in smtp_server.messages] == ["While Redis was down"]
    assert _status(app, committed_tenant, outbox_id) == outbox.SENT


def test_a_withdrawn_job_leaves_the_queue_and_a_taken_one_is_left_alone(
    app: Flask, committed_tenant: int
) -> None:
    from rq.job import Job

    with app.app_context():
        queue = jobs.queue("default")
        queue.empty()
        with tenancy.only(committed_tenant):
            for key in ("w-1", "w-2", "w-3"):
                outbox.deliver.enqueue(committed_tenant, 0, key=key)
            jobs.commit()
        conn = jobs.redis_connection()
        assert queue.get_job_ids() == ["w-1", "w-2", "w-3"]
        conn.lpop(queue.key)  # a worker has taken w-1
        with tenancy.only(committed_tenant):
            outbox.deliver.withdraw(["w-1", "w-2"])
            assert queue.get_job_ids() == ["w-2", "w-3"]  # not before the commit
            jobs.commit()
        assert queue.get_job_ids() == ["w-3"]
        assert conn.exists(Job.key_for("w-1"))
        assert not conn.exists(Job.key_for("w-2"))
        queue.empty()
