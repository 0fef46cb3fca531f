"""Live-chat delivery against a real gunicorn: N widget chats held open at once, each getting one
message a second, and the time from posting a line to its arrival on the other side's stream.

Builds a fresh schema with `--tenants` clients, each with a chat widget key, and `--agents`
agents assigned to all of them who speak German and English and are available. Starts gunicorn
(`platform/gunicorn.conf.py`, `--workers` workers) on a free loopback port, then drives it over
plain HTTP/1.1 exactly as the widget and the console do (no test client, nothing in-process):

- every agent signs in through `/login` and reads its CSRF token off `/agent/chats`;
- every visitor starts a chat with `POST /chat/<key>/start` and opens its own stream
  `/chat/<key>/s/<token>/events`;
- the agents accept the chats round-robin (`POST /agent/chats/<id>/accept`, the console's form),
  then open the console stream `/agent/chats/events` (one per agent, for all its chats);
- then, each second, each chat gets one line, alternately from the visitor
  (`POST /chat/<key>/s/<token>/messages`) and from its agent (`POST /agent/chats/<id>/messages`),
  the chats' seconds spread evenly over the second. Each visitor and each agent posts over at
  most 5 keep-alive connections (a browser's 6 per host, one of them the stream); a post that
  has to wait for one is late, and that lateness is printed apart.

Delivery latency is measured from just before the client writes the POST to the moment the line
arrives on the other side's server-sent-event stream (visitor -> the agent's console stream,
agent -> the visitor's stream), both in this process's clock. A line whose POST succeeded and
that is not on the other stream `--grace` seconds after the POST's answer is lost; lost lines are
looked up in the database, and counted as skipped when the stream has sent a later event id
(a reconnect with `Last-Event-ID` would not bring them either). A stream that drops is reopened
with `Last-Event-ID`, as EventSource does, and counted. Typing indicators are not exercised.

The load generator is one asyncio thread with a small HTTP/1.1 client of its own (the venv has
neither httpx nor aiohttp, and hundreds of sockets want no thread each); it shares the machine's
cores with gunicorn, PostgreSQL and Redis, and its CPU is printed with theirs, with how busy the
machine was and how much of that was other processes.

As in production (platform/SCALING.md), the two stream routes are served by a gunicorn of their
own with gevent workers (`platform/gunicorn.streams.conf.py`, `--stream-workers`, default 1) and
everything else by the configured `gthread` one (`platform/gunicorn.conf.py`, `--workers`, its
default 8 threads and `WEB_CONCURRENT_REQUESTS`); the visitors and agents open their streams on
the first and post to the second, as nginx routes them. `--stream-workers 0` serves the streams
from the gthread workers too, the layout before session 11: an open stream then holds a thread for
its whole life, so the bench sets `GUNICORN_THREADS` (`--threads`, default: enough for all
streams spread over the workers, plus room for the posts). The embedded mode has one process and
the in-process broker, so its streams stay in it. All virtual visitors come from 127.0.0.1, so the
per-address limits (`RATELIMIT_CHAT`, `RATELIMIT_LOGIN`) are raised for the run.

PostgreSQL + Redis when `--database-url`, `--migrate-database-url` and `--redis-url` (or
DATABASE_URL, MIGRATE_DATABASE_URL, REDIS_URL) are given: that database is emptied and rebuilt,
and the RQ queues of that Redis are emptied. Without them: the embedded mode, SQLite in a
temporary folder and the in-process broker, which needs a single worker process.

    .venv/bin/python bench/chat.py [--chats 200] [--seconds 30] [--warmup 5] [--agents 10]
        [--tenants 20] [--workers 2] [--stream-workers 1] [--threads 0] [--database-url URL
        --migrate-database-url URL --redis-url URL]

The issue's target: 200 concurrent widget connections, one message a second each, median
delivery latency under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import shlex
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import world  # noqa: E402  (sets the path and the instance folder)
from create_api import (
    CpuMeter,
    children,
    connections,
    empty_queues,
    free_port,
    memory,
    percentile,
    start_gunicorn,
    stop,
    time_window,
    wait_healthy,
)

LANGUAGES = ("de", "en")
TAG = re.compile(r"^bench (\d+) (\d+)$")
CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CSRF_DATA = re.compile(r'data-csrf="([^"]+)"')
BROWSER_CONNECTIONS = 6  # what a browser opens to one host at most (HTTP/1.1), streams included


# --- a minimal HTTP/1.1 client on asyncio streams -----------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    cookies: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


async def _head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], dict[str, str]]:
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    cookies: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, _sep, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "set-cookie":
            key, _eq, rest = value.split(";", 1)[0].partition("=")
            cookies[key.strip()] = rest.strip()
        else:
            headers[name] = value
    return status, headers, cookies


async def _chunks(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """The chunks of a `Transfer-Encoding: chunked` body, as they arrive."""
    while True:
        size = int((await reader.readline()).split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            await reader.readline()  # the empty trailer
            return
        chunk = await reader.readexactly(size)
        await reader.readexactly(2)
        yield chunk


class Connection:
    """One keep-alive connection, one request at a time: what a tab's `fetch` reuses. A request
    is retried once only when the connection was found closed before any reply byte (a stale
    keep-alive), so a POST is never sent twice after the server may have acted on it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Reply:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
        for name, value in (headers or {}).items():
            head += f"{name}: {value}\r\n"
        if body or method == "POST":
            head += f"Content-Length: {len(body)}\r\n"
        payload = head.encode("latin-1") + b"\r\n" + body
        for attempt in range(2):
            fresh = self.writer is None
            if fresh:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            assert self.reader is not None
            assert self.writer is not None
            try:
                self.writer.write(payload)
                await self.writer.drain()
                first = await self.reader.readexactly(1)
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if fresh or attempt:
                    raise
                continue
            status, headers, cookies = await _head(_Prefixed(first, self.reader))  # type: ignore[arg-type]
            if headers.get("transfer-encoding", "").lower() == "chunked":
                data = b"".join([chunk async for chunk in _chunks(self.reader)])
            elif "content-length" in headers:
                data = await self.reader.readexactly(int(headers["content-length"]))
            elif status in (204, 304):
                data = b""
            else:
                data = await self.reader.read()
                self.close()
            if headers.get("connection", "").lower() == "close":
                self.close()
            return Reply(status, headers, cookies, data)
        raise ConnectionError("unreachable")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class _Prefixed:
    """A reader with one byte already taken off it (to tell a dead keep-alive from a reply)."""

    def __init__(self, first: bytes, reader: asyncio.StreamReader) -> None:
        self.first = first
        self.reader = reader

    async def readuntil(self, separator: bytes) -> bytes:
        return self.first + await self.reader.readuntil(separator)


class Pool:
    """Up to `size` keep-alive connections, created on demand (a browser's per-host limit)."""

    def __init__(self, port: int, size: int) -> None:
        self.port = port
        self.idle: list[Connection] = []
        self.slots = asyncio.Semaphore(size)

    async def request(self, method: str, path: str, **kwargs: Any) -> Reply:
        async with self.slots:
            conn = self.idle.pop() if self.idle else Connection(self.port)
            try:
                reply = await conn.request(method, path, **kwargs)
            except BaseException:
                conn.close()
                raise
            self.idle.append(conn)
            return reply

    def close(self) -> None:
        for conn in self.idle:
            conn.close()


# --- server-sent events -----------------------------------------------------------------------

# (event name, event id, data, when the chunk carrying it arrived)
Handler = Callable[[str, int | None, dict[str, Any], float], None]


class Stream:
    """An EventSource: reads events as they come, and reopens with `Last-Event-ID` if dropped."""

    def __init__(self, port: int, path: str, headers: dict[str, str], handler: Handler) -> None:
        self.port = port
        self.path = path
        self.headers = headers
        self.handler = handler
        self.last_id: int | None = None
        self.open = False
        self.opened = asyncio.Event()
        self.reconnects = 0
        self.ended = False  # 204: the chat is over, EventSource would stop
        self.errors: list[str] = []
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.run())

    async def run(self) -> None:
        while not self.ended:
            try:
                await self.once()
            except (ConnectionError, asyncio.IncompleteReadError, OSError, ValueError) as exc:
                self.errors.append(type(exc).__name__)
            self.open = False
            if self.ended:
                return
            self.reconnects += 1
            await asyncio.sleep(2.0)  # the stream's `retry: 2000`

    async def once(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            head = f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAccept: text/event-stream\r\n"
            for name, value in self.headers.items():
                head += f"{name}: {value}\r\n"
            if self.last_id is not None:
                head += f"Last-Event-ID: {self.last_id}\r\n"
            writer.write(head.encode("latin-1") + b"\r\n")
            await writer.drain()
            status, headers, _cookies = await _head(reader)
            if status == 204:
                self.ended = True
                return
            if status != 200 or headers.get("transfer-encoding", "").lower() != "chunked":
                self.errors.append(f"HTTP {status}")
                return
            self.open = True
            self.opened.set()
            buffer = b""
            async for chunk in _chunks(reader):
                arrived = time.perf_counter()
                buffer += chunk
                while b"\n\n" in buffer:
                    block, buffer = buffer.split(b"\n\n", 1)
                    self.dispatch(block.decode(), arrived)
        finally:
            writer.close()

    def dispatch(self, block: str, arrived: float) -> None:
        name, event_id, data = "message", None, None
        for line in block.split("\n"):
            key, _sep, value = line.partition(": ")
            if key == "id":
                event_id = int(value)
            elif key == "event":
                name = value
            elif key == "data":
                data = json.loads(value)
        if data is None:
            return  # a comment (keepalive, padding) or the retry line
        if event_id is not None:
            self.last_id = event_id
        self.handler(name, event_id, data, arrived)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()


# --- the load -----------------------------------------------------------------------------------


@dataclass
class Agent:
    email: str
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""
    pool: Pool | None = None
    stream: Stream | None = None

    def headers(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}


@dataclass
class Chat:
    index: int
    key: str
    agent: Agent
    token: str = ""
    session_id: int = 0
    pool: Pool | None = None
    stream: Stream | None = None
    accepted: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Sent:
    at: float
    direction: str  # "visitor->agent" or "agent->visitor"
    measured: bool
    posted: bool = False
    answered: float = 0.0


class Load:
    def __init__(
        self, port: int, keys: list[str], agent_emails: list[str], chats: int, stream_port: int = 0
    ) -> None:
        self.port = port
        self.stream_port = stream_port or port  # the stream nodes, when they are apart
        self.agents = [Agent(email) for email in agent_emails]
        self.chats = [Chat(i, keys[i % len(keys)], self.agents[i % len(self.agents)]) for i in range(chats)]
        self.pending: dict[tuple[int, int], Sent] = {}
        self.latencies: dict[str, list[float]] = {"visitor->agent": [], "agent->visitor": []}
        self.post_times: dict[str, list[float]] = {"visitor": [], "agent": []}
        self.post_errors: dict[str, int] = {}
        self.sent = {"visitor->agent": 0, "agent->visitor": 0}
        self.duplicates = 0
        self.late_starts: list[float] = []
        self.measuring = False
        self.tasks: set[asyncio.Task[None]] = set()
        self.unanswered = 0
        self.answered_at: list[float] = []

    # setting up, through the same endpoints as the console and the widget

    async def sign_in(self, agent: Agent) -> None:
        conn = Connection(self.port)
        page = await conn.request("GET", "/login")
        agent.cookies.update(page.cookies)
        found = CSRF_INPUT.search(page.body.decode())
        assert found, "no CSRF token on /login"
        form = urlencode({"email": agent.email, "password": world.AGENT_PASSWORD, "csrf_token": found[1]})
        reply = await conn.request(
            "POST",
            "/login",
            body=form.encode(),
            headers={**agent.headers(), "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert reply.status == 302, f"login of {agent.email}: HTTP {reply.status}"
        agent.cookies.update(reply.cookies)
        console = await conn.request("GET", "/agent/chats", headers=agent.headers())
        assert console.status == 200, f"/agent/chats: HTTP {console.status}"
        agent.cookies.update(console.cookies)
        found = CSRF_DATA.search(console.body.decode())
        assert found, "no data-csrf on /agent/chats"
        agent.csrf = found[1]
        conn.close()
        agent.pool = Pool(self.port, BROWSER_CONNECTIONS - 1)

    async def open_console(self, agent: Agent) -> None:
        """The console's stream, as the page loaded after the last accept opens it."""
        agent.stream = Stream(self.stream_port, "/agent/chats/events", agent.headers(), self.on_agent_event)
        agent.stream.start()
        await asyncio.wait_for(agent.stream.opened.wait(), 30)

    async def start_chat(self, chat: Chat) -> None:
        chat.pool = Pool(self.port, BROWSER_CONNECTIONS - 1)
        body = {
            "name": f"Besucher {chat.index}",
            "email": f"visitor{chat.index}@example.org",
            "language": LANGUAGES[chat.index % len(LANGUAGES)],
            "topic": f"Frage Nummer {chat.index}",
        }
        reply = await chat.pool.request(
            "POST",
            f"/chat/{chat.key}/start",
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        assert reply.status == 201, f"start: HTTP {reply.status} {reply.body[:200]!r}"
        data = reply.json()
        chat.token, chat.session_id = data["token"], data["session"]["id"]
        chat.stream = Stream(
            self.stream_port,
            f"/chat/{chat.key}/s/{chat.token}/events",
            {},
            lambda *event, chat=chat: self.on_visitor_event(chat, *event),  # type: ignore[misc]
        )
        chat.stream.start()
        await asyncio.wait_for(chat.stream.opened.wait(), 30)

    async def accept(self, chat: Chat) -> None:
        agent = chat.agent
        assert agent.pool is not None
        reply = await agent.pool.request(
            "POST",
            f"/agent/chats/{chat.session_id}/accept",
            body=urlencode({"csrf_token": agent.csrf}).encode(),
            headers={**agent.headers(), "Content-Type": "application/x-www-form-urlencoded"},
        )
        location = reply.headers.get("location", "")
        # A refusal redirects to the console with a flashed error instead of to the chat.
        accepted = reply.status == 302 and location.endswith(f"/agent/chats/{chat.session_id}")
        assert accepted, f"accept {chat.session_id}: HTTP {reply.status} -> {location}"

    async def setup(self, concurrency: int = 8) -> None:
        gate = asyncio.Semaphore(concurrency)

        async def limited(coro: Any) -> None:
            async with gate:
                await coro

        await asyncio.gather(*(limited(self.sign_in(agent)) for agent in self.agents))
        await asyncio.gather(*(limited(self.start_chat(chat)) for chat in self.chats))
        await asyncio.gather(*(limited(self.accept(chat)) for chat in self.chats))
        # Accepting redirects the browser to the chat's page: the console's stream opens anew.
        await asyncio.gather(*(limited(self.open_console(agent)) for agent in self.agents))
        # Every visitor has seen the "has joined" line: the streams are live end to end.
        await asyncio.wait_for(asyncio.gather(*(chat.accepted.wait() for chat in self.chats)), 60)

    # the streams

    def on_visitor_event(
        self, chat: Chat, name: str, _event_id: int | None, data: dict[str, Any], arrived: float
    ) -> None:
        if name != "message":
            return
        if data.get("event") == "accepted":
            chat.accepted.set()
        if data.get("author") == "agent":
            self.delivered(data, arrived, "agent->visitor")

    def on_agent_event(self, name: str, _event_id: int | None, data: dict[str, Any], arrived: float) -> None:
        if name == "message" and data.get("author") == "visitor":
            self.delivered(data, arrived, "visitor->agent")

    def delivered(self, data: dict[str, Any], arrived: float, direction: str) -> None:
        found = TAG.match(str(data.get("body", "")))
        if not found:
            return
        sent = self.pending.pop((int(found[1]), int(found[2])), None)
        if sent is None:
            self.duplicates += 1  # sent twice on the stream
            return
        if sent.direction != direction:
            raise AssertionError(f"{direction} event for a {sent.direction} message")
        if sent.measured:
            self.latencies[direction].append((arrived - sent.at) * 1000)

    # the messages

    async def post(self, chat: Chat, number: int, scheduled: float) -> None:
        from_visitor = (chat.index + number) % 2 == 0
        direction = "visitor->agent" if from_visitor else "agent->visitor"
        if from_visitor:
            pool, path = chat.pool, f"/chat/{chat.key}/s/{chat.token}/messages"
            headers = {"Content-Type": "application/json"}
        else:
            agent = chat.agent
            pool, path = agent.pool, f"/agent/chats/{chat.session_id}/messages"
            headers = {**agent.headers(), "Content-Type": "application/json", "X-CSRFToken": agent.csrf}
        assert pool is not None
        body = json.dumps({"body": f"bench {chat.index} {number}"}).encode()
        sent = Sent(0.0, direction, self.measuring)
        # Timed from the write: waiting for a free connection of the tab is the client's own queue
        # (shown as lateness), not the server's.
        async with pool.slots:
            conn = pool.idle.pop() if pool.idle else Connection(self.port)
            sent.at = time.perf_counter()
            self.pending[(chat.index, number)] = sent
            try:
                reply = await conn.request("POST", path, body=body, headers=headers)
            except (ConnectionError, asyncio.IncompleteReadError, OSError) as exc:
                conn.close()
                self.pending.pop((chat.index, number), None)
                self.count_error(type(exc).__name__)
                return
            pool.idle.append(conn)
        took = (time.perf_counter() - sent.at) * 1000
        if reply.status != 201:
            self.pending.pop((chat.index, number), None)
            self.count_error(f"HTTP {reply.status}")
            return
        sent.posted = True
        sent.answered = time.perf_counter()
        if sent.measured:
            self.sent[direction] += 1
            self.answered_at.append(sent.answered)
            self.post_times["visitor" if from_visitor else "agent"].append(took)
            self.late_starts.append((sent.at - scheduled) * 1000)

    def finished(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.count_error(repr(task.exception()))

    def count_error(self, kind: str) -> None:
        self.post_errors[kind] = self.post_errors.get(kind, 0) + 1

    async def drive(self, chat: Chat, start: float, stop_at: float) -> None:
        """One line a second; a slow POST does not delay the next (each is a task of its own),
        but one visitor's posts share its connection, as a browser tab's would."""
        loop = asyncio.get_running_loop()
        at = start + chat.index / len(self.chats)
        for number in itertools.count():
            if at >= stop_at:
                return
            await asyncio.sleep(max(0.0, at - loop.time()))
            scheduled = time.perf_counter() - (loop.time() - at)
            task = asyncio.create_task(self.post(chat, number, scheduled))
            self.tasks.add(task)
            task.add_done_callback(self.finished)
            at += 1.0

    async def run(self, warmup: float, seconds: float, grace: float, meter: Any) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.5
        stop_at = start + warmup + seconds
        drivers = [asyncio.create_task(self.drive(chat, start, stop_at)) for chat in self.chats]
        await asyncio.sleep(max(0.0, start + warmup - loop.time()))
        before = {**meter.snapshot(), "wall": time.perf_counter()}
        self.measuring = True
        await asyncio.sleep(max(0.0, stop_at - loop.time()))
        self.measuring = False
        after = {**meter.snapshot(), "wall": time.perf_counter()}
        held = self.held()
        await asyncio.gather(*drivers)
        if self.tasks:
            # An overloaded server answers the last posts long after the window: wait for them,
            # so that "lost" never counts a line that was merely late.
            _done, unanswered = await asyncio.wait(set(self.tasks), timeout=300)
            for task in unanswered:
                task.cancel()
            self.unanswered = len(unanswered)
        # Each line gets `grace` seconds from its answer to show up on the other side.
        while any(
            s.posted and s.measured and time.perf_counter() - s.answered < grace
            for s in self.pending.values()
        ):
            await asyncio.sleep(0.1)
        return {"before": before, "after": after, "held": held}

    def held(self) -> dict[str, int]:
        return {
            "visitor streams": sum(bool(c.stream and c.stream.open) for c in self.chats),
            "agent streams": sum(bool(a.stream and a.stream.open) for a in self.agents),
        }

    def close(self) -> None:
        for chat in self.chats:
            if chat.stream:
                chat.stream.cancel()
            if chat.pool:
                chat.pool.close()
        for agent in self.agents:
            if agent.stream:
                agent.stream.cancel()
            if agent.pool:
                agent.pool.close()


# --- the world --------------------------------------------------------------------------------


def build(tenant_count: int, agent_count: int) -> tuple[list[str], list[str]]:
    """A fresh schema: clients with a chat key each, agents of all of them, available, speaking
    both chat languages. Returns the keys and the agents' e-mail addresses."""
    from sqlalchemy import select

    from agents import routing
    from agents import services as agent_services
    from agents.models import Presence
    from core import jobs, tenancy
    from core.auth import services as auth
    from core.auth.models import User
    from core.auth.roles import Role
    from core.extensions import db
    from tenants import services as tenants
    from tenants.models import ChannelKind

    app, ids = world.build(tenant_count, assigned=tenant_count)
    keys = [f"bench-chat-{i}" for i in range(tenant_count)]
    emails = [world.AGENT_EMAIL] + [f"agent{n}@bench.example" for n in range(1, agent_count)]
    with app.app_context(), tenancy.system_scope():
        for tenant_id, key in zip(ids, keys, strict=True):
            tenants.add_channel(tenant_id, ChannelKind.CHAT, key)
        for n, email in enumerate(emails):
            if n == 0:
                user = db.session.scalars(select(User).where(User.email == email)).one()
            else:
                user = auth.create_user(
                    email=email, name=f"Agent {n}", role=Role.AGENT, password=world.AGENT_PASSWORD
                )
                for tenant_id in ids:
                    agent_services.assign(user, tenant_id)
            agent_services.set_languages(user, {"de": "native", "en": "fluent"})
            routing.set_presence(user, Presence.AVAILABLE)
        jobs.commit()
        db.session.remove()
        db.engine.dispose()  # this process holds no connections during the run
    return keys, emails


def examine_lost(load: Load) -> dict[str, int]:
    """What became of the lines that never arrived: stored in the database (so committed), and of
    those, skipped (the receiving stream has sent a later event id: it moved past the line, and a
    reconnect with Last-Event-ID would not bring it either) or still pending."""
    lost = {key: s for key, s in load.pending.items() if s.measured and s.posted}
    if not lost:
        return {"stored": 0, "skipped": 0}
    from sqlalchemy import select

    from channels.chat_models import ChatMessage
    from core import create_app, tenancy
    from core.extensions import db

    app = create_app()
    with app.app_context(), tenancy.system_scope():
        ids = dict(
            db.session.execute(
                select(ChatMessage.body, ChatMessage.id).where(
                    ChatMessage.body.in_([f"bench {i} {n}" for i, n in lost])
                )
            ).all()
        )
        db.session.remove()
        db.engine.dispose()
    skipped = 0
    for (i, n), sent in lost.items():
        chat = load.chats[i]
        stream = chat.stream if sent.direction == "agent->visitor" else chat.agent.stream
        line = ids.get(f"bench {i} {n}")
        skipped += line is not None and stream is not None and (stream.last_id or 0) > line
    return {"stored": len(ids), "skipped": skipped}


# --- main -------------------------------------------------------------------------------------


def summary(label: str, values: list[float]) -> str:
    if not values:
        return f"{label}: none"
    ordered = sorted(values)
    return (
        f"{label}: n={len(ordered)}  p50={statistics.median(ordered):.1f} ms  "
        f"p95={percentile(ordered, 0.95):.1f} ms  p99={percentile(ordered, 0.99):.1f} ms  "
        f"max={ordered[-1]:.1f} ms"
    )


def configure(args: argparse.Namespace) -> tuple[str, str]:
    """The environment of this process and of gunicorn; returns the backend and database name."""
    for flag, name in (
        ("database_url", "DATABASE_URL"),
        ("migrate_database_url", "MIGRATE_DATABASE_URL"),
        ("redis_url", "REDIS_URL"),
    ):
        value = getattr(args, flag)
        if value:
            os.environ[name] = value
    if not os.environ.get("DATABASE_URL"):
        # The embedded mode: a SQLite file in the bench's instance folder, the in-process broker.
        for name in ("MIGRATE_DATABASE_URL", "REDIS_URL"):
            os.environ.pop(name, None)
        if args.workers != 1:
            print("embedded mode (no DATABASE_URL): the in-process broker needs one worker; --workers 1")
            args.workers = 1
        args.stream_workers = 0  # the in-process broker: the streams must be in the posts' process
        return "sqlite", ""
    if not os.environ.get("REDIS_URL"):
        raise SystemExit("PostgreSQL without Redis: streams in one worker would not hear posts in another")
    # Every visitor and agent of the bench comes from 127.0.0.1.
    return "postgresql", urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--chats", type=int, default=200, help="widget chats held open at once")
    parser.add_argument("--seconds", type=float, default=30, help="measured load")
    parser.add_argument("--warmup", type=float, default=5, help="load before measuring")
    parser.add_argument("--grace", type=float, default=10, help="wait this long for the last lines")
    parser.add_argument("--agents", type=int, default=10, help="agents; chats go to them round-robin")
    parser.add_argument("--tenants", type=int, default=20, help="clients with a chat key")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="gthread threads per worker (0: the conf's 8; without a stream server, enough for every stream)",
    )
    parser.add_argument(
        "--stream-workers",
        type=int,
        default=1,
        help="gevent workers of the stream server (platform/gunicorn.streams.conf.py); 0: the streams"
        " are served by the gthread workers with the posts (always so in the embedded mode)",
    )
    parser.add_argument(
        "--gunicorn-args", default="", help='more gunicorn options: --gunicorn-args="--max-requests 0"'
    )
    parser.add_argument("--database-url", help="PostgreSQL as the app role (default: DATABASE_URL)")
    parser.add_argument("--migrate-database-url", help="the owner role (default: MIGRATE_DATABASE_URL)")
    parser.add_argument("--redis-url", help="default: REDIS_URL")
    args = parser.parse_args()

    backend, database = configure(args)
    streams = args.chats + args.agents
    # The production default with a stream server; without one, a stream holds a thread, and
    # SO_REUSEPORT spreads connections unevenly, so leave a margin, and room for the posts in
    # flight (each held for the request only).
    threads = args.threads or (8 if args.stream_workers else -(-streams * 5 // (4 * args.workers)) + 32)
    os.environ.update(
        {
            "GUNICORN_THREADS": str(threads),
            "RATELIMIT_CHAT": "1000000 per minute",
            "RATELIMIT_LOGIN": "1000000 per minute",
        }
    )
    if os.environ.get("REDIS_URL"):
        empty_queues(os.environ["REDIS_URL"])

    t0 = time.perf_counter()
    keys, emails = build(args.tenants, args.agents)
    print(
        f"backend={backend} gunicorn workers={args.workers} threads={threads} (gthread), stream server "
        + (
            f"workers={args.stream_workers} (gevent) "
            if args.stream_workers
            else "none (streams on gthread) "
        )
        + f"WEB_CONCURRENT_REQUESTS={os.environ.get('WEB_CONCURRENT_REQUESTS', 'default')} "
        f"chats={args.chats} agents={args.agents} clients={args.tenants} python={sys.version.split()[0]} "
        f"(schema and data in {time.perf_counter() - t0:.1f} s)",
        flush=True,
    )

    port = free_port()
    log_path = Path(os.environ["FIRSTLINE_INSTANCE"]) / "gunicorn.log"
    server = start_gunicorn(port, args.workers, threads, shlex.split(args.gunicorn_args), log_path)
    streams_server, stream_port = None, 0
    if args.stream_workers:
        stream_port = free_port()
        streams_server = start_gunicorn(
            stream_port,
            args.stream_workers,
            0,
            [],
            log_path.with_name("gunicorn-streams.log"),
            config="gunicorn.streams.conf.py",
        )
    masters = [server.pid] + ([streams_server.pid] if streams_server else [])
    load = Load(port, keys, emails, args.chats, stream_port)
    try:
        wait_healthy(port, server)
        if streams_server:
            wait_healthy(stream_port, streams_server)
        meter = CpuMeter(server.pid, database or "-", *masters[1:])
        outcome = asyncio.run(run(load, args, meter, port, masters))
        rss = {pid: memory(pid) for master in masters for pid in children(master)}
        outcome["stream pids"] = set(children(streams_server.pid)) if streams_server else set()
        outcome["lost"] = examine_lost(load)
    finally:
        stop(server)
        if streams_server:
            stop(streams_server)
        if os.environ.get("REDIS_URL"):
            empty_queues(os.environ["REDIS_URL"])  # the chats' intake jobs: nobody will run them
    report(load, args, outcome, rss, log_path)


async def run(
    load: Load, args: argparse.Namespace, meter: Any, port: int, masters: list[int]
) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        await load.setup()
        print(
            f"setup: {len(load.agents)} agents signed in, {len(load.chats)} chats started and accepted, "
            f"{len(load.chats) + len(load.agents)} streams open in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        outcome = await load.run(args.warmup, args.seconds, args.grace, meter)
        ports = [port, load.stream_port] if load.stream_port != port else [port]
        outcome["server connections"] = {
            pid: sum(connections(pid, p) for p in ports) for master in masters for pid in children(master)
        }
        return outcome
    finally:
        load.close()


def report(
    load: Load, args: argparse.Namespace, outcome: dict[str, Any], rss: dict[int, dict[str, int]], log: Path
) -> None:
    before, after = outcome["before"], outcome["after"]
    window = time_window(before, after)
    used = CpuMeter.used(before, after)
    held = outcome["held"]
    print(
        f"connections held at the end of the window: {held['visitor streams']} of {len(load.chats)} visitor "
        f"streams, {held['agent streams']} of {len(load.agents)} agent console streams; gunicorn holds "
        + ", ".join(f"{n} (pid {pid})" for pid, n in sorted(outcome["server connections"].items()))
        + " client connections (streams and keep-alive)"
    )
    sent = sum(load.sent.values())
    lost = {key: s for key, s in load.pending.items() if s.measured and s.posted}
    received = sum(len(v) for v in load.latencies.values())
    in_window = sum(at <= after["wall"] for at in load.answered_at)
    print(
        f"lines posted in the {window:.1f} s window: {sent} (visitor->agent {load.sent['visitor->agent']}, "
        f"agent->visitor {load.sent['agent->visitor']}), answered 201 within it: {in_window} "
        f"({in_window / window:.0f}/s)  received={received}  lost={len(lost)}  duplicates={load.duplicates}  "
        f"failed posts={load.post_errors or 0}"
        + (f"  posts unanswered after 300 s={load.unanswered}" if load.unanswered else "")
    )
    if lost:
        by_direction = {d: sum(s.direction == d for s in lost.values()) for d in load.latencies}
        print(
            f"  lost (answered 201, not on the other side's stream {args.grace:.0f} s after that): "
            + ", ".join(f"{d} {n}" for d, n in by_direction.items())
            + f"; stored in the database: {outcome['lost']['stored']}, skipped by the stream (it sent a later"
            f" event id): {outcome['lost']['skipped']}"
        )
    both = list(itertools.chain.from_iterable(load.latencies.values()))
    print(summary("delivery latency, both directions", both))
    for direction, values in load.latencies.items():
        print(summary(f"  {direction}", values))
    for side, values in load.post_times.items():
        print(summary(f"POST response time ({side})", values))
    print(summary("client lateness (scheduled -> POST written)", load.late_starts))
    reconnects = sum(c.stream.reconnects for c in load.chats if c.stream) + sum(
        a.stream.reconnects for a in load.agents if a.stream
    )
    print(f"stream reconnects: {reconnects}")
    n = max(1, sent)
    others = used["machine"] - used["web"] - used["postgres"] - used["redis"] - used["client"]
    print(
        "CPU ms per message: "
        + "  ".join(f"{name}={used[name] / n * 1000:.2f}" for name in ("web", "postgres", "redis", "client"))
        + f"  | machine busy {used['machine'] / window:.2f} of {used['cores']:.0f} cores,"
        f" other processes {max(0.0, others) / window:.2f} cores"
    )
    web_before, web_after = before["pids"]["web"], after["pids"]["web"]
    for pid, values in sorted(rss.items()):
        busy = (web_after.get(pid, 0.0) - web_before.get(pid, 0.0)) / window
        kind = "stream server (gevent)" if pid in outcome["stream pids"] else "worker"
        print(
            f"gunicorn {kind} pid={pid}: VmRSS={values['VmRSS'] / 1024:.0f} MB "
            f"(peak VmHWM={values['VmHWM'] / 1024:.0f} MB)  busy {busy:.2f} cores"
        )
    print(f"gunicorn log: {log}")
    if both:
        verdict = "met" if statistics.median(both) < 100 else "NOT met"
        print(f"target (median delivery under 100 ms at {len(load.chats)} chats): {verdict}")


if __name__ == "__main__":
    main()
