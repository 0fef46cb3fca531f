"""Fan-out of live-chat events to the streams that wait for them, across web processes.

A stream never trusts the broker with content: a notification only wakes it, and it reads the
committed messages from the database (after the last id it sent). So a notification lost while
Redis restarts, or sent to a process that had no subscriber yet, costs at most one keepalive
interval of delay, never a message. Typing indicators are the one thing carried in the
notification itself: they are worthless a few seconds later and are never stored.

With `REDIS_URL` set, notifications go through Redis pub/sub, so a visitor whose stream is held
by one gunicorn process sees the answer an agent posted to another. Without it (the embedded
server is one process) an in-process broker built on a `threading.Condition` does the same.

Services call `notify`, which holds notifications until the transaction commits (stored before
delivered) and drops them on rollback; `publish_now` is for what is not stored (typing).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Iterable
from typing import Any, Protocol

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from core.extensions import db

log = logging.getLogger(__name__)
PREFIX = "firstline:chat:"
_EXTENSION = "firstline_chat_broker"


def tenant_channel(tenant_id: int) -> str:
    """Everything of one client's chats: what the agents serving it listen to."""
    return f"tenant:{tenant_id}"


def session_channel(session_id: int) -> str:
    """One chat: what its visitor listens to."""
    return f"session:{session_id}"


def agent_channel(user_id: int) -> str:
    """The lines and typing of the chats one agent holds: what that agent's console listens to.
    On the tenant channel every console of the client's team woke (and read the database) for
    every line of every chat; with 10 agents at 200 chats that was the largest part of the web
    CPU (bench/chat.py)."""
    return f"agent:{user_id}"


class Subscription(Protocol):
    def wait(self, timeout: float) -> list[dict[str, Any]]:
        """The notifications that arrived, or [] after `timeout` seconds without any."""

    def close(self) -> None: ...


class Broker(Protocol):
    def publish(self, channel: str, payload: dict[str, Any]) -> None: ...

    def subscribe(self, channels: Iterable[str]) -> Subscription: ...


class _LocalSubscription:
    def __init__(self, broker: LocalBroker, channels: set[str]) -> None:
        self.broker = broker
        self.channels = channels
        self.pending: deque[dict[str, Any]] = deque(maxlen=1000)
        # Its own condition on the broker's lock: a publish wakes the subscribers of that
        # channel only, not every waiting stream of the process.
        self.ready = threading.Condition(broker.lock)

    def wait(self, timeout: float) -> list[dict[str, Any]]:
        with self.ready:
            self.ready.wait_for(lambda: bool(self.pending), timeout=timeout)
            items = list(self.pending)
            self.pending.clear()
        return items

    def close(self) -> None:
        with self.broker.lock:
            self.broker.subscribers.discard(self)
            for channel in self.channels:
                listeners = self.broker.by_channel.get(channel)
                if listeners is not None:
                    listeners.discard(self)
                    if not listeners:
                        del self.broker.by_channel[channel]


class LocalBroker:
    """One process: subscribers keep their own queue; a publish appends to the queues of that
    channel's subscribers and wakes those only."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.subscribers: set[_LocalSubscription] = set()
        self.by_channel: dict[str, set[_LocalSubscription]] = {}

    def publish(self, channel: str, payload: dict[str, Any]) -> None:
        with self.lock:
            for subscriber in self.by_channel.get(channel, ()):
                subscriber.pending.append(payload)
                subscriber.ready.notify()

    def subscribe(self, channels: Iterable[str]) -> _LocalSubscription:
        subscription = _LocalSubscription(self, set(channels))
        with self.lock:
            self.subscribers.add(subscription)
            for channel in subscription.channels:
                self.by_channel.setdefault(channel, set()).add(subscription)
        return subscription


class _RedisSubscription:
    def __init__(self, pubsub: Any) -> None:
        self.pubsub = pubsub

    def wait(self, timeout: float) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        message = self.pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
        while message is not None:
            if message.get("type") == "message":
                try:
                    items.append(json.loads(message["data"]))
                except (TypeError, ValueError):
                    log.warning("ignored a malformed chat notification")
            message = self.pubsub.get_message(ignore_subscribe_messages=True, timeout=0)
        return items

    def close(self) -> None:
        try:
            self.pubsub.close()
        except Exception:  # noqa: BLE001 - closing a dead connection is not worth an error
            log.debug("closing a chat subscription failed", exc_info=True)


class RedisBroker:
    """Across processes and nodes. Streams block on their own connection for up to a keepalive
    interval, so this client has no socket read timeout (the jobs' client has one).

    Every open stream holds one connection of this pool. redis-py 8 caps a pool at 100
    connections unless told otherwise, and the stream that asks for the 101st fails (a 500 at
    about 100 streams per process, seen by bench/chat.py); a process holds at most as many streams
    as gunicorn gives it threads, so the cap here only has to be out of their way."""

    MAX_CONNECTIONS = 10_000

    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(
            url, socket_connect_timeout=2, health_check_interval=30, max_connections=self.MAX_CONNECTIONS
        )

    def publish(self, channel: str, payload: dict[str, Any]) -> None:
        self.redis.publish(PREFIX + channel, json.dumps(payload))

    def subscribe(self, channels: Iterable[str]) -> _RedisSubscription:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(*(PREFIX + c for c in channels))
        return _RedisSubscription(pubsub)


def broker(app: Flask | None = None) -> Broker:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get(_EXTENSION)
    if found is None:
        url = app.config.get("REDIS_URL")
        found = RedisBroker(url) if url else LocalBroker()
        app.extensions[_EXTENSION] = found
    return found  # type: ignore[no-any-return]


def publish_now(channels: Iterable[str], payload: dict[str, Any]) -> None:
    """Deliver at once; a broker that is down only costs the recipients a short delay."""
    try:
        target = broker()
        for channel in channels:
            target.publish(channel, payload)
    except Exception:
        log.exception("chat notification %s not published; streams catch up on their next poll", payload)


def notify(channels: Iterable[str], payload: dict[str, Any]) -> None:
    """Publish once the current transaction has committed; dropped if it rolls back."""
    db.session().info.setdefault("chat_pending", []).append((tuple(channels), payload))


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    pending = session.info.pop("chat_pending", None)
    if pending and has_app_context():
        for channels, payload in pending:
            publish_now(channels, payload)


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop("chat_pending", None)
