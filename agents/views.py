"""The agent workspace: one inbox across the clients an agent serves, and the ticket view with
the client's context (script, greeting, signature, local time) next to the conversation."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from core.auth.access import roles_required
from core.auth.models import User
from core.auth.roles import PROVIDER_ROLES
from core.errors import Conflict, ValidationFailed
from core.extensions import db
from core.models_base import utcnow
from tenants import services as tenants
from tenants.models import Tenant
from tickets import contacts
from tickets import services as tickets
from tickets.models import Contact, Status

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
        "support_address": tenants.support_address(tenant.id),
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
    if not exc.fields:
        flash(str(exc.message), "error")
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


def minutes_ago(moment: datetime) -> int:
    return max(int((utcnow() - moment).total_seconds() // 60), 0)
