"""Fan-out of live-chat events to the streams that wait for them, across web processes.

A stream never depends on the broker for a message: a line's notification carries the stored
line and the id of its chat's line before it, and a stream writes it from the notification only
when that is the last line it sent; otherwise it reads the committed messages from the database
(after the last id it sent), as it does on connect and at every keepalive poll. So a notification
lost while Redis restarts, or sent to a process that had no subscriber yet, costs at most one
keepalive interval of delay, never a message. Typing indicators are carried in the notification
only: they are worthless a few seconds later and are never stored.

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
import time
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

    def publish_many(self, channels: Iterable[str], payload: dict[str, Any]) -> None: ...

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

    def publish_many(self, channels: Iterable[str], payload: dict[str, Any]) -> None:
        for channel in channels:
            self.publish(channel, payload)

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
        """Redis confirms each SUBSCRIBE with a message of its own, which `get_message` drops and
        answers with None at once: the wait goes on until its time is up (it used to end there, and
        every stream polled the database again right after its first read)."""
        items: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while not items and (left := deadline - time.monotonic()) > 0:
            message = self.pubsub.get_message(timeout=left)
            if message is not None:
                self._take(message, items)
        while items and (message := self.pubsub.get_message(timeout=0)) is not None:
            self._take(message, items)
        return items

    @staticmethod
    def _take(message: dict[str, Any], items: list[dict[str, Any]]) -> None:
        if message.get("type") == "message":
            try:
                items.append(json.loads(message["data"]))
            except (TypeError, ValueError):
                log.warning("ignored a malformed chat notification")

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

    def publish_many(self, channels: Iterable[str], payload: dict[str, Any]) -> None:
        """One round trip for all of them (a line goes to both sides), the payload encoded once."""
        data = json.dumps(payload, separators=(",", ":"))
        pipe = self.redis.pipeline(transaction=False)
        for channel in channels:
            pipe.publish(PREFIX + channel, data)
        pipe.execute()

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
        broker().publish_many(channels, payload)
    except Exception:
        log.exception("chat notification %s not published; streams catch up on their next poll", payload)


def notify(channels: Iterable[str], payload: dict[str, Any]) -> None:
    """Publish once the current transaction has committed; dropped if it rolls back."""
    db.session().info.setdefault("chat_pending", []).append((tuple(channels), payload))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    """Only the outermost commit delivers: a SAVEPOINT's release fires this too, and a line's
    notification carries the line itself, which must not reach a stream before it is stored."""
    if not session.in_nested_transaction() and "chat_pending" in session.info:
        session.info["chat_ready"] = session.info.pop("chat_pending")


@event.listens_for(Session, "after_transaction_end")
def _publish(session: Session, transaction: Any) -> None:
    """After the commit, once the connection is back in the pool: the pool's connections are what
    requests queue for under load (bench/chat.py), and publishing is a Redis round trip."""
    if transaction.parent is not None:
        return
    ready = session.info.pop("chat_ready", None)
    if ready and has_app_context():
        for channels, payload in ready:
            publish_now(channels, payload)


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop("chat_pending", None)
