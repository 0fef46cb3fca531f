"""Webhooks to a team's system: signed, retried with backoff, logged, given up after the limit."""

from __future__ import annotations

import json
import socket
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from channels import signing
from core import jobs, outbox, tenancy
from core.extensions import db
from core.models_base import utcnow
from core.outbox import OutboxMessage
from escalations import webhooks
from escalations.models import Team, WebhookDelivery
from tests.escalations.conftest import Receiver
from tests.factories import World, make_team


def _team(world: World, url: str | None) -> Team:
    return make_team(world.alpha, "IT", members=(world.alpha_expert,), webhook_url=url)


def _outbox_row(delivery: WebhookDelivery) -> OutboxMessage:
    return db.session.get_one(OutboxMessage, delivery.outbox_id)


def test_a_team_without_a_webhook_is_told_nothing(world: World) -> None:
    with tenancy.only(world.alpha.id):
        team = _team(world, None)
        before = db.session.scalar(select(func.count()).select_from(OutboxMessage))
        assert webhooks.send(team, "escalation.created", {"escalation_id": 1}) is None
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == before
        assert db.session.scalars(select(WebhookDelivery)).all() == []


def test_nothing_is_sent_when_the_transaction_rolls_back(
    world: World, receiver: Receiver, loopback_webhooks
) -> None:
    with tenancy.only(world.alpha.id):
        team = _team(world, receiver.url)
        jobs.commit()
        webhooks.send(team, "escalation.created", {"escalation_id": 1})
        db.session.rollback()
        jobs.dispatch_ready()
        assert db.session.scalars(select(WebhookDelivery)).all() == []
    assert receiver.requests == []


def test_the_receiver_gets_a_signed_document_after_commit(
    world: World, receiver: Receiver, loopback_webhooks
) -> None:
    with tenancy.only(world.alpha.id):
        team = _team(world, receiver.url)
        receiver.secret = team.webhook_secret
        created = utcnow()
        delivery = webhooks.send(
            team, "escalation.created", {"escalation_id": 7, "due": created}, escalation_id=None
        )
        assert delivery is not None
        assert receiver.requests == []  # not before the commit
        jobs.commit()
        assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 1, 200)
        assert delivery.delivered_at is not None
        assert delivery.error is None
    [request] = receiver.requests
    assert request.signature_ok
    assert request.path == "/hook"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Firstline-Event"] == "escalation.created"
    document = json.loads(request.body)
    assert set(document) == {"event", "id", "created_at", "data"}
    assert document["event"] == "escalation.created"
    assert document["id"].startswith("evt_")
    assert document["created_at"].endswith("Z")
    assert document["data"] == {"escalation_id": 7, "due": created.isoformat().replace("+00:00", "Z")}
    # Someone without the team's secret cannot produce the signature.
    assert not signing.verify("another-secret", request.headers[signing.HEADER], request.body)


def test_a_failure_is_retried_with_backoff_then_delivered(
    world: World, receiver: Receiver, loopback_webhooks
) -> None:
    receiver.answers = [500, 200]
    with tenancy.only(world.alpha.id):
        team = _team(world, receiver.url)
        receiver.secret = team.webhook_secret
        delivery = webhooks.send(team, "escalation.paged", {"escalation_id": 1})
        jobs.commit()
        assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", 1, 500)
        assert delivery.error == "HTTP 500: not today"
        row = _outbox_row(delivery)
        assert (row.status, row.attempts) == (outbox.PENDING, 1)
        due = row.next_attempt_at
        assert due - delivery.last_attempt_at == pytest.approx(
            timedelta(seconds=30), abs=timedelta(seconds=5)
        )

        assert outbox.deliver(world.alpha.id, row.id, now=due - timedelta(seconds=1)) == "skipped"
        assert len(receiver.requests) == 1  # the backoff holds
        assert outbox.deliver(world.alpha.id, row.id, now=due + timedelta(seconds=1)) == outbox.SENT
        delivery = db.session.get_one(WebhookDelivery, delivery.id)
        assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 2, 200)
        assert delivery.error is None
    first, second = receiver.requests
    assert first.signature_ok
    assert second.signature_ok
    # The same event, signed afresh: receivers deduplicate on its id.
    assert json.loads(first.body)["id"] == json.loads(second.body)["id"]


def test_gives_up_after_the_outbox_limit(
    app: Flask, world: World, receiver: Receiver, loopback_webhooks, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 3)
    receiver.answers = [503]
    with tenancy.only(world.alpha.id):
        team = _team(world, receiver.url)
        delivery = webhooks.send(team, "escalation.created", {"escalation_id": 1})
        jobs.commit()
        row = _outbox_row(delivery)
        pauses = []
        for _attempt in (2, 3):
            pauses.append(row.next_attempt_at - row.created_at)
            outbox.deliver(world.alpha.id, row.id, now=row.next_attempt_at + timedelta(seconds=1))
            row = db.session.get_one(OutboxMessage, row.id, populate_existing=True)
        delivery = db.session.get_one(WebhookDelivery, delivery.id, populate_existing=True)
        assert (delivery.status, delivery.attempts, delivery.response_status) == ("dead", 3, 503)
        assert row.status == outbox.DEAD
        assert pauses[1] > pauses[0]  # 30 s, then 60 s more
    assert len(receiver.requests) == 3


def test_redirects_are_not_followed(world: World, receiver: Receiver, loopback_webhooks) -> None:
    receiver.answers = [302]
    with tenancy.only(world.alpha.id):
        delivery = webhooks.send(_team(world, receiver.url), "ping", {})
        jobs.commit()
        assert (delivery.status, delivery.response_status) == ("failed", 302)
        assert "redirects are not followed" in delivery.error
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_a_receiver_that_never_answers_times_out(
    app: Flask, world: World, loopback_webhooks, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT", 0.3)
    with socket.socket() as silent:  # accepts connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        with tenancy.only(world.alpha.id):
            delivery = webhooks.send(_team(world, f"http://127.0.0.1:{silent.getsockname()[1]}/"), "ping", {})
            jobs.commit()
            assert delivery.status == "failed"
            assert delivery.error == "timed out after 0.3 s"


def test_an_address_that_turned_private_since_it_was_saved_is_not_called(
    app: Flask, world: World, receiver: Receiver, monkeypatch
) -> None:
    """DNS rebinding: the host was public when saved and resolves to loopback at delivery time."""
    port = receiver.url.split(":")[2].split("/")[0]
    real = socket.getaddrinfo

    def rebound(host: str, *args: Any, **kwargs: Any) -> list[Any]:
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", int(port)))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebound)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_HTTP", True)
    with tenancy.only(world.alpha.id):
        team = _team(world, f"http://hooks.example.com:{port}/hook")
        delivery = webhooks.send(team, "ping", {})
        jobs.commit()
        assert delivery.status == "failed"
        assert "private network (127.0.0.1)" in delivery.error
        assert receiver.requests == []
        # Allowed (an on-premises install), the delivery connects to the checked address and
        # still names the host.
        monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
        row = _outbox_row(delivery)
        outbox.deliver(world.alpha.id, row.id, now=row.next_attempt_at + timedelta(seconds=1))
        assert db.session.get_one(WebhookDelivery, delivery.id).status == "delivered"
    assert receiver.requests[0].headers["Host"] == f"hooks.example.com:{port}"


def test_a_team_that_removed_its_webhook_is_not_called_any_more(
    world: World, receiver: Receiver, loopback_webhooks
) -> None:
    receiver.answers = [500]
    with tenancy.only(world.alpha.id):
        team = _team(world, receiver.url)
        delivery = webhooks.send(team, "ping", {})
        jobs.commit()
        team.webhook_url = None
        jobs.commit()
        row = _outbox_row(delivery)
        outbox.deliver(world.alpha.id, row.id, now=row.next_attempt_at + timedelta(seconds=1))
        assert db.session.get_one(WebhookDelivery, delivery.id).error == "the team has no webhook any more"
    assert len(receiver.requests) == 1


def test_unknown_events_are_a_programming_error(world: World) -> None:
    with tenancy.only(world.alpha.id), pytest.raises(ValueError, match="unknown webhook event"):
        webhooks.send(_team(world, "https://hooks.example.com/x"), "escalation.exploded", {})
