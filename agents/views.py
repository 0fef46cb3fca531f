"""The agent workspace: one inbox across the clients an agent serves, and the ticket view with
the client's context (script, greeting, signature, local time) next to the conversation."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from core import jobs
from core.auth.access import roles_required
from core.auth.models import User
from core.auth.roles import PROVIDER_ROLES
from core.errors import Conflict, ValidationFailed
from core.extensions import db
from core.models_base import utcnow
from tenants import services as tenants
from tenants.models import Tenant
from tickets import calls, contacts, intake
from tickets import services as tickets
from tickets.models import Call, Channel, Contact, Status

bp = Blueprint("agent", __name__, url_prefix="/agent", template_folder="templates")
workspace = roles_required(*PROVIDER_ROLES)


def _int(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() else None


@bp.route("/")
@workspace
def inbox() -> str:
    view = request.args.get("view", "all")
    flt = tickets.InboxFilter(
        tenant_id=_int("tenant"),
        status=request.args.get("status") or None,
        channel=request.args.get("channel") or None,
        language=request.args.get("language") or None,
        level=_int("level"),
        assignee_id=current_user.id if view == "mine" else None,
        unassigned=view == "unassigned",
    )
    page = max(_int("page") or 1, 1)
    rows = tickets.inbox(flt, limit=51, offset=(page - 1) * 50)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "agents/inbox.html",
        page_url=lambda n: url_for("agent.inbox", page=n, **args),
        rows=rows[:50],
        more=len(rows) > 50,
        page=page,
        view=view,
        flt=flt,
        tenants=tenants.visible_tenants(),
        statuses=[s.value for s in Status],
        display_number=tickets.display_number,
    )


def _context(ticket_id: int) -> dict[str, object]:
    ticket = tickets.get_ticket(ticket_id)
    tenant = db.session.get_one(Tenant, ticket.tenant_id)
    contact = db.session.get(Contact, ticket.contact_id) if ticket.contact_id else None
    greeting, greeting_lang = tenant.text_for(tenant.greetings, ticket.language)
    signature, signature_lang = tenant.text_for(tenant.signatures, ticket.language)
    script, script_lang = tenant.text_for(tenant.call_scripts, ticket.language)
    assignee = db.session.get(User, ticket.assignee_id) if ticket.assignee_id else None
    return {
        "ticket": ticket,
        "tenant": tenant,
        "contact": contact,
        "assignee": assignee,
        "number": tickets.display_number(tenant, ticket),
        "messages": tickets.messages_of(ticket),
        "history": tickets.history_of(ticket),
        "greeting": greeting,
        "greeting_lang": greeting_lang,
        "signature": signature,
        "signature_lang": signature_lang,
        "script": script,
        "script_lang": script_lang,
        "local_time": utcnow().astimezone(ZoneInfo(tenant.timezone)),
        "sender": tenants.sender_of(tenant),
    }


@bp.route("/tickets/<int:ticket_id>")
@workspace
def ticket(ticket_id: int) -> str:
    return render_template("agents/ticket.html", **_context(ticket_id))


def _back(ticket_id: int) -> Response:
    return redirect(url_for("agent.ticket", ticket_id=ticket_id))


def _failed(ticket_id: int, exc: ValidationFailed | Conflict) -> tuple[str, int]:
    for message in exc.fields.values() or [exc.message]:
        flash(str(message), "error")
    return render_template("agents/ticket.html", **_context(ticket_id)), exc.status


@bp.route("/tickets/<int:ticket_id>/reply", methods=["POST"])
@workspace
def reply(ticket_id: int) -> Response | tuple[str, int]:
    ticket = tickets.get_ticket(ticket_id)
    then = {"resolve": Status.RESOLVED, "pending": Status.PENDING_CUSTOMER}.get(request.form.get("then", ""))
    try:
        if request.form.get("kind") == "note":
            tickets.add_note(ticket, current_user.id, request.form.get("body", ""))
            flash(_("Note added."), "success")
        else:
            tickets.reply(ticket, current_user.id, request.form.get("body", ""), then=then)
            flash(_("Reply sent in the client's name."), "success")
    except (ValidationFailed, Conflict) as exc:
        return _failed(ticket_id, exc)
    return _back(ticket_id)


@bp.route("/tickets/<int:ticket_id>/status", methods=["POST"])
@workspace
def status(ticket_id: int) -> Response | tuple[str, int]:
    ticket = tickets.get_ticket(ticket_id)
    try:
        tickets.set_status(ticket, Status(request.form.get("status", "")))
    except ValueError:
        return _failed(ticket_id, ValidationFailed(fields={"status": _("Invalid value.")}))
    except Conflict as exc:
        return _failed(ticket_id, exc)
    flash(_("Status changed."), "success")
    return _back(ticket_id)


@bp.route("/tickets/<int:ticket_id>/assign", methods=["POST"])
@workspace
def assign(ticket_id: int) -> Response:
    ticket = tickets.get_ticket(ticket_id)
    tickets.assign(ticket, None if request.form.get("to") == "nobody" else current_user.id)
    return _back(ticket_id)


@bp.route("/tickets/<int:ticket_id>/contact", methods=["POST"])
@workspace
def update_contact(ticket_id: int) -> Response | tuple[str, int]:
    ticket = tickets.get_ticket(ticket_id)
    contact = db.session.get(Contact, ticket.contact_id) if ticket.contact_id else None
    if contact is None:
        return _failed(ticket_id, ValidationFailed(_("This ticket has no contact.")))
    changes = {name: request.form.get(name, "") for name in contacts.EDITABLE if name in request.form}
    try:
        changed = contacts.update_contact(contact, changes, ticket=ticket)
    except ValidationFailed as exc:
        return _failed(ticket_id, exc)
    flash(_("Contact saved.") if changed else _("Nothing changed."), "success")
    return _back(ticket_id)


@bp.route("/tickets/<int:ticket_id>/calls", methods=["POST"])
@workspace
def log_call(ticket_id: int) -> Response | tuple[str, int]:
    ticket = tickets.get_ticket(ticket_id)
    form = request.form
    try:
        outcome = calls.Outcome(form.get("outcome", ""))
    except ValueError:
        return _failed(ticket_id, ValidationFailed(fields={"outcome": _("Invalid value.")}))
    try:
        calls.log_call(
            ticket,
            current_user.id,
            calls.CallLog(
                caller=form.get("caller", ""),
                dialled=form.get("dialled", ""),
                direction=form.get("direction", ""),
                duration_seconds=calls.parse_duration(form.get("duration", "")),
                outcome=outcome,
                notes=form.get("notes", ""),
            ),
        )
    except ValidationFailed as exc:
        return _failed(ticket_id, exc)
    flash(_("Call logged."), "success")
    return _back(ticket_id)


@bp.route("/calls")
@workspace
def calls_page() -> str:
    """The screen pop: every ringing or running call of the agent's clients."""
    pops = [calls.screen_pop(call) for call in calls.active_calls()]
    template = "agents/_calls.html" if request.args.get("partial") else "agents/calls.html"
    return render_template(template, pops=pops, display_number=tickets.display_number)


@bp.route("/calls/<int:call_id>/ticket", methods=["POST"])
@workspace
def ticket_from_call(call_id: int) -> Response:
    call = db.session.get(Call, call_id)
    if call is None:
        abort(404)
    pop = calls.screen_pop(call)
    record = intake.receive(
        call.tenant_id,
        intake.InboundContact(
            channel=Channel.PHONE,
            external_id=f"call:{call.external_id}",
            subject=request.form.get("subject", "").strip() or _("Call from %(number)s", number=call.caller),
            body=request.form.get("notes", "").strip() or _("Phone call; see the call log."),
            phone=call.caller,
            language=pop.language,
            acknowledge=False,
        ),
    )
    jobs.commit()
    if record.ticket_id is None:
        flash(_("The ticket is being created; it appears in the inbox in a moment."), "info")
        return redirect(url_for("agent.inbox"))
    call.ticket_id = record.ticket_id
    tickets.assign(tickets.get_ticket(record.ticket_id), current_user.id)
    return _back(record.ticket_id)
