"""The agent workspace: one inbox across the clients an agent serves, and the ticket view with
the client's context (script, greeting, signature, local time) next to the conversation."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from agents import bulk, routing
from agents.models import AgentLanguage, Presence
from core import jobs
from core.auth.access import roles_required
from core.auth.models import User
from core.auth.roles import PROVIDER_ROLES
from core.errors import Conflict, NotFound, ValidationFailed
from core.extensions import db
from core.models_base import utcnow
from escalations import services as escalations
from escalations import teams
from knowledge import desk
from knowledge import services as articles
from knowledge.models import UseKind
from tenants import services as tenants
from tenants.models import Tenant
from tickets import attachments, calls, contacts, intake, macros, organizations, satisfaction, sla, timetrack
from tickets import services as tickets
from tickets.models import Call, Category, Channel, Contact, Organization, Priority, Status, Ticket

bp = Blueprint("agent", __name__, url_prefix="/agent", template_folder="templates")
workspace = roles_required(*PROVIDER_ROLES)


VIEWS = ("all", "mine", "offered", "unassigned", "overdue")


def _int(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() else None


def _my_languages() -> tuple[str, ...]:
    return tuple(
        db.session.scalars(select(AgentLanguage.language).where(AgentLanguage.user_id == current_user.id))
    )


@bp.route("/")
@workspace
def inbox() -> str:
    view = request.args.get("view", "all")
    view = view if view in VIEWS else "all"
    flt = tickets.InboxFilter(
        tenant_id=_int("tenant"),
        status=request.args.get("status") or None,
        channel=request.args.get("channel") or None,
        language=request.args.get("language") or None,
        level=_int("level"),
        assignee_id=current_user.id if view == "mine" else None,
        unassigned=view in ("unassigned", "offered"),
        languages=_my_languages() if view == "offered" else None,
        tag=(request.args.get("tag") or "").strip().lower() or None,
        overdue_before=utcnow() if view == "overdue" else None,
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
        presence=routing.presence_of(current_user.id),
        presences=[p.value for p in Presence],
        now=utcnow(),
        is_overdue=sla.is_overdue,
        bulk_actions=[a.value for a in bulk.BulkAction],
        back=request.full_path,
    )


def _local(target: str | None, fallback: str) -> str:
    """Only a path on this site is a place to return to (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback


@bp.route("/presence", methods=["POST"])
@workspace
def presence() -> Response:
    try:
        status = Presence(request.form.get("status", ""))
    except ValueError:
        abort(400)
    routing.set_presence(current_user, status)
    return redirect(_local(request.form.get("next"), url_for("agent.inbox")))


@bp.route("/next", methods=["POST"])
@workspace
def take_next() -> Response:
    ticket = routing.take_next(current_user)
    if ticket is None:
        flash(_("No unassigned ticket in your clients and languages right now."), "info")
        return redirect(url_for("agent.inbox"))
    return _back(ticket.id)


@bp.route("/bulk", methods=["POST"])
@workspace
def bulk_action() -> Response:
    back = _local(request.form.get("next"), url_for("agent.inbox"))
    ids = [int(i) for i in request.form.getlist("ticket") if i.isdigit()]
    try:
        action = bulk.BulkAction(request.form.get("action", ""))
        value = request.form.get(f"value_{action.value}", "")
        if action is bulk.BulkAction.ASSIGN and value == "me":
            value = str(current_user.id)
        result = bulk.apply(ids, action, value)
    except ValueError:
        flash(_("Choose an action."), "error")
        return redirect(back)
    except (ValidationFailed, Conflict) as exc:
        for message in exc.fields.values() or [exc.message]:
            flash(str(message), "error")
        return redirect(back)
    if result.done:
        flash(ngettext("%(num)d ticket changed.", "%(num)d tickets changed.", len(result.done)), "success")
    for ticket_id, message in result.failed.items():
        flash(_("Ticket %(id)d: %(message)s", id=ticket_id, message=message), "error")
    if result.merged_into is not None:
        return _back(result.merged_into)
    return redirect(back)


def client_panel(tenant: Tenant, language: str) -> dict[str, object]:
    """What `agents/_client_panel.html` shows: the client's texts in the customer's language
    (or its default language, marked as a fallback) and the client's local time."""
    greeting, greeting_lang = tenant.text_for(tenant.greetings, language)
    signature, signature_lang = tenant.text_for(tenant.signatures, language)
    script, script_lang = tenant.text_for(tenant.call_scripts, language)
    return {
        "tenant": tenant,
        "panel_language": language,
        "greeting": greeting,
        "greeting_lang": greeting_lang,
        "signature": signature,
        "signature_lang": signature_lang,
        "script": script,
        "script_lang": script_lang,
        "local_time": utcnow().astimezone(ZoneInfo(tenant.timezone)),
    }


def _context(ticket_id: int) -> dict[str, object]:
    ticket = tickets.get_ticket(ticket_id)
    tenant = db.session.get_one(Tenant, ticket.tenant_id)
    contact = db.session.get(Contact, ticket.contact_id) if ticket.contact_id else None
    assignee = db.session.get(User, ticket.assignee_id) if ticket.assignee_id else None
    parent = db.session.get(Ticket, ticket.parent_id) if ticket.parent_id else None
    merged_into = db.session.get(Ticket, ticket.merged_into_id) if ticket.merged_into_id else None
    values = macros.values_for(ticket, current_user.name)
    return {
        **client_panel(tenant, ticket.language),
        "ticket": ticket,
        "contact": contact,
        "assignee": assignee,
        "number": tickets.display_number(tenant, ticket),
        "messages": tickets.messages_of(ticket),
        "files": attachments.by_message(ticket),
        "history": tickets.history_of(ticket),
        "sender": tenants.sender_display(tenant),
        "parent": parent,
        "merged_into": merged_into,
        "children": tickets.children_of(ticket),
        "macros": [(m, macros.render(m, values)) for m in macros.for_ticket(ticket)],
        "timer": timetrack.running_timer(ticket, current_user.id),
        "time_entries": timetrack.entries_of(ticket),
        "organization": db.session.get(Organization, contact.organization_id)
        if contact and contact.organization_id
        else None,
        "organizations": organizations.listing(ticket.tenant_id, limit=500),
        "priorities": [p.value for p in Priority],
        "categories": [c.value for c in Category],
        "overdue": sla.is_overdue(ticket, utcnow()),
        "survey": satisfaction.survey_of(ticket),
        **_escalation(ticket),
        **_knowledge(ticket),
    }


def _escalation(ticket: Ticket) -> dict[str, object]:
    escalation = escalations.active_of(ticket)
    team = teams.get_team(escalation.team_id) if escalation else None
    return {"escalation": escalation, "escalation_team": team}


def _knowledge(ticket: Ticket) -> dict[str, object]:
    """The client's articles that match the ticket (or the agent's own search), each with its
    answer ready to insert, and the articles already used on it."""
    query = request.args.get("kbq", "").strip()[:200] or None
    found = desk.suggestions(ticket, text=query)
    return {
        "kb_query": query or "",
        "kb_suggestions": [(s, desk.answer(ticket, s.article, current_user.name)[0]) for s in found],
        "kb_uses": desk.uses_of(ticket),
    }


@bp.route("/tickets/<int:ticket_id>")
@workspace
def ticket(ticket_id: int) -> str:
    return render_template("agents/ticket.html", **_context(ticket_id))


@bp.route("/attachments/<int:attachment_id>")
@workspace
def attachment(attachment_id: int) -> Response:
    """A ticket's file, only through its row (the scope decides); never rendered as a page."""
    item = attachments.get(attachment_id)
    return attachments.download(attachments.path_of(item), item.content_type, item.filename)


def _back(ticket_id: int) -> Response:
    return redirect(url_for("agent.ticket", ticket_id=ticket_id))


def _failed(ticket_id: int, exc: ValidationFailed | Conflict | NotFound) -> tuple[str, int]:
    for message in exc.fields.values() or [exc.message]:
        flash(str(message), "error")
    return render_template("agents/ticket.html", **_context(ticket_id)), exc.status


@bp.route("/tickets/<int:ticket_id>/reply", methods=["POST"])
@workspace
def reply(ticket_id: int) -> Response | tuple[str, int]:
    ticket = tickets.get_ticket(ticket_id)
    then = {"resolve": Status.RESOLVED, "pending": Status.PENDING_CUSTOMER}.get(request.form.get("then", ""))
    macro_id = request.form.get("macro", "")
    try:
        if request.form.get("kind") == "note":
            tickets.add_note(ticket, current_user.id, request.form.get("body", ""))
            flash(_("Note added."), "success")
        else:
            if macro_id.isdigit():
                then = macros.follow_up(ticket, macros.get(int(macro_id))) or then
            article_id = request.form.get("article", "")
            if article_id.isdigit():
                desk.record_use(ticket, articles.get(int(article_id)), UseKind.INSERTED, current_user.id)
            message = tickets.reply(ticket, current_user.id, request.form.get("body", ""), then=then)
            if message.data.get("to"):
                flash(_("Reply sent in the client's name."), "success")
            else:
                flash(_("Reply recorded. The customer has no e-mail address, so nothing was sent."), "info")
    except (ValidationFailed, Conflict, NotFound) as exc:
        return _failed(ticket_id, exc)
    return _back(ticket_id)


@bp.route("/tickets/<int:ticket_id>/fields", methods=["POST"])
@workspace
def fields(ticket_id: int) -> Response | tuple[str, int]:
    ticket = tickets.get_ticket(ticket_id)
    form = request.form
    try:
        tickets.set_priority(ticket, Priority(form.get("priority", ticket.priority)))
        tickets.set_category(ticket, Category(form.get("category", ticket.category)))
    except ValueError:
        return _failed(ticket_id, ValidationFailed(fields={"priority": _("Invalid value.")}))
    try:
        if "tags" in form:
            tickets.set_tags(ticket, tickets.clean_tags(form.get("tags", "")))
        if "parent" in form:
            tickets.link_parent(ticket, _parent(ticket, form.get("parent", "")))
    except (ValidationFailed, NotFound) as exc:
        return _failed(ticket_id, exc)
    flash(_("Ticket saved."), "success")
    return _back(ticket_id)


def _parent(ticket: Ticket, raw: str) -> Ticket | None:
    """`ALPINA-1042` or `1042`: a ticket number of the same client; empty clears the link."""
    raw = raw.strip().upper().rsplit("-", 1)[-1]
    if not raw:
        return None
    parent = tickets.find_by_number(ticket.tenant_id, int(raw)) if raw.isdigit() else None
    if parent is None:
        raise ValidationFailed(fields={"parent": _("No ticket of this client has that number.")})
    return parent


@bp.route("/tickets/<int:ticket_id>/time", methods=["POST"])
@workspace
def add_time(ticket_id: int) -> Response | tuple[str, int]:
    ticket = tickets.get_ticket(ticket_id)
    try:
        seconds = calls.parse_duration(request.form.get("duration", ""))
        timetrack.add(ticket, current_user.id, seconds, note=request.form.get("note", ""))
    except ValidationFailed as exc:
        return _failed(ticket_id, exc)
    flash(_("Time booked."), "success")
    return _back(ticket_id)


@bp.route("/tickets/<int:ticket_id>/timer", methods=["POST"])
@workspace
def timer(ticket_id: int) -> Response | tuple[str, int]:
    ticket = tickets.get_ticket(ticket_id)
    try:
        if request.form.get("action") == "stop":
            entry = timetrack.stop_timer(ticket, current_user.id, note=request.form.get("note", ""))
            flash(
                _("Timer stopped: %(minutes)d min booked.", minutes=max(1, round((entry.seconds or 0) / 60))),
                "success",
            )
        else:
            timetrack.start_timer(ticket, current_user.id)
    except Conflict as exc:
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
        if "organization" in request.form:
            org = organizations.chosen(
                ticket.tenant_id,
                request.form.get("organization", ""),
                request.form.get("organization_name", ""),
            )
            changed = organizations.set_organization(contact, org, ticket=ticket) or changed
    except (ValidationFailed, NotFound) as exc:
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
