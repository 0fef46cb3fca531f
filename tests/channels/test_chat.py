"""Live chat: the widget's API, the agent console, the event streams and what a chat leaves
behind (a ticket with its transcript, an e-mail when the customer asks for one)."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from agents import routing, staff
from agents import services as agents
from agents.models import Presence
from channels import chat_broker, chat_ending, chat_feed, chat_lines, chat_queue, chat_start
from channels.chat_models import ChatAuthor, ChatMessage, ChatSession
from core import jobs, tenancy
from core.audit import AuditEvent
from core.auth.models import User
from core.extensions import db
from core.models_base import utcnow
from tenants.models import Tenant, TenantStatus
from tests.conftest import csrf_token, sign_in
from tests.factories import World, chat_key
from tickets.models import Message, Ticket

ALPHA = f"/chat/{chat_key('alpha')}"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fast_streams(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Streams that poll often and end soon, so a test can read one to its end."""
    monkeypatch.setitem(app.config, "CHAT_KEEPALIVE_SECONDS", 0.05)
    monkeypatch.setitem(app.config, "CHAT_STREAM_SECONDS", 0.3)


def _visitor(app: Flask) -> FlaskClient:
    return app.test_client()


def _start(visitor: FlaskClient, **overrides: Any) -> dict[str, Any]:
    body = {
        "name": "Hans Muster",
        "email": "hans@example.com",
        "language": "de",
        "topic": "Geschirrspüler zeigt E24",
        "transcript": True,
        **overrides,
    }
    response = visitor.post(f"{ALPHA}/start", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _events(raw: str) -> list[dict[str, Any]]:
    """Server-sent events as (id, event, data) dicts; comments and retry lines skipped."""
    events = []
    for block in raw.split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.splitlines():
            name, _sep, value = line.partition(": ")
            if name in ("id", "event", "data"):
                fields[name] = value
        if "event" in fields:
            fields["data"] = json.loads(fields["data"])
            fields["id"] = int(fields["id"]) if "id" in fields else None
            events.append(fields)
    return events


def _loader_config(script: str) -> dict[str, Any]:
    assert "chat-widget.js" in script
    raw = script.split("window.FirstlineChat = ", 1)[1].split(";\n", 1)[0]
    return json.loads(raw)


def _session(token: str, tenant_id: int) -> ChatSession:
    with tenancy.only(tenant_id):
        found = db.session.scalar(select(ChatSession).where(ChatSession.token == token))
        assert found is not None
        db.session.refresh(found)
        return found


def _agent(app: Flask, email: str = "agent.alpha@provider.example") -> tuple[FlaskClient, str]:
    agent = app.test_client()
    sign_in(agent, email)
    return agent, csrf_token(agent, "/profile")


# --- the widget ------------------------------------------------------------------------------


def test_loader_carries_the_key_languages_and_texts_and_allows_other_origins(
    client: FlaskClient, world: World
) -> None:
    response = client.get(f"{ALPHA}/widget.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    config = _loader_config(response.get_data(as_text=True))
    assert config["base"] == f"http://firstline.test{ALPHA}"
    assert config["available"] is True
    # The texts of the client's languages, nothing else: alpha serves German and English.
    assert sorted(config["texts"]) == ["de", "en"]
    assert config["texts"]["en"]["start"] == "Start chat"
    assert [lang["code"] for lang in config["languages"]] == ["de", "en"]
    assert client.get("/chat/no-such-key/widget.js").status_code == 404


def test_widget_scripts_insert_text_never_html() -> None:
    for name in ("chat-widget.js", "chat-console.js"):
        source = (ROOT / "core" / "static" / name).read_text()
        assert "innerHTML" not in source
        assert "insertAdjacentHTML" not in source
        assert "textContent" in source


def test_unknown_key_and_bad_token_are_json_404s(client: FlaskClient, world: World) -> None:
    response = client.get("/chat/nope-nope/config")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    response = client.post(f"{ALPHA}/s/{'x' * 40}/messages", json={"body": "hi"})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_a_token_of_another_client_is_not_found_under_this_clients_key(
    app: Flask, client: FlaskClient, online: World
) -> None:
    token = online.beta_chat.token
    for method, path in (
        ("get", f"/s/{token}"),
        ("get", f"/s/{token}/events"),
        ("post", f"/s/{token}/messages"),
        ("post", f"/s/{token}/end"),
    ):
        response = getattr(client, method)(ALPHA + path, json={"body": "hello"})
        assert response.status_code == 404, path
    # Under its own key the token works: the 404s above are about the tenant, not the token.
    assert client.get(f"/chat/{chat_key('beta')}/s/{token}").status_code == 200
    agent, _token = _agent(app)
    assert agent.get(f"/agent/chats/{online.beta_chat.id}").status_code == 404
    assert (
        agent.post(f"/agent/chats/{online.beta_chat.id}/accept", data={"csrf_token": _token}).status_code
        == 404
    )


def test_suspended_client_keeps_its_chat(client: FlaskClient, online: World) -> None:
    """Suspension turns no customer away: the widget stays available and a chat starts."""
    with tenancy.system_scope():
        online.alpha.status = TenantStatus.SUSPENDED.value
        jobs.commit()
    loader = client.get(f"{ALPHA}/widget.js").get_data(as_text=True)
    assert _loader_config(loader)["available"] is True
    assert client.get(f"{ALPHA}/config").status_code == 200
    started = _start(client)
    assert _session(started["token"], online.alpha.id).status == "queued"


# --- nobody online: a message, then a ticket -------------------------------------------------


def test_without_an_agent_online_the_visitor_leaves_a_message_that_becomes_a_ticket(
    app: Flask, client: FlaskClient, world: World, smtp_to: Any
) -> None:
    languages = client.get(f"{ALPHA}/config").get_json()["languages"]
    assert [(lang["code"], lang["online"]) for lang in languages] == [("de", False), ("en", False)]
    refused = client.post(
        f"{ALPHA}/start", json={"name": "Hans", "email": "hans@example.com", "language": "de", "topic": "E24"}
    )
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "chat_offline"
    left = client.post(
        f"{ALPHA}/offline",
        json={
            "name": "Hans Muster",
            "email": "hans@example.com",
            "language": "de",
            "topic": "Geschirrspüler zeigt E24",
            "message": "Er pumpt nicht mehr ab.",
        },
    )
    assert left.status_code == 201
    assert left.get_json()["session"]["status"] == "offline"
    with tenancy.only(world.alpha.id):
        ticket = db.session.scalars(select(Ticket).order_by(Ticket.id.desc())).first()
        assert (ticket.channel, ticket.subject, ticket.language) == ("chat", "Geschirrspüler zeigt E24", "de")
        first = db.session.scalars(select(Message).where(Message.ticket_id == ticket.id)).first()
        assert first.body == "Er pumpt nicht mehr ab."
    # Answered by e-mail from here on: the customer has the ticket number.
    [ack] = smtp_to.messages
    assert ack["To"] == "hans@example.com"
    assert f"ALPHA-{ticket.number}" in ack["Subject"]


def test_leaving_a_message_needs_an_address_to_answer(client: FlaskClient, world: World) -> None:
    response = client.post(
        f"{ALPHA}/offline", json={"name": "Hans", "language": "de", "topic": "E24", "message": "Hallo"}
    )
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"email"}


# --- a chat from start to transcript ---------------------------------------------------------


def test_chat_is_queued_for_the_right_agents_accepted_answered_and_ended_with_a_transcript(
    app: Flask, online: World, smtp_to: Any, fast_streams: None
) -> None:
    with tenancy.system_scope():
        agents.set_languages(online.agent_both, {"fr": "native"})  # serves alpha, but no German
        routing.set_presence(online.agent_both, Presence.AVAILABLE)
        jobs.commit()
    visitor = _visitor(app)
    started = _start(visitor)
    token = started["token"]
    assert started["session"]["status"] == "queued"

    agent, csrf = _agent(app)
    page = agent.get("/agent/chats").get_data(as_text=True)
    assert "Hans Muster" in page
    assert "Geschirrspüler zeigt E24" in page
    other, _other_csrf = _agent(app, "agent.both@provider.example")
    assert "Hans Muster" not in other.get("/agent/chats").get_data(as_text=True)

    chat_id = started["session"]["id"]
    accepted = agent.post(f"/agent/chats/{chat_id}/accept", data={"csrf_token": csrf})
    assert accepted.status_code == 302
    assert accepted.headers["Location"].endswith(f"/agent/chats/{chat_id}")
    # A second agent clicking late is told so.
    late = other.post(f"/agent/chats/{chat_id}/accept", data={"csrf_token": _other_csrf})
    assert late.status_code == 302

    assert visitor.post(f"{ALPHA}/s/{token}/messages", json={"body": "Es piept dreimal."}).status_code == 201
    answer = agent.post(
        f"/agent/chats/{chat_id}/messages",
        json={"body": "Bitte prüfen Sie den Siphon."},
        headers={"X-CSRFToken": csrf},
    )
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["author"] == "agent"
    # Only the agent holding the chat answers it.
    refused = other.post(
        f"/agent/chats/{chat_id}/messages", json={"body": "Ich auch"}, headers={"X-CSRFToken": _other_csrf}
    )
    assert refused.status_code in (403, 404)

    # The agent's console shows the conversation and the client's context.
    page = agent.get(f"/agent/chats/{chat_id}").get_data(as_text=True)
    assert "Es piept dreimal." in page
    assert "Alpha AG" in page
    assert "context-panel" in page

    ended = agent.post(f"/agent/chats/{chat_id}/end", data={"csrf_token": csrf})
    assert ended.status_code == 302
    session = _session(token, online.alpha.id)
    assert (session.status, session.ended_by) == ("ended", "agent")
    assert ended.headers["Location"].endswith(f"/agent/tickets/{session.ticket_id}")
    with tenancy.only(online.alpha.id):
        ticket = db.session.get_one(Ticket, session.ticket_id)
        assert (ticket.channel, ticket.assignee_id) == ("chat", online.agent_alpha.id)
        [transcript] = db.session.scalars(
            select(Message).where(Message.ticket_id == ticket.id, Message.kind == "chat_transcript")
        ).all()
    assert "Hans Muster: Es piept dreimal." in transcript.body
    assert "Agent.Alpha: Bitte prüfen Sie den Siphon." in transcript.body
    assert "— Agent.Alpha" in transcript.body  # "… has joined the chat", in the customer's language
    # The customer asked for the transcript in the pre-chat form.
    [mail] = [m for m in smtp_to.messages if m["To"] == "hans@example.com"]
    assert "Bitte prüfen Sie den Siphon." in mail.get_content()

    # The visitor's stream replays the chat and then stops: the chat is over.
    events = _events(visitor.get(f"{ALPHA}/s/{token}/events").get_data(as_text=True))
    assert [e["data"]["author"] for e in events] == ["system", "system", "visitor", "agent", "system"]
    assert events[-1]["data"]["event"] == "ended"
    last = events[-1]["id"]
    assert visitor.get(f"{ALPHA}/s/{token}/events", headers={"Last-Event-ID": str(last)}).status_code == 204
    assert visitor.post(f"{ALPHA}/s/{token}/messages", json={"body": "Hallo?"}).status_code == 409


def test_visitor_ends_and_asks_for_the_transcript_afterwards(app: Flask, online: World, smtp_to: Any) -> None:
    visitor = _visitor(app)
    token = _start(visitor, transcript=False)["token"]
    visitor.post(f"{ALPHA}/s/{token}/messages", json={"body": "Schon gut, es geht wieder."})
    assert visitor.post(f"{ALPHA}/s/{token}/end").get_json()["session"]["status"] == "ended"
    assert not [m for m in smtp_to.messages if m["To"] == "hans@example.com"]
    sent = visitor.post(f"{ALPHA}/s/{token}/transcript", json={})
    assert sent.get_json() == {"requested": True, "sent": True}
    [mail] = [m for m in smtp_to.messages if m["To"] == "hans@example.com"]
    assert "Schon gut, es geht wieder." in mail.get_content()
    session = _session(token, online.alpha.id)
    assert session.ended_by == "visitor"
    assert session.ticket_id is not None


def test_agent_ends_a_chat_to_escalate_it_and_writes_the_handoff_next(app: Flask, online: World) -> None:
    visitor = _visitor(app)
    started = _start(visitor)
    agent, csrf = _agent(app)
    chat_id = started["session"]["id"]
    agent.post(f"/agent/chats/{chat_id}/accept", data={"csrf_token": csrf})
    response = agent.post(
        f"/agent/chats/{chat_id}/escalate",
        data={"csrf_token": csrf, "reason": "Pumpe defekt, Techniker nötig"},
    )
    assert response.status_code == 302
    assert "/escalate?summary=Pumpe" in response.headers["Location"]
    session = _session(started["token"], online.alpha.id)
    with tenancy.only(online.alpha.id):
        ticket = db.session.get_one(Ticket, session.ticket_id)
        kinds = [m.kind for m in db.session.scalars(select(Message).where(Message.ticket_id == ticket.id))]
    assert ticket.status != "escalated"  # the handoff packet comes first
    assert "chat_transcript" in kinds
    assert "note" in kinds


def test_idle_chats_are_closed_by_the_sweep_with_their_transcript(app: Flask, online: World) -> None:
    visitor = _visitor(app)
    token = _start(visitor)["token"]
    visitor.post(f"{ALPHA}/s/{token}/messages", json={"body": "Hallo?"})
    with tenancy.system_scope():
        assert chat_ending.end_idle(utcnow() + timedelta(minutes=5)) == 0
        assert chat_ending.end_idle(utcnow() + timedelta(minutes=16)) >= 1
        jobs.commit()
    session = _session(token, online.alpha.id)
    assert (session.status, session.ended_by) == ("ended", "idle")
    with tenancy.only(online.alpha.id):
        bodies = [
            m.body
            for m in db.session.scalars(
                select(Message).where(
                    Message.ticket_id == session.ticket_id, Message.kind == "chat_transcript"
                )
            )
        ]
    assert len(bodies) == 1
    assert "Hallo?" in bodies[0]


# --- bad input -------------------------------------------------------------------------------


def test_too_long_messages_are_refused_with_a_clear_json_error(app: Flask, online: World) -> None:
    visitor = _visitor(app)
    token = _start(visitor)["token"]
    response = visitor.post(f"{ALPHA}/s/{token}/messages", json={"body": "x" * 4001})
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "message_too_long"
    assert "4000" in error["message"]
    huge = visitor.post(f"{ALPHA}/s/{token}/messages", json={"body": "x" * 100_000})
    assert huge.status_code == 413
    assert visitor.post(f"{ALPHA}/s/{token}/messages", json={"body": "   "}).status_code == 422
    assert visitor.post(f"{ALPHA}/s/{token}/messages", data="not json").status_code == 422


def test_markup_is_kept_as_text_and_shown_escaped(app: Flask, online: World) -> None:
    visitor = _visitor(app)
    started = _start(visitor, name="<img src=x onerror=alert(1)>")
    token, chat_id = started["token"], started["session"]["id"]
    attack = "<script>alert('x')</script>"
    echoed = visitor.post(f"{ALPHA}/s/{token}/messages", json={"body": attack}).get_json()
    assert echoed["body"] == attack  # JSON carries the text; the widget inserts it as text
    agent, csrf = _agent(app)
    agent.post(f"/agent/chats/{chat_id}/accept", data={"csrf_token": csrf})
    page = agent.get(f"/agent/chats/{chat_id}").get_data(as_text=True)
    assert attack not in page
    assert "&lt;script&gt;" in page
    assert "<img src=x" not in page


def test_visitor_posts_are_rate_limited(app: Flask, online: World, monkeypatch: pytest.MonkeyPatch) -> None:
    visitor = _visitor(app)
    token = _start(visitor)["token"]
    monkeypatch.setitem(app.config, "RATELIMIT_CHAT", "2 per minute")
    codes = [
        visitor.post(f"{ALPHA}/s/{token}/messages", json={"body": f"Nachricht {n}"}).status_code
        for n in range(3)
    ]
    assert codes == [201, 201, 429]
    refused = visitor.post(f"{ALPHA}/s/{token}/messages", json={"body": "noch eine"})
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 61


# --- streams, reconnects and the broker ------------------------------------------------------


def test_stream_resumes_after_the_last_event_id(app: Flask, online: World, fast_streams: None) -> None:
    visitor = _visitor(app)
    token = _start(visitor, transcript=False)["token"]
    for text in ("eins", "zwei", "drei"):
        visitor.post(f"{ALPHA}/s/{token}/messages", json={"body": text})
    first = _events(visitor.get(f"{ALPHA}/s/{token}/events").get_data(as_text=True))
    assert [e["data"]["body"] for e in first][1:] == ["eins", "zwei", "drei"]
    assert all(e["id"] == e["data"]["id"] for e in first)
    seen = first[1]["id"]  # the client saw "eins", then lost the connection
    again = visitor.get(f"{ALPHA}/s/{token}/events", headers={"Last-Event-ID": str(seen)})
    assert [e["data"]["body"] for e in _events(again.get_data(as_text=True))] == ["zwei", "drei"]
    # A page that knows where it stands may say so in the URL.
    query = visitor.get(f"{ALPHA}/s/{token}/events?after={first[2]['id']}")
    assert [e["data"]["body"] for e in _events(query.get_data(as_text=True))] == ["drei"]


def _read_until(chunks: Any, predicate: Any, limit: float = 5.0) -> str:
    text, deadline = "", time.monotonic() + limit
    while time.monotonic() < deadline:
        text += next(chunks).decode()
        if predicate(text):
            return text
    raise AssertionError(f"stream did not deliver in time: {text!r}")


def test_live_stream_delivers_what_is_posted_after_it_opened(
    app: Flask, online: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "CHAT_KEEPALIVE_SECONDS", 0.05)
    visitor = _visitor(app)
    started = _start(visitor, transcript=False)
    token, chat_id = started["token"], started["session"]["id"]
    agent, csrf = _agent(app)
    agent.post(f"/agent/chats/{chat_id}/accept", data={"csrf_token": csrf})

    console = agent.get("/agent/chats/events?after=0", buffered=False)
    assert console.mimetype == "text/event-stream"
    console_chunks = iter(console.response)
    _read_until(console_chunks, lambda t: "event: queue" in t)
    widget = visitor.get(f"{ALPHA}/s/{token}/events", buffered=False)
    widget_chunks = iter(widget.response)
    _read_until(widget_chunks, lambda t: "keepalive" in t)  # replay done, waiting

    visitor.post(f"{ALPHA}/s/{token}/typing")
    assert '"who":"visitor"' in _read_until(console_chunks, lambda t: "event: typing" in t)
    visitor.post(f"{ALPHA}/s/{token}/messages", json={"body": "Sind Sie noch da?"})
    assert "Sind Sie noch da?" in _read_until(console_chunks, lambda t: "Sind Sie noch da?" in t)
    agent.post(
        f"/agent/chats/{chat_id}/messages", json={"body": "Ja, gleich."}, headers={"X-CSRFToken": csrf}
    )
    assert "Ja, gleich." in _read_until(widget_chunks, lambda t: "Ja, gleich." in t)
    console.close()
    widget.close()


def test_local_broker_wakes_only_subscribers_of_the_channel() -> None:
    broker = chat_broker.LocalBroker()
    mine = broker.subscribe(["session:1"])
    other = broker.subscribe(["session:2"])
    broker.publish("session:1", {"type": "message", "id": 7})
    assert mine.wait(1) == [{"type": "message", "id": 7}]
    assert other.wait(0.01) == []
    mine.close()
    broker.publish("session:1", {"type": "message", "id": 8})
    assert not broker.subscribers - {other}


def test_notifications_are_published_only_after_commit(app: Flask, online: World) -> None:
    alpha_id = online.alpha.id
    subscription = chat_broker.broker(app).subscribe([chat_broker.tenant_channel(alpha_id)])
    try:
        with tenancy.only(alpha_id):
            chat_start.start(online.alpha, chat_start.StartChat("Eva", None, "de", "Rollback"))
            assert subscription.wait(0.05) == []  # stored, not committed: nothing delivered yet
            db.session.rollback()
        assert subscription.wait(0.05) == []  # rolled back: never delivered
        with tenancy.only(alpha_id):
            chat_start.start(
                db.session.get_one(Tenant, alpha_id), chat_start.StartChat("Eva", None, "de", "Commit")
            )
            jobs.commit()
        assert {n["type"] for n in subscription.wait(1)} == {"message", "queue"}
    finally:
        subscription.close()


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL is not set: no Redis pub/sub")
def test_redis_broker_fans_out_across_connections() -> None:
    """Two brokers stand for two gunicorn processes: one publishes, the other's stream wakes."""
    url = os.environ["REDIS_URL"]
    receiving, sending = chat_broker.RedisBroker(url), chat_broker.RedisBroker(url)
    subscription = receiving.subscribe(["session:424242"])
    try:
        time.sleep(0.1)  # SUBSCRIBE is asynchronous on the server side
        subscription.wait(0.1)
        sending.publish("session:424242", {"type": "message", "session_id": 424242, "id": 1})
        sending.publish("session:999", {"type": "message", "session_id": 999, "id": 2})
        assert subscription.wait(2) == [{"type": "message", "session_id": 424242, "id": 1}]
    finally:
        subscription.close()


def test_messages_are_tenant_rows(online: World, app: Flask) -> None:
    visitor = _visitor(app)
    token = _start(visitor)["token"]
    with tenancy.only(online.beta.id):
        assert db.session.scalar(select(ChatSession).where(ChatSession.token == token)) is None
        assert not list(db.session.scalars(select(ChatMessage)))


# --- delivery under load (what bench/chat.py found) ------------------------------------------


def _held_chat(app: Flask, topic: str) -> tuple[FlaskClient, str, int]:
    """A chat of alpha accepted by alpha's agent: the visitor's client, token and chat id."""
    visitor = _visitor(app)
    started = _start(visitor, transcript=False, topic=topic)
    chat_id = started["session"]["id"]
    agent, csrf = _agent(app)
    assert agent.post(f"/agent/chats/{chat_id}/accept", data={"csrf_token": csrf}).status_code == 302
    return visitor, started["token"], chat_id


def test_a_line_wakes_both_sides_with_the_line_and_of_the_consoles_only_the_holders(
    app: Flask, online: World
) -> None:
    visitor, token, chat_id = _held_chat(app, "Wecker")
    agent, csrf = _agent(app)
    broker = chat_broker.broker(app)
    console = broker.subscribe([chat_broker.agent_channel(online.agent_alpha.id)])
    team = broker.subscribe([chat_broker.tenant_channel(online.alpha.id)])
    widget = broker.subscribe([chat_broker.session_channel(chat_id)])
    try:
        for subscription in (console, team, widget):
            subscription.wait(0.05)  # Redis: the SUBSCRIBE is under way
        posted = visitor.post(f"{ALPHA}/s/{token}/messages", json={"body": "Hallo"})
        assert posted.status_code == 201
        [note] = console.wait(1)
        # The line as the streams send it, and the chat's line before it ("has joined").
        assert note["line"] == posted.get_json()
        with tenancy.only(online.alpha.id):
            joined = chat_feed.messages_after([chat_id])[-2]
        assert (joined.event, note["after"]) == ("accepted", joined.id)
        assert note["agent_id"] == online.agent_alpha.id
        assert widget.wait(1) == [note]  # the author's stream sends it too, from the notification
        reply = agent.post(
            f"/agent/chats/{chat_id}/messages", json={"body": "Guten Tag"}, headers={"X-CSRFToken": csrf}
        )
        assert reply.status_code == 201
        [answer] = widget.wait(1)
        assert (answer["line"]["body"], answer["after"]) == ("Guten Tag", note["id"])
        assert [n["id"] for n in console.wait(1)] == [answer["id"]]
        assert team.wait(0.05) == []  # the client's other consoles do not show a held chat's lines
    finally:
        for subscription in (console, team, widget):
            subscription.close()


def test_a_chats_row_is_written_before_its_line_takes_an_id(app: Flask, online: World) -> None:
    """The row lock orders the lines of one chat: they commit in id order."""
    visitor, token, _chat_id = _held_chat(app, "Reihenfolge")
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split()[:3]))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert visitor.post(f"{ALPHA}/s/{token}/messages", json={"body": "eins"}).status_code == 201
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    writes = [s for s in statements if s.startswith(("INSERT", "UPDATE"))]
    assert writes.index("UPDATE chat_sessions SET") < writes.index("INSERT INTO chat_messages")


def test_the_console_sends_a_line_that_commits_after_a_later_line_of_another_chat(
    app: Flask, online: World
) -> None:
    _visitor_a, token_a, chat_a = _held_chat(app, "Erster")
    _visitor_b, token_b, chat_b = _held_chat(app, "Zweiter")
    agent_id = online.agent_alpha.id
    with tenancy.only(online.alpha.id):
        early = chat_lines.post(_session(token_a, online.alpha.id), ChatAuthor.VISITOR, "früher")
        late = chat_lines.post(_session(token_b, online.alpha.id), ChatAuthor.VISITOR, "später")
        jobs.commit()
        # The console sent `late` before `early` was committed: one cursor would now skip it.
        assert chat_feed.agent_messages_after(agent_id, late.id) == []
        found = chat_feed.agent_messages_after(agent_id, late.id, {chat_a: early.id - 1, chat_b: late.id})
        assert [m.body for m in found] == ["früher"]
        # What the streams send is what a single line's JSON says, names included.
        lines = chat_feed.messages_after([chat_a, chat_b])
        assert chat_feed.as_json_many(lines, {}) == [chat_feed.as_json(m) for m in lines]


# --- an agent who leaves ----------------------------------------------------------------------


def test_a_deactivated_agents_chats_go_back_to_the_queue_and_the_next_agent_continues(
    app: Flask, online: World, fast_streams: None
) -> None:
    with tenancy.system_scope():
        agents.set_languages(online.agent_both, {"de": "native"})
        routing.set_presence(online.agent_both, Presence.AVAILABLE)
        jobs.commit()
    visitor, token, chat_id = _held_chat(app, "Wasserhahn tropft")
    assert visitor.post(f"{ALPHA}/s/{token}/messages", json={"body": "Immer noch."}).status_code == 201
    first_accept = _session(token, online.alpha.id).accepted_at

    admin, csrf = _agent(app, "admin@provider.example")
    done = admin.post(f"/admin/agents/{online.agent_alpha.id}/deactivate", data={"csrf_token": csrf})
    assert done.status_code == 302

    session = _session(token, online.alpha.id)
    assert (session.status, session.agent_id) == ("queued", None)
    # The visitor is told, in the chat's language, and keeps the conversation.
    lines = _events(visitor.get(f"{ALPHA}/s/{token}/events").get_data(as_text=True))
    assert lines[-1]["data"]["event"] == "requeued"
    assert "nächste verfügbare" in lines[-1]["data"]["body"]
    with tenancy.system_scope():
        [audited] = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.deactivated")
        ).all()
        assert audited.data["chats_returned"] == 1

    other, other_csrf = _agent(app, "agent.both@provider.example")
    assert "Wasserhahn tropft" in other.get("/agent/chats").get_data(as_text=True)
    assert other.post(f"/agent/chats/{chat_id}/accept", data={"csrf_token": other_csrf}).status_code == 302
    page = other.get(f"/agent/chats/{chat_id}").get_data(as_text=True)
    assert "Immer noch." in page
    session = _session(token, online.alpha.id)
    assert (session.status, session.agent_id) == ("active", online.agent_both.id)
    assert session.accepted_at == first_accept  # billed from the first acceptance


def test_an_agent_taken_off_a_client_gives_back_only_that_clients_chats(app: Flask, online: World) -> None:
    visitor, token, chat_id = _held_chat(app, "Rechnung unklar")
    with tenancy.system_scope():
        agent = db.session.get_one(User, online.agent_alpha.id)
        staff.set_skills(agent, {"de": "native", "en": "fluent"}, [online.beta.id])
        jobs.commit()
        [audited] = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "agent.unassigned")
        ).all()
        assert audited.data == {"tickets": 1, "chats": 1}
    assert _session(token, online.alpha.id).status == "queued"
    with tenancy.system_scope():
        assert chat_queue.give_back(online.agent_alpha.id) == 0  # nothing else held
