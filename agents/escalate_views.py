"""The desk's side of an escalation: the handoff form, with the team the client's rules propose.

A separate page rather than a box on the ticket: the packet has six required parts, and the agent
writes it while the ticket (linked at the top) stays open in another tab if needed.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from agents.views import bp, workspace
from core.errors import Conflict, ValidationFailed
from core.extensions import db
from escalations import handoff, routing, teams
from escalations import services as escalations
from knowledge import desk
from tenants.models import Tenant
from tickets import services as tickets
from tickets.models import MessageKind, Ticket


def _first_words(ticket: Ticket) -> str:
    """What the customer wrote first: the start of "what the customer reported"."""
    for message in tickets.messages_of(ticket):
        if message.kind in (MessageKind.INBOUND.value, MessageKind.CALL_LOG.value, MessageKind.FAX.value):
            return message.body.strip()[: handoff.MAX_TEXT]
    return ""


def _defaults(ticket: Ticket) -> dict[str, Any]:
    uses = desk.uses_of(ticket)
    return {
        "summary": request.args.get("summary", ""),
        "reported": _first_words(ticket),
        "tried": "",
        "urgency": "",
        "impact": "",
        "availability": "",
        "articles": sorted({use.article_id for use, _title in uses}),
    }


def _form(
    ticket: Ticket, values: dict[str, Any], errors: dict[str, Any], status: int = 200
) -> tuple[str, int]:
    tenant = db.session.get_one(Tenant, ticket.tenant_id)
    proposed = routing.propose(ticket, str(values.get("summary", "")))
    chosen = values.get("team_id") or (proposed.id if proposed else None)
    uses = desk.uses_of(ticket)
    return (
        render_template(
            "agents/escalate.html",
            ticket=ticket,
            number=tickets.display_number(tenant, ticket),
            values=values,
            errors=errors,
            proposed=proposed,
            chosen=chosen,
            targets=routing.allowed_targets(ticket),
            consulted={use.article_id: title for use, title in uses},
            urgency=handoff.URGENCY,
            impact=handoff.IMPACT,
            labels=handoff.LABELS,
        ),
        status,
    )


@bp.route("/tickets/<int:ticket_id>/escalate")
@workspace
def escalate_form(ticket_id: int) -> tuple[str, int]:
    ticket = tickets.get_ticket(ticket_id)
    return _form(ticket, _defaults(ticket), {})


@bp.route("/tickets/<int:ticket_id>/escalate", methods=["POST"])
@workspace
def escalate(ticket_id: int) -> Response | tuple[str, int]:
    """Send the packet to the chosen team; "check" only shows which team the rules now pick."""
    ticket = tickets.get_ticket(ticket_id)
    form = request.form
    values: dict[str, Any] = {
        name: form.get(name, "") for name in (*handoff.TEXT_FIELDS, "urgency", "impact")
    }
    values["articles"] = [int(v) for v in form.getlist("articles") if v.isdigit()]
    team_id = form.get("team_id", "")
    values["team_id"] = int(team_id) if team_id.isdigit() else None
    if form.get("check"):
        return _form(ticket, {**values, "team_id": None}, {})
    try:
        escalation = escalations.escalate(
            ticket, current_user, values["team_id"], values, tell_customer=form.get("tell_customer") == "1"
        )
    except (ValidationFailed, Conflict) as exc:
        flash(str(exc.message), "error")
        return _form(ticket, values, dict(exc.fields), exc.status)
    team = teams.get_team(escalation.team_id)
    flash(_("Escalated to %(team)s. The team has it in its queue and by e-mail.", team=team.name), "success")
    return redirect(url_for("agent.ticket", ticket_id=ticket.id))
