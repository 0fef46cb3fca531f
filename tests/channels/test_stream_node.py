"""The stream node: the chat's two stream routes served by a gunicorn of their own with gevent
workers (platform/gunicorn.streams.conf.py), apart from the process that takes the posts, as
nginx splits them in production. Redis carries the posts' notifications from one to the other.

Both processes share a SQLite file of this test's own: the node reads committed rows, and the
suite's database is one rolled-back transaction per test. That the node's reads go through
psycopg on PostgreSQL cooperatively under gevent is what bench/chat.py exercises.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from flask import Flask
from flask.testing import FlaskClient

from agents import routing
from agents import services as agents
from agents.models import Presence
from core import create_app, jobs, tenancy
from core.extensions import db
from tests.conftest import REDIS_URL, TEST_SETTINGS, csrf_token, free_port, sign_in
from tests.factories import build_world, chat_key

pytestmark = pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set: no pub/sub between processes")

ROOT = Path(__file__).resolve().parents[2]
ALPHA = f"/chat/{chat_key('alpha')}"
SECRET = "stream-node-test-secret"
USER_AGENT = "firstline-tests"  # the same on both sides: sessions are bound to address and agent


@dataclass
class Node:
    app: Flask  # the process that takes the posts: this one
    port: int  # the stream node's
    log: Path


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    url = f"sqlite:///{tmp_path / 'streams.db'}"
    app = create_app(
        {
            **TEST_SETTINGS,
            "SQLALCHEMY_DATABASE_URI": url,
            "MIGRATE_DATABASE_URL": url,
            "REDIS_URL": REDIS_URL,
            "SECRET_KEY": SECRET,
        }
    )
    with app.app_context():
        flask_migrate.upgrade()
        with tenancy.system_scope():
            world = build_world()
            agents.set_languages(world.agent_alpha, {"de": "native", "en": "fluent"})
            routing.set_presence(world.agent_alpha, Presence.AVAILABLE)
            jobs.commit()
        db.session.remove()
    port, log = free_port(), tmp_path / "gunicorn-streams.log"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MIGRATE_DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": SECRET,
        "FIRSTLINE_INSTANCE": str(tmp_path),
        "STREAMS_CONCURRENCY": "2",
        "CHAT_KEEPALIVE_SECONDS": "30",  # a line must arrive by its notification, not by a poll
        "GUNICORN_GRACEFUL_TIMEOUT": "1",  # the streams wait in silence: do not wait for them to end
    }
    gunicorn = Path(sys.executable).parent / "gunicorn"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                str(gunicorn),
                "-c",
                "platform/gunicorn.streams.conf.py",
                "--bind",
                f"127.0.0.1:{port}",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(port, server, log)
        yield Node(app, port, log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        with app.app_context():
            db.engine.dispose()


def _wait_healthy(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()[-3000:]
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("the stream node did not answer /healthz: " + log.read_text()[-3000:])


class Stream:
    """One server-sent-event stream on the node, read as a browser's EventSource would."""

    def __init__(self, port: int, path: str, headers: dict[str, str] | None = None) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.conn.request("GET", path, headers={"Accept": "text/event-stream", **(headers or {})})
        self.response = self.conn.getresponse()
        self.text = ""

    def until(self, needle: str, seconds: float = 10) -> str:
        deadline = time.monotonic() + seconds
        while needle not in self.text:
            assert time.monotonic() < deadline, f"{needle!r} not on the stream: {self.text[-1500:]!r}"
            chunk = self.response.read1(65536)
            assert chunk, f"the stream ended before {needle!r}: {self.text[-1500:]!r}"
            self.text += chunk.decode()
        return self.text

    def close(self) -> None:
        self.conn.close()


def _start(visitor: FlaskClient, name: str) -> dict[str, Any]:
    body = {"name": name, "email": "hans@example.com", "language": "de", "topic": "E24", "transcript": False}
    response = visitor.post(f"{ALPHA}/start", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_stream_node_runs_gevent_and_delivers_lines_posted_in_another_process(node: Node) -> None:
    """Two visitors' streams and the agent's console, all open at once on the node: each gets the
    lines posted through the other process, carried over Redis."""
    first, second = node.app.test_client(), node.app.test_client()
    one, two = _start(first, "Hans Muster"), _start(second, "Erika Muster")
    agent = node.app.test_client()
    agent.environ_base["HTTP_USER_AGENT"] = USER_AGENT
    sign_in(agent, "agent.alpha@provider.example")
    csrf = csrf_token(agent, "/profile")
    for chat in (one, two):
        accepted = agent.post(f"/agent/chats/{chat['session']['id']}/accept", data={"csrf_token": csrf})
        assert accepted.status_code == 302

    streams = [Stream(node.port, f"{ALPHA}/s/{chat['token']}/events") for chat in (one, two)]
    cookie = agent.get_cookie("session", domain="firstline.test")
    assert cookie is not None
    console = Stream(
        node.port, "/agent/chats/events", {"Cookie": f"session={cookie.value}", "User-Agent": USER_AGENT}
    )
    try:
        assert all(s.response.status == 200 for s in [*streams, console])
        assert console.response.getheader("Content-Type", "").startswith("text/event-stream")
        for stream in streams:
            stream.until("event: message")  # what the chat holds so far, read on connect
        console.until("event: queue")

        for chat, visitor, body in ((one, first, "Erste Zeile"), (two, second, "Zweite Zeile")):
            posted = visitor.post(f"{ALPHA}/s/{chat['token']}/messages", json={"body": body})
            assert posted.status_code == 201, posted.get_json()
        streams[0].until("Erste Zeile")
        streams[1].until("Zweite Zeile")
        console.until("Erste Zeile")
        console.until("Zweite Zeile")
        assert "Zweite Zeile" not in streams[0].text
        assert "Erste Zeile" not in streams[1].text

        answer = agent.post(
            f"/agent/chats/{one['session']['id']}/messages", data={"csrf_token": csrf, "body": "Guten Tag"}
        )
        assert answer.status_code == 201, answer.get_data(as_text=True)[:500]
        streams[0].until("Guten Tag")
    finally:
        for stream in [*streams, console]:
            stream.close()
    log = node.log.read_text()
    assert "Using worker: gevent" in log
    assert log.count("Booting worker") == 2  # STREAMS_CONCURRENCY, not the web server's count
