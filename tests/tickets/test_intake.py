"""The one intake: inbound first, idempotent processing, nothing lost on failure or outage."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from core import jobs, tenancy
from core.extensions import db
from core.models_base import utcnow
from tests.conftest import free_port
from tests.factories import World, make_ticket
from tickets import intake
from tickets.models import Channel, InboundRecord, InboundStatus, Ticket


def _contact(
    key: str = "k-1", body: str = "Guten Tag, mein Geschirrspüler startet nicht mehr."
) -> intake.InboundContact:
    return intake.InboundContact(
        channel=Channel.WEBFORM,
        external_id=key,
        subject="Geschirrspüler",
        body=body,
        name="Hans Muster",
        email="hans@example.com",
    )


def _tickets(tenant_id: int) -> int:
    with tenancy.only(tenant_id):
        return db.session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.tenant_id == tenant_id)
        )


def test_same_contact_received_twice_makes_one_ticket(world: World) -> None:
    before = _tickets(world.alpha.id)
    with tenancy.only(world.alpha.id):
        first = intake.receive(world.alpha.id, _contact())
        jobs.commit()
        second = intake.receive(world.alpha.id, _contact())
        jobs.commit()
        assert first.id == second.id
        assert intake.process(first.id) == first.ticket_id  # processing again changes nothing
        jobs.commit()
    assert _tickets(world.alpha.id) == before + 1


def test_language_is_detected_among_the_tenants_languages(world: World) -> None:
    with tenancy.only(world.alpha.id):
        german = intake.receive(world.alpha.id, _contact("de"))
        english = intake.receive(
            world.alpha.id, _contact("en", "Hello, my dishwasher does not start any more.")
        )
        jobs.commit()
        assert db.session.get(Ticket, german.ticket_id).language == "de"
        assert db.session.get(Ticket, english.ticket_id).language == "en"


def test_numbers_count_per_tenant(world: World) -> None:
    with tenancy.system_scope():
        a2 = make_ticket(world.alpha, subject="second")
        b2 = make_ticket(world.beta, subject="deuxième")
    assert (world.alpha_ticket.number, a2.number) == (1001, 1002)
    assert (world.beta_ticket.number, b2.number) == (1001, 1002)


def test_a_failing_contact_is_kept_with_its_error_and_retried(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("routing exploded")

    monkeypatch.setattr(intake, "open_ticket", broken)
    with tenancy.only(world.alpha.id):
        record = intake.receive(world.alpha.id, _contact("broken"))
        jobs.commit()
        db.session.refresh(record)
        assert record.status == InboundStatus.FAILED.value
        assert "routing exploded" in record.error
    monkeypatch.undo()
    with tenancy.system_scope():
        assert intake.retry_due(now=utcnow() + timedelta(minutes=5)) >= 1
        jobs.commit()
        db.session.refresh(record)
        assert record.status == InboundStatus.PROCESSED.value
        assert record.ticket_id is not None


def test_contact_arriving_while_redis_is_down_is_processed_later(
    app: Flask, world: World, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    app.extensions.pop("firstline_redis", None)
    with tenancy.only(world.alpha.id):
        record = intake.receive(world.alpha.id, _contact("while-down"))
        jobs.commit()  # stored; the enqueue fails and is logged
        assert record.status == InboundStatus.RECEIVED.value
    app.extensions.pop("firstline_redis", None)
    monkeypatch.setitem(app.config, "JOBS_INLINE", True)
    with tenancy.system_scope():
        intake.retry_due(now=utcnow() + timedelta(minutes=2))
        jobs.commit()
        db.session.refresh(record)
    assert record.status == InboundStatus.PROCESSED.value


def test_acknowledgement_goes_out_in_the_customers_language(world: World, smtp_to) -> None:
    with tenancy.only(world.beta.id):
        intake.receive(
            world.beta.id,
            intake.InboundContact(
                channel=Channel.WEBFORM,
                external_id="fr-ack",
                subject="Coupure de courant",
                body="Bonjour, nous n'avons plus de courant depuis ce matin dans tout l'immeuble.",
                email="marie@example.fr",
                name="Marie",
            ),
        )
        jobs.commit()
    [mail] = smtp_to.messages
    assert mail["To"] == "marie@example.fr"
    assert "support@beta.example" in mail["From"]
    assert "BETA-100" in mail["Subject"]
    assert mail["Auto-Submitted"] == "auto-replied"
    assert "Nous avons bien reçu votre message et y répondrons" in mail.get_content()


def test_contacts_are_matched_by_email_within_the_tenant_only(world: World) -> None:
    with tenancy.system_scope():
        a = make_ticket(world.alpha, subject="one", email="same@example.com")
        b = make_ticket(world.alpha, subject="two", email="SAME@example.com")
        c = make_ticket(world.beta, subject="trois", email="same@example.com")
    assert a.contact_id == b.contact_id
    assert c.contact_id != a.contact_id


def test_inbound_records_of_other_tenants_are_invisible(world: World) -> None:
    db.session.expunge_all()
    with tenancy.only(world.alpha.id):
        tenants = set(db.session.scalars(select(InboundRecord.tenant_id)))
    assert tenants == {world.alpha.id}
