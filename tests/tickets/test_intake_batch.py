"""One intake job takes the tenant's other waiting contacts along: fewer jobs, same outcome."""

from __future__ import annotations

import pytest
from flask import Flask
from rq.registry import FinishedJobRegistry
from sqlalchemy import delete, select

from billing.models import UsageEvent
from core import jobs, tenancy
from core.audit import AuditEvent
from core.extensions import db
from core.outbox import OutboxMessage
from tenants.models import Tenant
from tests.conftest import REDIS_URL, worker_process
from tests.factories import World, make_tenant
from tickets import intake
from tickets.models import Channel, Contact, InboundRecord, InboundStatus, Ticket


def _contact(key: str, subject: str = "Geschirrspüler") -> intake.InboundContact:
    return intake.InboundContact(
        channel=Channel.WEBFORM,
        external_id=key,
        subject=subject,
        body="Guten Tag, mein Geschirrspüler startet nicht mehr.",
        name="Hans Muster",
        email=f"{key}@example.com",
    )


def _numbers(records: list[InboundRecord]) -> list[int]:
    return [db.session.get_one(Ticket, record.ticket_id).number for record in records]


def test_a_job_processes_the_waiting_contacts_of_its_tenant_in_arrival_order(world: World) -> None:
    with tenancy.only(world.alpha.id):
        waiting = [intake.receive(world.alpha.id, _contact(f"batch-{n}", f"Frage {n}")) for n in range(3)]
    with tenancy.only(world.beta.id):
        other = intake.receive(world.beta.id, _contact("beta-waits"))
    with tenancy.only(world.alpha.id):
        # The last one's job: the older ones are processed first, all in this one call.
        ticket_id = intake.process_batch(world.alpha.id, waiting[-1].id)
        assert [r.status for r in waiting] == [InboundStatus.PROCESSED.value] * 3
        assert ticket_id == waiting[-1].ticket_id
        assert _numbers(waiting) == sorted(_numbers(waiting))
        assert [db.session.get_one(Ticket, r.ticket_id).subject for r in waiting] == [
            "Frage 0",
            "Frage 1",
            "Frage 2",
        ]
    with tenancy.only(world.beta.id):
        assert other.status == InboundStatus.RECEIVED.value  # another tenant's contact waits for its own job
    jobs.commit()  # the queued jobs run now (inline): each record still makes one ticket
    with tenancy.only(world.alpha.id):
        tickets = db.session.scalars(
            select(Ticket.id).where(Ticket.tenant_id == world.alpha.id, Ticket.subject.like("Frage %"))
        ).all()
        assert len(tickets) == 3
    with tenancy.only(world.beta.id):
        db.session.refresh(other)
        assert other.status == InboundStatus.PROCESSED.value


def test_a_failing_contact_does_not_stop_the_others_of_its_batch(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_ticket = intake._make_ticket

    def fails_once(record: InboundRecord) -> Ticket:
        if record.external_id == "batch-bad":
            raise RuntimeError("routing exploded")
        return make_ticket(record)

    monkeypatch.setattr(intake, "_make_ticket", fails_once)
    with tenancy.only(world.alpha.id):
        first, bad, last = (
            intake.receive(world.alpha.id, _contact(k)) for k in ("batch-a", "batch-bad", "batch-z")
        )
        intake.process_batch(world.alpha.id, first.id)
        assert [first.status, bad.status, last.status] == [
            InboundStatus.PROCESSED.value,
            InboundStatus.FAILED.value,
            InboundStatus.PROCESSED.value,
        ]
        assert (bad.attempts, bad.ticket_id) == (1, None)
        assert "routing exploded" in bad.error
        # Nothing of the failed attempt is left (its contact, its number): the next ticket got
        # the number after the first one's.
        assert db.session.scalar(select(Contact.id).where(Contact.email == "batch-bad@example.com")) is None
        first_number, last_number = _numbers([first, last])
        assert last_number == first_number + 1


def test_a_batch_is_bounded_by_count(world: World) -> None:
    with tenancy.only(world.alpha.id):
        waiting = [intake.receive(world.alpha.id, _contact(f"bounded-{n}")) for n in range(4)]
        intake.process_batch(world.alpha.id, waiting[0].id, limit=2)
        assert [r.status for r in waiting] == [InboundStatus.PROCESSED.value] * 2 + [
            InboundStatus.RECEIVED.value
        ] * 2


@pytest.mark.worker
@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set: no Redis for a real RQ worker")
def test_a_real_worker_works_off_a_backlog_in_fewer_jobs(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    with app.app_context():
        for name in ("default", "mail"):
            jobs.queue(name).empty()
        with tenancy.system_scope():
            tenant_id = make_tenant("batching").id
            jobs.commit()
    try:
        with app.app_context(), tenancy.only(tenant_id):
            ids = []
            for n in range(5):
                ids.append(intake.receive(tenant_id, _contact(f"worker-{n}", f"Frage {n}")).id)
                jobs.commit()  # each committed on its own, as a channel does
            assert jobs.queue("default").count == 5
        result = worker_process("default")
        assert result.returncode == 0, result.stderr[-2000:]
        with app.app_context(), tenancy.only(tenant_id):
            records = [db.session.get_one(InboundRecord, record_id) for record_id in ids]
            assert [r.status for r in records] == [InboundStatus.PROCESSED.value] * 5
            assert _numbers(records) == [1001, 1002, 1003, 1004, 1005]
            ran = FinishedJobRegistry("default", connection=jobs.redis_connection()).get_job_ids()
            assert f"intake-{ids[0]}" in ran
            assert not {f"intake-{i}" for i in ids[1:]} & set(ran)  # withdrawn, never run
            assert jobs.queue("default").count == 0
            db.session.remove()
    finally:
        with app.app_context(), tenancy.system_scope():
            jobs.queue("mail").empty()
            db.session.execute(delete(AuditEvent).where(AuditEvent.tenant_id == tenant_id))
            db.session.execute(delete(OutboxMessage).where(OutboxMessage.tenant_id == tenant_id))
            db.session.execute(delete(Tenant).where(Tenant.id == tenant_id))
            db.session.commit()
            db.session.remove()


def test_a_batch_numbers_its_tickets_without_gaps_when_some_records_open_none(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch reserves a number per record at once and gives back the ones it did not use."""
    make_ticket = intake._make_ticket

    def ignores_spam(record: InboundRecord) -> Ticket | None:
        if record.external_id.startswith("spam"):
            record.outcome = "ignored_for_the_test"
            return None
        return make_ticket(record)

    monkeypatch.setattr(intake, "_make_ticket", ignores_spam)
    with tenancy.only(world.alpha.id):
        keys = ("gap-a", "spam-1", "gap-b", "spam-2", "spam-3")
        records = [intake.receive(world.alpha.id, _contact(key)) for key in keys]
        intake.process_batch(world.alpha.id, records[0].id)
        assert [r.status for r in records] == [
            InboundStatus.PROCESSED.value,
            InboundStatus.IGNORED.value,
            InboundStatus.PROCESSED.value,
            InboundStatus.IGNORED.value,
            InboundStatus.IGNORED.value,
        ]
        assert records[1].outcome == "ignored_for_the_test"  # written with the records' common UPDATE
        first, second = _numbers([records[0], records[2]])
        assert second == first + 1
        later = intake.receive(world.alpha.id, _contact("gap-c"))
        intake.process_batch(world.alpha.id, later.id)
        assert _numbers([later]) == [second + 1]  # the unused numbers were given back


def test_a_batch_bills_and_acknowledges_each_contact_once(world: World) -> None:
    with tenancy.only(world.alpha.id):
        records = [intake.receive(world.alpha.id, _contact(f"billed-{n}")) for n in range(3)]
        intake.process_batch(world.alpha.id, records[0].id)
        keys = db.session.scalars(
            select(UsageEvent.key).where(UsageEvent.key.in_([f"inbound:{r.id}" for r in records]))
        ).all()
        assert sorted(keys) == sorted(f"inbound:{r.id}" for r in records)
        acks = db.session.scalars(
            select(OutboxMessage.payload).where(
                OutboxMessage.dedupe_key.in_([f"ack:{world.alpha.id}:{r.ticket_id}" for r in records])
            )
        ).all()
        assert sorted(a["to"][0] for a in acks) == [f"billed-{n}@example.com" for n in range(3)]
