"""The visitor's side of live chat: the widget's loader and its small JSON + SSE API.

Everything hangs under `/chat/<key>/` (the tenant's public widget key). A chat is then named by
its session token, the visitor's only credential, and it is looked up inside the tenant the key
names, so a token of one client under another client's key is simply not found. The widget runs
on the client's own website: these endpoints answer cross-origin requests (no cookies are
involved, so `*` gives nothing away) and are exempt from CSRF for the same reason.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    make_response,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from channels import (
    chat_broker,
    chat_ending,
    chat_feed,
    chat_lines,
    chat_queue,
    chat_sessions,
    chat_start,
    chat_transcript,
)
from channels.chat_models import ChatAuthor, ChatSession
from channels.chat_stream import resume_from, sse, stream
from core import admission
from core.api import error_response
from core.boundary import HTTP_CODES, enter_tenant
from core.errors import ServiceError, ValidationFailed
from core.extensions import db, limiter
from core.i18n import language_name
from core.models_base import utcnow
from tenants import services as tenants
from tenants.models import Tenant

bp = Blueprint("chat", __name__, url_prefix="/chat/<key>")
visitor_limit = limiter.limit(lambda: current_app.config["RATELIMIT_CHAT"], methods=["POST"])


@bp.url_value_preprocessor
def _pop_key(endpoint: str | None, values: dict[str, Any] | None) -> None:
    g.chat_key = (values or {}).pop("key", "")


@bp.before_request
def _enter() -> None:
    """The key names the tenant; everything after runs in that tenant's scope only. (A before-
    request hook of the blueprint: it runs after the boundary has reset the scope.)"""
    tenant = chat_sessions.tenant_for_key(g.chat_key)
    enter_tenant(tenant.id)
    g.chat_tenant_id = tenant.id
    g.tenant_locale = _language(tenant)
    g.tenant_timezone = tenant.timezone
    g.embeddable = True


def _tenant() -> Tenant:
    """The whole client, for the views that show or start a chat; a line needs none of it."""
    return db.session.get_one(Tenant, g.chat_tenant_id)


@bp.url_defaults
def _key(endpoint: str, values: dict[str, Any]) -> None:
    if "key" not in values and g.get("chat_key"):
        values["key"] = g.chat_key


def _language(tenant: tenants.ChannelTenant) -> str:
    """The widget's language: what the visitor chose (or the host page says), if the client has it."""
    wanted = request.args.get("lang") or (request.get_json(silent=True) or {}).get("language") or ""
    wanted = str(wanted)[:2].lower()
    return wanted if wanted in tenant.languages else tenant.default_language


@bp.after_request
def _cors(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type, Last-Event-ID"
    response.headers["Access-Control-Max-Age"] = "600"
    return response


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError) -> tuple[Response, int]:
    return error_response(exc.status, exc.code, exc.message, exc.fields), exc.status


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[Response, int]:
    status = exc.code or 500
    return error_response(status, HTTP_CODES.get(status, "error"), exc.description or ""), status


def _body() -> dict[str, Any]:
    """The JSON body, allow-listed field by field by each view; too big is a clear 413."""
    if (request.content_length or 0) > 4 * int(current_app.config["CHAT_MAX_CHARS"]) + 4096:
        raise chat_lines.MessageTooLong(_("The request body is too large."))
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed(_("Send a JSON object."))
    return data


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    return value if isinstance(value, str) else ""


def _session(token: str) -> ChatSession:
    return chat_sessions.for_visitor(token)


# --- the widget --------------------------------------------------------------------------------


def _texts(language: str) -> dict[str, str]:
    """Every string the widget shows, in one language."""
    with force_locale(language):
        return {
            "open": _("Chat with us"),
            "title": _("Live chat"),
            "close": _("Close"),
            "intro": _("Ask us anything. An agent answers in a few moments."),
            "name": _("Your name"),
            "email": _("E-mail"),
            "email_optional": _("E-mail (optional)"),
            "language": _("Language"),
            "topic": _("What is it about?"),
            "transcript": _("E-mail me a transcript of the chat"),
            "start": _("Start chat"),
            "offline": _("No one is available to chat right now. Please leave us a message."),
            "message": _("Your message"),
            "leave": _("Send message"),
            "left": _("Thank you! We have received your message and will answer by e-mail."),
            "placeholder": _("Write a message…"),
            "send": _("Send"),
            "typing": _("The agent is typing…"),
            "end": _("End chat"),
            "ended": _("The chat has ended."),
            "send_transcript": _("E-mail me the transcript"),
            "transcript_sent": _("The transcript is on its way to your inbox."),
            "unavailable": _("Chat is not available at the moment."),
            "error": _("Something went wrong. Please try again."),
            "you": _("You"),
        }


@bp.route("/widget.js")
def loader() -> Response:
    """`<script src="https://desk.example/chat/<key>/widget.js" async></script>` on the client's site:
    this small per-tenant loader carries the key, the languages and the texts, then loads the
    widget itself (plain JavaScript, from this server only)."""
    tenant = _tenant()
    config = {
        "base": url_for("chat.loader", _external=True).rsplit("/", 1)[0],
        "languages": [{"code": code, "name": language_name(code)} for code in tenant.languages],
        "default": tenant.default_language,
        "brand": tenant.brand_color,
        "name": tenant.name,
        # A suspended client keeps its chat: no customer contact is turned away.
        "available": True,
        "texts": {code: _texts(code) for code in tenant.languages},
    }
    script = url_for("static", filename="chat-widget.js", _external=True)
    response = make_response(render_template("channels/chat_loader.js", config=config, script=script))
    response.mimetype = "text/javascript"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/config")
def config() -> Response:
    """Which languages have an agent online now."""
    tenant = _tenant()
    online = chat_queue.online_languages(tenant)
    return jsonify(
        {"languages": [{"code": c, "name": language_name(c), "online": online[c]} for c in tenant.languages]}
    )


def _start_data(data: dict[str, Any]) -> chat_start.StartChat:
    return chat_start.StartChat(
        name=_text(data, "name"),
        email=_text(data, "email") or None,
        language=_text(data, "language"),
        topic=_text(data, "topic"),
        transcript=data.get("transcript") is True,
        message=_text(data, "message"),
    )


@bp.route("/start", methods=["POST"])
@visitor_limit
def start() -> tuple[Response, int]:
    session = chat_start.start(_tenant(), _start_data(_body()))
    return jsonify({"token": session.token, "session": chat_sessions.session_json(session)}), 201


@bp.route("/offline", methods=["POST"])
@visitor_limit
def leave_message() -> tuple[Response, int]:
    session = chat_start.leave_message(_tenant(), _start_data(_body()))
    return jsonify({"session": chat_sessions.session_json(session)}), 201


@bp.route("/s/<token>")
def state(token: str) -> Response:
    session = _session(token)
    return jsonify({"session": chat_sessions.session_json(session), "email": bool(session.visitor_email)})


@bp.route("/s/<token>/messages", methods=["POST"])
@visitor_limit
def post(token: str) -> tuple[Response, int]:
    now = utcnow()
    session = chat_sessions.claim_for_visitor(token, now)  # found and locked in one statement
    message = chat_lines.post(session, ChatAuthor.VISITOR, _text(_body(), "body"), now=now, claimed=True)
    return jsonify(chat_feed.as_json(message, session)), 201


@bp.route("/s/<token>/typing", methods=["POST"])
def typing(token: str) -> tuple[str, int]:
    chat_lines.typing(_session(token), ChatAuthor.VISITOR)
    return "", 204


@bp.route("/s/<token>/end", methods=["POST"])
def end(token: str) -> Response:
    session = _session(token)
    chat_ending.end(session, "visitor")
    return jsonify({"session": chat_sessions.session_json(session)})


@bp.route("/s/<token>/transcript", methods=["POST"])
def transcript(token: str) -> Response:
    session = _session(token)
    chat_transcript.request_transcript(session)
    return jsonify({"requested": True, "sent": session.transcript_sent_at is not None})


@bp.route("/s/<token>/events")
@admission.streaming
def events(token: str) -> Response:
    """The visitor's stream: the chat's messages (id = message id) and the agent's typing."""
    session = _session(token)
    session_id, after, was_open = session.id, resume_from(), session.is_open
    if not was_open and not chat_feed.messages_after([session_id], after, limit=1):
        # Over and nothing missed: 204 tells EventSource to stop reconnecting.
        return Response(status=204)
    names: chat_feed.Names = {("session", session_id): session.visitor_name}

    def step(cursor: int, notes: list[dict[str, Any]]) -> tuple[list[str], int, bool]:
        # One query per wake-up (and one for an agent's name, once): the chat's end is its
        # "ended" line (`chat_ending.end` always adds it), so the session row is not read again; a
        # chat already over when the stream opened ends it after what was missed.
        chunks = []
        done = not was_open
        messages = chat_feed.messages_after([session_id], cursor)
        for message, data in zip(messages, chat_feed.as_json_many(messages, names), strict=True):
            chunks.append(sse("message", data, message.id))
            cursor = message.id
            done = done or message.event == "ended"
        for note in notes:
            if note.get("type") == "typing" and note.get("who") == ChatAuthor.AGENT.value:
                chunks.append(sse("typing", {"session_id": session_id, "who": "agent"}))
        return chunks, cursor, done

    def quick(cursor: int, notes: list[dict[str, Any]]) -> tuple[list[str], int, bool, list[dict[str, Any]]]:
        """The lines the notifications carry, while each follows on the last one sent."""
        chunks = []
        for index, note in enumerate(notes):
            kind = note.get("type")
            if kind == "typing":
                if note.get("who") == ChatAuthor.AGENT.value:
                    chunks.append(sse("typing", {"session_id": session_id, "who": "agent"}))
                continue
            follows = chat_feed.follows(note, cursor) if kind == "message" else None
            if follows is None:
                return chunks, cursor, False, notes[index:]
            if follows:
                chunks.append(sse("message", note["line"], note["id"]))
                cursor = note["id"]
                if note["line"].get("event") == "ended":
                    return chunks, cursor, True, []
        return chunks, cursor, False, []

    return stream([chat_broker.session_channel(session_id)], step, after, quick)
