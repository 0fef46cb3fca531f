"""The outbox: nothing is sent before commit, nothing is lost when SMTP or Redis is down."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from core import jobs, outbox, scheduler, tenancy
from core.database import rows_later
from core.extensions import db
from core.mail import send_email
from core.models_base import utcnow
from core.outbox import OutboxMessage
from tests.conftest import SmtpServer, free_port
from tests.factories import World


def _queue_mail(world: World, subject: str = "Hello") -> OutboxMessage:
    with tenancy.only(world.alpha.id):
        return send_email(to="customer@example.com", subject=subject, text="Body", tenant_id=world.alpha.id)


def test_mail_is_sent_after_commit_through_smtp(world: World, smtp_to: SmtpServer) -> None:
    message = _queue_mail(world)
    assert smtp_to.messages == []  # not before the commit
    with tenancy.only(world.alpha.id):
        jobs.commit()
        assert db.session.get(OutboxMessage, message.id).status == outbox.SENT
    [mail] = smtp_to.messages
    assert mail["Subject"] == "Hello"
    assert mail["X-Loop"].startswith("firstline ")  # with the token that proves it is ours
    assert mail["Message-ID"]


def test_rolled_back_transaction_sends_nothing(world: World, smtp_to: SmtpServer) -> None:
    _queue_mail(world)
    db.session.rollback()
    jobs.dispatch_ready()
    assert smtp_to.messages == []


def test_smtp_down_keeps_the_mail_and_the_relay_sends_it_later(
    app: Flask, world: World, smtp_server: SmtpServer, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", free_port())  # nobody listens there
    monkeypatch.setitem(app.config, "SMTP_TIMEOUT", 2)
    message = _queue_mail(world, "Queued while down")
    with tenancy.only(world.alpha.id):
        jobs.commit()
        row = db.session.get(OutboxMessage, message.id)
        assert (row.status, row.attempts) == (outbox.PENDING, 1)
        assert "ConnectionRefused" in row.last_error
        due = row.next_attempt_at

    monkeypatch.setitem(app.config, "SMTP_PORT", smtp_server.port)  # SMTP is back
    with tenancy.system_scope():
        assert outbox.relay(now=due - timedelta(seconds=1)) == 0  # not due yet
        assert outbox.relay(now=due + timedelta(seconds=1)) == 1
        db.session.flush()
    with tenancy.system_scope():
        # The relay's enqueued delivery checks the due time with the real clock.
        row.next_attempt_at = utcnow()
        jobs.commit()
    assert [m["Subject"] for m in smtp_server.messages] == ["Queued while down"]
    with tenancy.system_scope():
        assert db.session.get(OutboxMessage, message.id).status == outbox.SENT


def test_a_row_is_delivered_once_even_if_enqueued_twice(world: World, smtp_to: SmtpServer) -> None:
    message = _queue_mail(world)
    with tenancy.only(world.alpha.id):
        jobs.commit()
    assert jobs.execute(outbox.deliver.name, world.alpha.id, (message.id,)) == "skipped"
    assert len(smtp_to.messages) == 1


def test_gives_up_after_max_attempts_and_can_be_retried(
    app: Flask, world: World, monkeypatch, smtp_server: SmtpServer
) -> None:
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", free_port())
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 2)
    message = _queue_mail(world)
    with tenancy.only(world.alpha.id):
        jobs.commit()
        row = db.session.get(OutboxMessage, message.id)
        outbox.deliver(world.alpha.id, message.id, now=row.next_attempt_at + timedelta(seconds=1))
        db.session.flush()
        assert row.status == outbox.DEAD
    monkeypatch.setitem(app.config, "SMTP_PORT", smtp_server.port)
    with tenancy.only(world.alpha.id):
        outbox.retry(message.id)
        jobs.commit()
        assert db.session.get(OutboxMessage, message.id).status == outbox.SENT
    assert len(smtp_server.messages) == 1


def test_dedupe_key_makes_one_row(world: World) -> None:
    with tenancy.only(world.alpha.id):
        first = send_email(
            to="a@example.com", subject="s", text="t", tenant_id=world.alpha.id, dedupe_key="k-1"
        )
        second = send_email(
            to="a@example.com", subject="s", text="t", tenant_id=world.alpha.id, dedupe_key="k-1"
        )
    assert first.id == second.id


def test_redis_down_loses_nothing(app: Flask, world: World, monkeypatch) -> None:
    """With Redis unreachable the enqueue fails, the row stays pending, and the relay finds it."""
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setitem(app.extensions, "firstline_redis", None)
    app.extensions.pop("firstline_redis", None)
    message = _queue_mail(world, "Redis was down")
    with tenancy.only(world.alpha.id):
        jobs.commit()  # the enqueue fails and is logged; the request does not fail
        row = db.session.get(OutboxMessage, message.id)
        assert row.status == outbox.PENDING
    app.extensions.pop("firstline_redis", None)
    monkeypatch.setitem(app.config, "JOBS_INLINE", True)
    with tenancy.system_scope():
        assert outbox.relay(now=utcnow() + outbox.REENQUEUE_AFTER + timedelta(seconds=1)) == 1
        jobs.commit()
        assert db.session.get(OutboxMessage, message.id).status == outbox.SENT


def test_without_smtp_host_mail_is_written_to_files(app: Flask, world: World, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "MAIL_DROP_DIR", str(tmp_path))
    message = _queue_mail(world, "To a file")
    with tenancy.only(world.alpha.id):
        jobs.commit()
    [eml] = list(tmp_path.glob("*.eml"))
    assert b"Subject: To a file" in eml.read_bytes()
    assert message.id


def test_scheduler_runs_each_sweep_once_per_interval(world: World, monkeypatch) -> None:
    runs: list[str] = []
    monkeypatch.setattr(outbox, "relay", lambda *a, **k: runs.append("relay") or 0)
    now = utcnow()
    with tenancy.system_scope():
        assert "outbox.relay" in scheduler.tick(now)
        # A second scheduler ticking at the same moment claims nothing.
        assert scheduler.tick(now) == []
        assert scheduler.tick(now + timedelta(seconds=31)) == ["outbox.relay"]
        assert scheduler.heartbeat() == now + timedelta(seconds=31)
    assert runs == ["relay", "relay"]


def test_periodic_sweeps_are_registered() -> None:
    assert "outbox.relay" in scheduler.sweeps()
    assert any(name.endswith("deliver") for name in jobs.registered())


def test_outbox_rows_of_other_tenants_are_invisible(world: World) -> None:
    _queue_mail(world)
    db.session.flush()
    db.session.expunge_all()
    with tenancy.only(world.beta.id):
        visible = db.session.scalars(select(OutboxMessage)).all()
    assert visible  # beta's own acknowledgement
    assert {m.tenant_id for m in visible} == {world.beta.id}


def _keyed(world: World, to: str, subject: str, key: str) -> OutboxMessage:
    return send_email(to=to, subject=subject, text="Body", tenant_id=world.alpha.id, dedupe_key=key)


def test_a_batch_writes_its_mails_together_once_per_key_and_sends_them_after_commit(
    world: World, smtp_to: SmtpServer
) -> None:
    with tenancy.only(world.alpha.id):
        _keyed(world, "a@example.com", "Before", "k1")
        with rows_later():
            first = _keyed(world, "a@example.com", "Again", "k1")
            second = _keyed(world, "b@example.com", "New", "k2")
            _keyed(world, "c@example.com", "Twice", "k2")
            assert first.id is None  # not written yet, but its payload is there
            assert second.payload["subject"] == "New"
            assert db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == "k2")) is None
        rows = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.dedupe_key.in_(["k1", "k2"]))
        ).all()
        assert sorted((r.dedupe_key, r.payload["subject"]) for r in rows) == [("k1", "Before"), ("k2", "New")]
        jobs.commit()
    assert sorted(m["Subject"] for m in smtp_to.messages) == ["Before", "New"]  # each key sent once


def test_a_failed_batch_writes_none_of_its_rows(world: World, smtp_to: SmtpServer) -> None:
    def batch_that_fails() -> None:
        with rows_later():
            _keyed(world, "a@example.com", "Lost", "k3")
            raise RuntimeError("the batch failed")

    with tenancy.only(world.alpha.id):
        with pytest.raises(RuntimeError):
            batch_that_fails()
        assert db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == "k3")) is None
        jobs.commit()
    assert smtp_to.messages == []
