"""Live chat's fast path: a line's notification carries the line and the id of its chat's line
before it, and a stream writes it from there when that is the last line it sent; on a gap (a lost
or reordered notification) it reads the database, so a line is never skipped (bench/chat.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from channels import chat_broker, chat_feed, chat_lines, chat_sessions
from channels.chat_models import ChatAuthor
from core import jobs, tenancy
from core.errors import NotFound
from core.extensions import db
from core.models_base import utcnow
from tests.channels.test_chat import ALPHA, _agent, _events, _held_chat, _read_until
from tests.factories import World


@pytest.fixture
def keepalive(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream that waits a short while for notifications, so a test can read it as it goes."""
    monkeypatch.setitem(app.config, "CHAT_KEEPALIVE_SECONDS", 0.05)


def test_a_note_follows_on_the_last_line_sent_of_its_chat_or_asks_for_a_read() -> None:
    note = {"type": "message", "session_id": 3, "id": 12, "after": 9, "line": {"id": 12}}
    assert chat_feed.follows(note, 9) is True
    assert chat_feed.follows(note, 12) is False  # sent already (notes of two processes crossed)
    assert chat_feed.follows(note, 15) is False
    assert chat_feed.follows(note, 7) is None  # line 9 (at least) is missing: read the database
    assert chat_feed.follows({**note, "line": None} | {"line": {}}, 9) is True
    assert chat_feed.follows({k: v for k, v in note.items() if k != "line"}, 9) is None
    assert chat_feed.follows({**note, "after": None}, 9) is None


def test_the_lines_of_two_chats_each_name_their_own_chats_line_before(app: Flask, online: World) -> None:
    visitor_a, token_a, chat_a = _held_chat(app, "Erster")
    visitor_b, token_b, chat_b = _held_chat(app, "Zweiter")
    console = chat_broker.broker(app).subscribe([chat_broker.agent_channel(online.agent_alpha.id)])
    try:
        console.wait(0.05)  # Redis: the SUBSCRIBE is under way
        for visitor, token, text in (
            (visitor_a, token_a, "a1"),
            (visitor_b, token_b, "b1"),
            (visitor_a, token_a, "a2"),
        ):
            assert visitor.post(f"{ALPHA}/s/{token}/messages", json={"body": text}).status_code == 201
        notes: list[dict[str, Any]] = []
        while len(notes) < 3:
            found = console.wait(1)
            assert found, notes
            notes += found
    finally:
        console.close()
    a1, b1, a2 = notes
    assert [n["session_id"] for n in notes] == [chat_a, chat_b, chat_a]
    assert a2["after"] == a1["id"]  # not b1's, which came between
    assert b1["after"] < a1["id"] < b1["id"]  # chat b's "has joined", before a1 was said


def test_a_stream_writes_a_line_from_its_notification_without_reading_the_lines(
    app: Flask, online: World
) -> None:
    visitor, token, chat_id = _held_chat(app, "Schnell")
    agent, csrf = _agent(app)
    widget = visitor.get(f"{ALPHA}/s/{token}/events", buffered=False)
    chunks = iter(widget.response)
    _read_until(chunks, lambda t: '"event":"accepted"' in t)  # what was said so far (no keepalive poll)
    reads: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM chat_messages" in statement and statement.lstrip().upper().startswith("SELECT"):
            reads.append(statement)

    reply = agent.post(
        f"/agent/chats/{chat_id}/messages", json={"body": "Gleich."}, headers={"X-CSRFToken": csrf}
    )
    assert reply.status_code == 201
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        text = _read_until(chunks, lambda t: "Gleich." in t)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
        widget.close()
    [line] = [e for e in _events(text) if e["event"] == "message"]
    assert line["id"] == reply.get_json()["id"]
    assert line["data"] == reply.get_json()
    assert reads == []


def test_a_stream_that_missed_a_notification_reads_the_line_it_missed(
    app: Flask, online: World, keepalive: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    visitor, token, chat_id = _held_chat(app, "Verloren")
    agent, csrf = _agent(app)
    widget = visitor.get(f"{ALPHA}/s/{token}/events", buffered=False)
    chunks = iter(widget.response)
    _read_until(chunks, lambda t: "keepalive" in t)

    def post(body: str) -> int:
        reply = agent.post(
            f"/agent/chats/{chat_id}/messages", json={"body": body}, headers={"X-CSRFToken": csrf}
        )
        assert reply.status_code == 201
        return int(reply.get_json()["id"])

    # The first line's notification is lost (Redis restarting, say); the second names it as the
    # line before, which the stream has not sent: it reads the database and sends both, in order.
    with monkeypatch.context() as lost:
        lost.setattr(chat_broker, "publish_now", lambda channels, payload: None)
        first = post("Erstens")
    second = post("Zweitens")
    try:
        text = _read_until(chunks, lambda t: "Zweitens" in t)
    finally:
        widget.close()
    lines = [(e["id"], e["data"]["body"]) for e in _events(text) if e["event"] == "message"]
    assert lines == [(first, "Erstens"), (second, "Zweitens")]


def test_a_console_ignores_the_lines_of_chats_it_does_not_hold(
    app: Flask, online: World, keepalive: None
) -> None:
    visitor, token, chat_id = _held_chat(app, "Meins")
    agent, _csrf = _agent(app)
    console = agent.get("/agent/chats/events", buffered=False)
    chunks = iter(console.response)
    _read_until(chunks, lambda t: "event: queue" in t and "keepalive" in t)
    # Another agent's chat of the same client: its notification reaches this console's channels
    # only if misrouted; the console must not show it either way.
    broker = chat_broker.broker(app)
    foreign = {"type": "message", "session_id": chat_id + 1000, "id": 10**9, "after": 0, "agent_id": -1}
    broker.publish(chat_broker.tenant_channel(online.alpha.id), {**foreign, "line": {"body": "fremd"}})
    assert visitor.post(f"{ALPHA}/s/{token}/messages", json={"body": "Hallo?"}).status_code == 201
    try:
        text = _read_until(chunks, lambda t: "Hallo?" in t)
    finally:
        console.close()
    assert "fremd" not in text


def test_a_line_said_in_a_savepoint_is_delivered_after_the_commit_only(app: Flask, online: World) -> None:
    """The notification carries the line itself: a SAVEPOINT's release must not deliver it."""
    _visitor, token, chat_id = _held_chat(app, "Sicher")
    widget = chat_broker.broker(app).subscribe([chat_broker.session_channel(chat_id)])
    try:
        widget.wait(0.05)  # Redis: the SUBSCRIBE is under way
        with tenancy.only(online.alpha.id):
            session = chat_sessions.for_visitor(token)
            with db.session.begin_nested():
                chat_lines.post(session, ChatAuthor.VISITOR, "im Savepoint")
            assert widget.wait(0.1) == []  # released, not committed
            jobs.commit()
        [note] = widget.wait(1)
        assert note["line"]["body"] == "im Savepoint"
    finally:
        widget.close()


def test_a_claim_finds_locks_and_touches_only_a_chat_in_scope(app: Flask, online: World) -> None:
    """`claim` is the lookup of a line's chat: one UPDATE ... RETURNING under the scope's criteria,
    so another client's chat is not found and its row is not written."""
    _visitor, token, chat_id = _held_chat(app, "Anspruch")
    later = utcnow() + timedelta(minutes=5)
    with tenancy.using(tenancy.tenants([online.beta.id])):
        with pytest.raises(NotFound):
            chat_sessions.claim(chat_id, later)
        with pytest.raises(NotFound):
            chat_sessions.claim_for_visitor(token, later)
    with tenancy.using(tenancy.tenants([online.alpha.id])):
        untouched = db.session.get(chat_sessions.ChatSession, chat_id, populate_existing=True)
        assert untouched.last_activity_at < later
        claimed = chat_sessions.claim_for_visitor(token, later)
        assert claimed.id == chat_id
        assert claimed.last_activity_at == later
        message = chat_lines.post(claimed, ChatAuthor.VISITOR, "  Hallo  ", now=later, claimed=True)
        assert message.body == "Hallo"
        assert chat_sessions.claim(chat_id, later).id == chat_id
