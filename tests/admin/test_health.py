"""Platform health: what is stuck is shown, with a retry button that works and is audited; the
monitoring API has a stable shape; only provider admins see any of it."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from core import jobs, outbox, scheduler, tenancy
from core.audit import AuditEvent
from core.auth.models import User
from core.auth.roles import Role
from core.extensions import db
from core.mail import send_email
from core.models_base import utcnow
from core.outbox import OutboxMessage
from escalations import webhooks
from escalations.models import WebhookDelivery
from tests.conftest import REDIS_URL, SmtpServer, api_as, csrf_token, free_port, sign_in, worker_process
from tests.escalations.conftest import Receiver, loopback_webhooks, receiver  # noqa: F401
from tests.factories import World, make_team, make_user
from tickets.models import InboundRecord, InboundStatus


def _admin(client: FlaskClient) -> str:
    sign_in(client, "admin@provider.example")
    return csrf_token(client, "/profile")


def _audit(action: str) -> list[AuditEvent]:
    with tenancy.system_scope():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _dead_mail(app: Flask, world: World, monkeypatch: pytest.MonkeyPatch) -> OutboxMessage:
    """A mail to beta's customer given up on: SMTP was down for its only attempt."""
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", free_port())  # nobody listens there
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 1)
    with tenancy.only(world.beta.id):
        message = send_email(to="client@example.fr", subject="Lost", text="Hello", tenant_id=world.beta.id)
        jobs.commit()
        assert db.session.get(OutboxMessage, message.id).status == outbox.DEAD
    return message


def test_embedded_mode_says_jobs_run_inline_and_everything_else_is_counted(
    client: FlaskClient, world: World
) -> None:
    with tenancy.system_scope():
        scheduler.tick()
        record = db.session.get(InboundRecord, world.beta_inbound.id)
        record.status, record.error = InboundStatus.FAILED.value, "LookupError: no such tenant"
        db.session.flush()
    _admin(client)
    page = client.get("/admin/health").get_data(as_text=True)
    assert "jobs run inline right after each commit" in page
    assert "Some contacts could not become tickets." in page
    assert '<a href="/agent/inbound?status=failed">' in page
    assert "outbox.relay" in page  # every sweep, with its last run
    assert "intake.retry" in page
    assert "No heartbeat yet" not in page
    assert "The scheduler has not run recently" not in page


def test_a_stale_heartbeat_is_a_warning(client: FlaskClient, world: World) -> None:
    with tenancy.system_scope():
        scheduler.tick(now=utcnow() - timedelta(minutes=10))
    _admin(client)
    page = client.get("/admin/health").get_data(as_text=True)
    assert "Last heartbeat 10 min ago" in page
    assert "The scheduler has not run recently" in page
    assert "A periodic sweep is overdue." in page


def test_a_dead_mail_is_listed_and_retried_and_the_retry_is_audited(
    app: Flask, client: FlaskClient, world: World, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = _dead_mail(app, world, monkeypatch)
    token = _admin(client)
    page = client.get("/admin/health").get_data(as_text=True)
    assert f'id="outbox-{message.id}"' in page
    assert "ConnectionRefusedError" in page
    assert "Some outgoing messages were given up on." in page

    monkeypatch.setitem(app.config, "SMTP_PORT", smtp_server.port)  # SMTP is back
    answer = client.post(f"/admin/health/outbox/{message.id}/retry", data={"csrf_token": token})
    assert answer.status_code == 302
    assert [mail["Subject"] for mail in smtp_server.messages] == ["Lost"]
    with tenancy.system_scope():
        assert db.session.get(OutboxMessage, message.id, populate_existing=True).status == outbox.SENT
    [audited] = _audit("outbox.retried")
    assert (audited.tenant_id, audited.target_id, audited.actor_label) == (
        world.beta.id,
        str(message.id),
        "admin@provider.example",
    )
    again = client.post(
        f"/admin/health/outbox/{message.id}/retry", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Only a message whose delivery failed can be retried." in again.get_data(as_text=True)


def test_pending_mail_is_counted_by_kind_with_its_age(client: FlaskClient, world: World) -> None:
    with tenancy.only(world.alpha.id):
        message = send_email(to="a@example.com", subject="Waiting", text="t", tenant_id=world.alpha.id)
        db.session.flush()
        message.created_at = utcnow() - timedelta(minutes=42)
        db.session.flush()
    _admin(client)
    page = client.get("/admin/health").get_data(as_text=True)
    assert "<code>email</code> 1" in page
    assert "The oldest has waited 42 min." in page
    jobs.dispatch_ready()  # nothing was committed: nothing is sent


def test_a_dead_webhook_is_retried_from_platform_health(
    app: Flask,
    client: FlaskClient,
    world: World,
    receiver: Receiver,  # noqa: F811
    loopback_webhooks: None,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 1)
    receiver.answers = [503, 200]
    with tenancy.only(world.beta.id):
        team = make_team(world.beta, "Informatique", webhook_url=receiver.url)
        delivery = webhooks.send(team, "escalation.created", {"escalation_id": world.beta_escalation.id})
        jobs.commit()
        assert db.session.get(WebhookDelivery, delivery.id).status == "dead"
    token = _admin(client)
    page = client.get("/admin/health").get_data(as_text=True)
    assert f'id="webhook-{delivery.id}"' in page
    assert "HTTP 503: not today" in page

    assert (
        client.post(f"/admin/health/webhooks/{delivery.id}/retry", data={"csrf_token": token}).status_code
        == 302
    )
    assert len(receiver.requests) == 2
    with tenancy.system_scope():
        delivery = db.session.get(WebhookDelivery, delivery.id, populate_existing=True)
        assert (delivery.status, delivery.response_status) == ("delivered", 200)
    [audited] = _audit("webhook.retried")
    assert (audited.tenant_id, audited.target_id) == (world.beta.id, str(delivery.id))
    assert f'id="webhook-{delivery.id}"' not in client.get("/admin/health").get_data(as_text=True)


def test_the_monitoring_api_has_a_stable_shape(
    app: Flask, client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tenancy.system_scope():
        scheduler.tick()  # the sweeps run inline, before SMTP goes down
    _dead_mail(app, world, monkeypatch)
    api = api_as(client, "admin@provider.example")
    answer = api.get("/api/v1/admin/health")
    assert answer.status_code == 200
    body = answer.get_json()
    assert set(body) == {
        "status",
        "checked_at",
        "warnings",
        "jobs",
        "inbound",
        "outbox",
        "webhooks",
        "scheduler",
    }
    assert body["status"] == "warning"
    assert body["warnings"] == ["dead_outbox"]
    assert body["jobs"] == {"mode": "inline", "reachable": None, "queues": [], "failed_total": 0}
    assert body["outbox"]["dead"] == 1
    assert body["inbound"] == {"failed": 0, "stuck": 0}
    assert body["webhooks"] == {"failed": 0, "dead": 0}
    assert body["scheduler"]["stale"] is False
    assert body["scheduler"]["heartbeat_age_seconds"] <= 5
    relay = next(s for s in body["scheduler"]["sweeps"] if s["name"] == "outbox.relay")
    assert relay["every_seconds"] == 30
    assert relay["overdue"] is False
    assert "/api/v1/admin/health" in client.get("/api/v1/openapi.json").get_json()["paths"]


@pytest.mark.parametrize(
    "email", ["supervisor@provider.example", "agent.both@provider.example", "admin@alpha.example"]
)
def test_only_provider_admins_see_platform_health(client: FlaskClient, world: World, email: str) -> None:
    answer = api_as(client, email).get("/api/v1/admin/health")
    assert answer.status_code == 403
    assert answer.get_json()["error"]["code"] == "forbidden"
    sign_in(client, email)
    assert client.get("/admin/health").status_code == 403
    token = csrf_token(client, "/profile")
    assert client.post("/admin/health/outbox/1/retry", data={"csrf_token": token}).status_code == 403
    assert client.post("/admin/health/jobs/abc/retry", data={"csrf_token": token}).status_code == 403


def test_nav_offers_staff_and_platform_health_to_provider_admins(client: FlaskClient, world: World) -> None:
    _admin(client)
    home = client.get("/").get_data(as_text=True)
    assert re.search(r'href="/admin/agents"\s*>Staff<', home)
    assert re.search(r'href="/admin/health"\s*>Platform health<', home)


def test_redis_unreachable_is_shown_not_raised(
    app: Flask, client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.delitem(app.extensions, "firstline_redis", raising=False)
    try:
        token = _admin(client)
        page = client.get("/admin/health").get_data(as_text=True)
        assert "Redis cannot be reached." in page
        assert api_as(client, "admin@provider.example").get("/api/v1/admin/health").get_json()["jobs"] == {
            "mode": "redis",
            "reachable": False,
            "queues": [],
            "failed_total": 0,
        }
        retried = client.post(
            "/admin/health/jobs/abc/retry", data={"csrf_token": token}, follow_redirects=True
        )
        assert "Redis cannot be reached; try again when it is back." in retried.get_data(as_text=True)
    finally:
        app.extensions.pop("firstline_redis", None)


# --- a real Redis and RQ worker ---------------------------------------------------------------


def _worker(database_url: str | None = None) -> subprocess.CompletedProcess[str]:
    return worker_process("default", **({"DATABASE_URL": database_url} if database_url else {}))


@pytest.fixture
def committed_admin(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A provider admin really committed (no rolled-back test transaction holds a lock that a
    worker process would wait for); removed after, with what was audited of it."""
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    email = "health-admin@provider.example"
    with app.app_context(), tenancy.system_scope():
        user_id = make_user(email, Role.PROVIDER_ADMIN).id
        db.session.commit()
        db.session.remove()
    try:
        yield email
    finally:
        with app.app_context(), tenancy.system_scope():
            db.session.execute(delete(AuditEvent).where(AuditEvent.actor_id == user_id))
            db.session.execute(delete(AuditEvent).where(AuditEvent.target_id == str(user_id)))
            db.session.execute(delete(User).where(User.id == user_id))
            db.session.commit()
            db.session.remove()


@pytest.mark.worker
@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set: no Redis for a real RQ worker")
def test_a_job_that_failed_in_a_real_worker_is_retried_and_then_succeeds(
    app: Flask, committed_admin: str
) -> None:
    from rq.job import Job

    app.extensions.pop("firstline_redis", None)
    client = app.test_client()
    with app.app_context():
        queue = jobs.queue("default")
        _clear(queue)
        try:
            # The outbox relay (a sweep: RQ does not retry it) runs while the database is down.
            with tenancy.system_scope():
                scheduler.relay_outbox.enqueue(None)
                jobs.commit()
            [job_id] = queue.job_ids
            down = _worker(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/nothing")
            assert down.returncode == 0, down.stderr[-2000:]
            assert job_id in queue.failed_job_registry

            sign_in(client, committed_admin)
            page = client.get("/admin/health").get_data(as_text=True)
            assert "core.scheduler.relay_outbox tenant=None" in page
            assert "OperationalError" in page
            assert "Some jobs failed for good" in page
            api = api_as(app.test_client(), committed_admin)
            queues = api.get("/api/v1/admin/health").get_json()["jobs"]["queues"]
            assert {"name": "default", "queued": 0, "failed": 1} in queues

            token = csrf_token(client, "/profile")
            answer = client.post(f"/admin/health/jobs/{job_id}/retry", data={"csrf_token": token})
            assert answer.status_code == 302
            assert queue.job_ids == [job_id]
            assert job_id not in queue.failed_job_registry
            with tenancy.system_scope():
                [audited] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "jobs.retried"))
                assert (audited.target_id, audited.data["queue"]) == (job_id, "default")
                db.session.remove()

            up = _worker()  # the database is back
            assert up.returncode == 0, up.stderr[-2000:]
            assert Job.fetch(job_id, connection=jobs.redis_connection()).get_status() == "finished"
            assert queue.failed_job_registry.count == 0
        finally:
            _clear(queue)
            app.extensions.pop("firstline_redis", None)


def _clear(queue: Any) -> None:
    queue.empty()
    for stale in queue.failed_job_registry.get_job_ids():
        queue.failed_job_registry.remove(stale, delete_job=True)


def test_a_retry_of_an_unknown_job_says_so(
    app: Flask, client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not REDIS_URL:
        pytest.skip("REDIS_URL is not set")
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    app.extensions.pop("firstline_redis", None)
    token = _admin(client)
    answer = client.post(
        "/admin/health/jobs/no-such-job/retry", data={"csrf_token": token}, follow_redirects=True
    )
    assert "This job is not among the failed ones (any more)." in answer.get_data(as_text=True)
