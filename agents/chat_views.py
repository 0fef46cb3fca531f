"""The agents' chat console (`/agent/chats`): the queue of waiting chats offered to the agent
(their clients, their languages), the chats they hold, one conversation with the client's
context beside it, and a single event stream for all of it.

One stream per console, not per chat: an agent holds several chats, and browsers allow only a
few open connections per site. Its event ids are message ids, shared by all chats, so one
`Last-Event-ID` resumes every conversation at once.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from agents import services as agent_services
from agents.views import bp, client_panel, workspace
from channels import chat_broker, chat_ending, chat_feed, chat_lines, chat_queue, chat_sessions
from channels.chat_models import ChatAuthor, ChatSession
from channels.chat_stream import resume_from, sse, stream
from core import admission
from core.api import error_response
from core.auth.models import User
from core.errors import Conflict, PermissionDenied, ServiceError, ValidationFailed
from core.extensions import db
from core.i18n import language_name
from core.models_base import utcnow
from knowledge import desk
from knowledge import services as articles
from knowledge.models import UseKind
from tenants.models import Tenant
from tickets import services as tickets
from tickets.models import Contact, Ticket


def _tenant_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.session.execute(select(Tenant.id, Tenant.name).where(Tenant.id.in_(ids)))
    return {tenant_id: name for tenant_id, name in rows}


@bp.route("/chats")
@bp.route("/chats/<int:chat_id>")
@workspace
def chats(chat_id: int | None = None) -> str:
    selected = chat_sessions.get(chat_id) if chat_id is not None else None
    context: dict[str, Any] = {}
    if selected is not None:
        tenant = db.session.get_one(Tenant, selected.tenant_id)
        ticket = db.session.get(Ticket, selected.ticket_id) if selected.ticket_id else None
        contact = db.session.get(Contact, ticket.contact_id) if ticket and ticket.contact_id else None
        context = {
            **client_panel(tenant, selected.language),
            "messages": [chat_feed.as_json(m, selected) for m in chat_feed.messages_after([selected.id])],
            "ticket": ticket,
            "number": tickets.display_number(tenant, ticket) if ticket else None,
            "contact": contact,
            "mine": selected.agent_id == current_user.id,
            **_knowledge(selected, tenant, ticket),
        }
    held = chat_queue.held_by(current_user.id)
    return render_template(
        "agents/chats.html",
        selected=selected,
        held=held,
        held_tenants=_tenant_names({s.tenant_id for s in held}),
        queue=_queue(current_user.id),
        after=chat_feed.last_message_id(),
        max_chars=current_app.config["CHAT_MAX_CHARS"],
        **context,
    )


def _knowledge(session: ChatSession, tenant: Tenant, ticket: Ticket | None) -> dict[str, Any]:
    """Articles for the chat's topic and what the visitor wrote, with answers ready to insert."""
    query = request.args.get("kbq", "").strip()[:200]
    if not query:
        said = [
            m.body for m in chat_feed.messages_after([session.id]) if m.author == ChatAuthor.VISITOR.value
        ]
        query = " ".join([session.topic, *said[:3]])[:600]
    values = {
        "contact_name": session.visitor_name,
        "ticket_number": tickets.display_number(tenant, ticket) if ticket else "",
        "ticket_subject": session.topic,
        "agent_name": current_user.name,
        "client_name": tenant.name,
    }
    found = desk.suggest(tenant.id, session.language, query, typed=bool(request.args.get("kbq", "").strip()))
    return {
        "kb_query": request.args.get("kbq", ""),
        "kb_suggestions": [(s, desk.answer_text(s.article, session.language, values)[0]) for s in found],
    }


@bp.route("/chats/<int:chat_id>/kb/<int:article_id>", methods=["POST"])
@workspace
def chat_kb_used(chat_id: int, article_id: int) -> tuple[str, int]:
    """An article's answer went into the chat: recorded on the chat's ticket."""
    session = _mine(chat_id)
    article = articles.get(article_id)
    if session.ticket_id is not None:
        desk.record_use(tickets.get_ticket(session.ticket_id), article, UseKind.INSERTED, current_user.id)
    return "", 204


@bp.route("/chats/events")
@admission.streaming
@workspace
def chat_events() -> Response:
    """The console's stream: new lines of the agent's chats, the visitors' typing, the queue."""
    user_id = current_user.id
    tenant_ids = agent_services.assigned_tenant_ids(user_id)
    after = resume_from() or chat_feed.last_message_id()

    names: chat_feed.Names = {}
    # A cursor per chat (see `chat_feed.agent_messages_after`) for the chats held now and any other
    # that sends a line; accepting a chat loads the console afresh, with a new stream.
    chats = {session.id: after for session in chat_queue.held_by(user_id)}

    def step(cursor: int, notes: list[dict[str, Any]]) -> tuple[list[str], int, bool]:
        chunks = []
        messages = chat_feed.agent_messages_after(user_id, cursor, chats)
        for message, data in zip(messages, chat_feed.as_json_many(messages, names), strict=True):
            chunks.append(sse("message", data, message.id))
            chats[message.session_id] = message.id
            cursor = max(cursor, message.id)
        typing = [n for n in notes if n.get("type") == "typing" and n.get("who") == "visitor"]
        if typing:
            held = {s.id for s in chat_queue.held_by(user_id)}
            for note in typing:
                if note.get("session_id") in held:
                    chunks.append(sse("typing", {"session_id": note["session_id"], "who": "visitor"}))
        # The queue on connect, on every change, and with each keepalive poll (self-healing).
        if not notes or any(n.get("type") in ("queue", "hello") for n in notes):
            chunks.append(sse("queue", {"chats": _queue(user_id)}))
        return chunks, cursor, False

    def quick(cursor: int, notes: list[dict[str, Any]]) -> tuple[list[str], int, bool, list[dict[str, Any]]]:
        """The lines of the chats it holds that the notifications carry, while each follows on the
        last one sent of its chat; the visitors' typing in them. The step reads the rest."""
        chunks = []
        for index, note in enumerate(notes):
            kind = note.get("type")
            if kind in ("message", "typing") and "agent_id" in note and note["agent_id"] != user_id:
                continue  # a chat it does not hold (waiting, or another agent's): not shown here
            if kind == "typing" and "agent_id" in note:
                if note.get("who") == ChatAuthor.VISITOR.value:
                    chunks.append(sse("typing", {"session_id": note.get("session_id"), "who": "visitor"}))
                continue
            chat = note.get("session_id")
            follows = chat_feed.follows(note, chats[chat]) if kind == "message" and chat in chats else None
            if follows is None:
                return chunks, cursor, False, notes[index:]
            if follows:
                chunks.append(sse("message", note["line"], note["id"]))
                chats[chat] = note["id"]
        return chunks, cursor, False, []

    # The clients' channels for the queue, the agent's own for the lines of the chats it holds.
    channels = [chat_broker.tenant_channel(t) for t in tenant_ids] + [chat_broker.agent_channel(user_id)]
    return stream(channels, step, after, quick)


def _queue(user_id: int) -> list[dict[str, Any]]:
    """The waiting chats offered to the agent, as the console shows them (also from the stream,
    where there is no request: the user is loaded afresh)."""
    user = db.session.get(User, user_id)
    sessions = chat_queue.queue_for(user) if user is not None else []
    names = _tenant_names({s.tenant_id for s in sessions})
    return [
        {
            "id": s.id,
            "tenant": names.get(s.tenant_id, ""),
            "name": s.visitor_name,
            "language": language_name(s.language),
            "topic": s.topic,
            "since": s.created_at.isoformat(),
        }
        for s in sessions
    ]


@bp.route("/chats/<int:chat_id>/accept", methods=["POST"])
@workspace
def chat_accept(chat_id: int) -> Response:
    session = chat_sessions.get(chat_id)
    try:
        chat_queue.accept(session, current_user)
    except (Conflict, PermissionDenied) as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("agent.chats"))
    return redirect(url_for("agent.chats", chat_id=chat_id))


def _mine(chat_id: int) -> ChatSession:
    return chat_sessions.get(chat_id)


@bp.route("/chats/<int:chat_id>/messages", methods=["POST"])
@workspace
def chat_post(chat_id: int) -> tuple[Response, int]:
    now = utcnow()
    session = chat_sessions.claim(chat_id, now)  # found and locked in one statement
    data = request.get_json(silent=True)
    body = data.get("body") if isinstance(data, dict) else request.form.get("body")
    try:
        text = body if isinstance(body, str) else ""
        message = chat_lines.post(
            session, ChatAuthor.AGENT, text, user_id=current_user.id, now=now, claimed=True
        )
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.fields), exc.status
    return jsonify(chat_feed.as_json(message, session)), 201


@bp.route("/chats/<int:chat_id>/typing", methods=["POST"])
@workspace
def chat_typing(chat_id: int) -> tuple[str, int]:
    session = _mine(chat_id)
    if session.agent_id == current_user.id:
        chat_lines.typing(session, ChatAuthor.AGENT)
    return "", 204


@bp.route("/chats/<int:chat_id>/end", methods=["POST"])
@workspace
def chat_end(chat_id: int) -> Response:
    session = _mine(chat_id)
    try:
        ticket = chat_ending.end(session, "agent", user_id=current_user.id)
    except PermissionDenied as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("agent.chats", chat_id=chat_id))
    flash(_("Chat ended. The transcript is on the ticket."), "success")
    if ticket is None:
        return redirect(url_for("agent.chats"))
    return redirect(url_for("agent.ticket", ticket_id=ticket.id))


@bp.route("/chats/<int:chat_id>/escalate", methods=["POST"])
@workspace
def chat_escalate(chat_id: int) -> Response:
    session = _mine(chat_id)
    try:
        reason = request.form.get("reason", "")
        ticket = chat_ending.end_for_escalation(session, current_user.id, reason)
    except (ValidationFailed, Conflict, PermissionDenied) as exc:
        for message in exc.fields.values() or [exc.message]:
            flash(str(message), "error")
        return redirect(url_for("agent.chats", chat_id=chat_id))
    flash(_("Chat ended. Now write the handoff for the specialists."), "success")
    return redirect(url_for("agent.escalate_form", ticket_id=ticket.id, summary=reason.strip()))
