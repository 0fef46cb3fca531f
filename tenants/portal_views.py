"""The client portal: where the client's experts receive what the desk escalated to their teams,
act on it (acknowledge, write to the desk or the customer, return, forward, resolve) and turn the
resolution into an article for the desk. The settings (teams, routing, notices) are in
`portal_settings_views`, on the same blueprint.

Every ticket is loaded through `escalations.services.for_user`: a ticket that was never escalated
to one of the user's teams is a 404, exactly like another client's ticket.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_timedelta, get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from core.auth.access import roles_required
from core.auth.models import User
from core.auth.roles import CLIENT_ROLES
from core.errors import Conflict, ServiceError, ValidationFailed
from core.extensions import db
from core.models_base import utcnow
from escalations import handoff, problems, routing, services, teams
from escalations.models import ACTIVE_ESCALATION, Escalation, EscalationStatus, Team
from escalations.notify import article_titles
from knowledge import desk
from tenants.models import Tenant
from tickets import satisfaction
from tickets import services as tickets
from tickets.models import Ticket

bp = Blueprint("portal", __name__, url_prefix="/portal", template_folder="templates")
client_staff = roles_required(*CLIENT_ROLES)
PACKET_TEXT = ("summary", "reported", "tried", "availability")


@dataclass(frozen=True)
class Clock:
    """A due time as the reader sees it: when, how long from now, and whether it has passed."""

    due: datetime
    text: str
    overdue: bool


def clock(due: datetime | None, now: datetime) -> Clock | None:
    if due is None:
        return None
    if due <= now:
        late = format_timedelta(now - due, granularity="minute", threshold=1)
        return Clock(due, _("%(time)s overdue", time=late), True)
    left = format_timedelta(due - now, granularity="minute", threshold=1)
    return Clock(due, _("%(time)s left", time=left), False)


@dataclass(frozen=True)
class Row:
    escalation: Escalation
    ticket: Ticket
    team: str
    ack: Clock | None
    resolve: Clock | None


def _row(escalation: Escalation, ticket: Ticket, names: dict[int, str], now: datetime) -> Row:
    active = escalation.status in ACTIVE_ESCALATION
    waiting = escalation.status == EscalationStatus.OPEN.value
    return Row(
        escalation,
        ticket,
        names.get(escalation.team_id, ""),
        clock(escalation.ack_due_at, now) if waiting else None,
        clock(escalation.resolve_due_at, now) if active else None,
    )


def _team_filter() -> Team | None:
    """`?team=` narrows the queue to one team; a team the user does not see is a 404."""
    raw = request.args.get("team", "")
    return teams.team_for(current_user, int(raw)) if raw.isdigit() else None


@bp.route("/")
@client_staff
def escalations() -> str:
    team = _team_filter()
    everything = services.queue(current_user)
    rows = everything if team is None else services.queue(current_user, team_id=team.id)
    closed = services.queue(current_user, team_id=team.id if team else None, closed=True, limit=20)
    visible = teams.visible_teams(current_user)
    names = {item.id: item.name for item in visible}
    now = utcnow()
    return render_template(
        "tenants/portal/escalations.html",
        rows=[_row(escalation, ticket, names, now) for escalation, ticket in rows],
        closed=[_row(escalation, ticket, names, now) for escalation, ticket in closed],
        teams=visible,
        counts=Counter(escalation.team_id for escalation, _ticket in everything),
        selected=team,
        tenant=db.session.get(Tenant, current_user.tenant_id),
    )


# --- the ticket page ---------------------------------------------------------------------------


def _load(ticket_id: int) -> tuple[Ticket, Escalation]:
    return services.ticket_for(current_user, ticket_id)


def _names(ids: set[int | None]) -> dict[int, str]:
    wanted = {item for item in ids if item is not None}
    if not wanted:
        return {}
    rows = db.session.execute(select(User.id, User.name).where(User.id.in_(wanted)))
    return {user_id: name for user_id, name in rows}


def _packet_fields(packet: dict[str, Any], titles: dict[int, str]) -> list[tuple[str, str, list[str]]]:
    """(name, label, lines) in the packet's reading order; the choices as their labels."""
    return [
        ("summary", str(handoff.LABELS["summary"]), [packet.get("summary", "")]),
        ("reported", str(handoff.LABELS["reported"]), [packet.get("reported", "")]),
        ("tried", str(handoff.LABELS["tried"]), [packet.get("tried", "")]),
        (
            "articles",
            str(handoff.LABELS["articles"]),
            [titles.get(item, f"#{item}") for item in packet.get("articles") or []],
        ),
        (
            "urgency",
            str(handoff.LABELS["urgency"]),
            [str(handoff.URGENCY.get(packet.get("urgency", ""), ""))],
        ),
        ("impact", str(handoff.LABELS["impact"]), [str(handoff.IMPACT.get(packet.get("impact", ""), ""))]),
        ("availability", str(handoff.LABELS["availability"]), [packet.get("availability", "")]),
    ]


def _page(
    ticket: Ticket,
    escalation: Escalation,
    *,
    failed: str = "",
    errors: dict[str, object] | None = None,
) -> str:
    tenant = db.session.get_one(Tenant, ticket.tenant_id)
    team = teams.get_team(escalation.team_id)
    chain = services.history_of(ticket)
    team_names = {item.id: item.name for item in teams.teams_of(ticket.tenant_id)}
    messages = tickets.messages_of(ticket)
    users = _names(
        {e.acknowledged_by_id for e in chain}
        | {e.closed_by_id for e in chain}
        | {m.author_user_id for m in messages}
    )
    packet = escalation.packet or {}
    titles = article_titles(tenant.id, list(packet.get("articles") or []), str(get_locale()))
    can_act = escalation.status in ACTIVE_ESCALATION and teams.may_act(current_user, team)
    now = utcnow()
    parent = db.session.get(Ticket, ticket.parent_id) if ticket.parent_id else None
    return render_template(
        "tenants/portal/ticket.html",
        ticket=ticket,
        tenant=tenant,
        number=tickets.display_number(tenant, ticket),
        escalation=escalation,
        team=team,
        packet_fields=_packet_fields(packet, titles),
        packet=packet,
        titles=titles,
        chain=chain,
        team_names=team_names,
        users=users,
        clocks={
            "ack": clock(escalation.ack_due_at, now)
            if escalation.status == EscalationStatus.OPEN.value
            else None,
            "resolve": clock(escalation.resolve_due_at, now) if can_act else None,
        },
        messages=messages,
        events=tickets.history_of(ticket),
        survey=satisfaction.survey_of(ticket),
        can_act=can_act,
        targets=routing.allowed_targets(ticket, exclude=team.id) if can_act else [],
        urgency=handoff.URGENCY,
        impact=handoff.IMPACT,
        parent=parent,
        children=tickets.children_of(ticket),
        form=request.form if failed else {},
        chosen_articles=(
            {int(item) for item in request.form.getlist("articles") if item.isdigit()}
            if failed == "forward"
            else set(packet.get("articles") or [])
        ),
        failed=failed,
        errors=errors or {},
    )


@bp.route("/tickets/<int:ticket_id>")
@client_staff
def ticket(ticket_id: int) -> str:
    return _page(*_load(ticket_id))


def _failed(ticket_id: int, action: str, exc: ServiceError) -> tuple[str, int]:
    """Nothing of the failed action is kept; the page comes back with what was typed."""
    for message in exc.fields.values() or [exc.message]:
        flash(str(message), "error")
    db.session.rollback()
    return _page(*_load(ticket_id), failed=action, errors=exc.fields), exc.status


def _renamed(exc: ServiceError, **renames: str) -> ServiceError:
    """The services name their fields; this page names them after its forms."""
    exc.fields = {renames.get(name, name): message for name, message in exc.fields.items()}
    return exc


def _still_open(escalation: Escalation) -> None:
    if escalation.status not in ACTIVE_ESCALATION:
        raise Conflict(_("This escalation is closed; nothing more can be done on it here."))


def _back(ticket_id: int) -> Response:
    return redirect(url_for("portal.ticket", ticket_id=ticket_id))


@bp.route("/tickets/<int:ticket_id>/acknowledge", methods=["POST"])
@client_staff
def acknowledge(ticket_id: int) -> Response | tuple[str, int]:
    _ticket, escalation = _load(ticket_id)
    try:
        services.acknowledge(escalation, current_user)
    except Conflict as exc:
        return _failed(ticket_id, "acknowledge", exc)
    flash(_("Acknowledged: the desk sees that your team is on it."), "success")
    return _back(ticket_id)


@bp.route("/tickets/<int:ticket_id>/note", methods=["POST"])
@client_staff
def note(ticket_id: int) -> Response | tuple[str, int]:
    _ticket, escalation = _load(ticket_id)
    try:
        services.note_to_desk(escalation, current_user, request.form.get("note", ""))
    except (ValidationFailed, Conflict) as exc:
        return _failed(ticket_id, "note", _renamed(exc, body="note"))
    flash(_("Your note is on the ticket, and the desk has been told."), "success")
    return _back(ticket_id)


@bp.route("/tickets/<int:ticket_id>/answer", methods=["POST"])
@client_staff
def answer(ticket_id: int) -> Response | tuple[str, int]:
    _ticket, escalation = _load(ticket_id)
    try:
        message = services.answer_customer(escalation, current_user, request.form.get("message", ""))
    except (ValidationFailed, Conflict) as exc:
        return _failed(ticket_id, "answer", _renamed(exc, body="message"))
    if message.data.get("to"):
        flash(_("Your answer was sent to the customer in the client's name."), "success")
    else:
        flash(
            _("Your answer is on the ticket. The customer has no e-mail address, so nothing was sent."),
            "info",
        )
    return _back(ticket_id)


@bp.route("/tickets/<int:ticket_id>/resolve", methods=["POST"])
@client_staff
def resolve(ticket_id: int) -> Response | tuple[str, int]:
    ticket, escalation = _load(ticket_id)
    text = request.form.get("answer", "")
    article = None
    try:
        services.resolve(
            escalation, current_user, text, tell_customer=request.form.get("tell_customer") == "1"
        )
        if request.form.get("to_article") == "1":
            article = desk.draft_from_ticket(ticket, current_user, text)
    except (ValidationFailed, Conflict) as exc:
        return _failed(ticket_id, "resolve", exc)
    if article is not None:
        flash(
            _("Resolved. Here is the draft article from your answer: check it, translate it, publish it."),
            "success",
        )
        return redirect(url_for("kb.article", article_id=article.id))
    flash(_("Resolved."), "success")
    return redirect(url_for("portal.escalations"))


@bp.route("/tickets/<int:ticket_id>/return", methods=["POST"])
@client_staff
def return_to_desk(ticket_id: int) -> Response | tuple[str, int]:
    _ticket, escalation = _load(ticket_id)
    try:
        services.return_to_desk(escalation, current_user, request.form.get("instructions", ""))
    except (ValidationFailed, Conflict) as exc:
        return _failed(ticket_id, "return", exc)
    flash(_("Returned to the first level with your instructions."), "success")
    return redirect(url_for("portal.escalations"))


@bp.route("/tickets/<int:ticket_id>/forward", methods=["POST"])
@client_staff
def forward(ticket_id: int) -> Response | tuple[str, int]:
    _ticket, escalation = _load(ticket_id)
    form = request.form
    raw: dict[str, Any] = {name: form.get(name, "") for name in (*PACKET_TEXT, "urgency", "impact")}
    raw["articles"] = form.getlist("articles")
    team_id = form.get("team_id", "")
    try:
        new = services.forward(escalation, current_user, int(team_id) if team_id.isdigit() else None, raw)
    except (ValidationFailed, Conflict) as exc:
        return _failed(ticket_id, "forward", exc)
    flash(_("Escalated further to %(team)s.", team=teams.get_team(new.team_id).name), "success")
    return _back(ticket_id)


# --- problem tickets ---------------------------------------------------------------------------


@bp.route("/tickets/<int:ticket_id>/link", methods=["POST"])
@client_staff
def link(ticket_id: int) -> Response | tuple[str, int]:
    """Mark the ticket as a problem (tag `problem`) and link the related tickets of the same client
    to it as its children, so that the desk and the resolution see them as one."""
    ticket, escalation = _load(ticket_id)
    try:
        _still_open(escalation)
        children = problems.link(ticket, request.form.get("numbers", ""))
    except (ValidationFailed, Conflict) as exc:
        return _failed(ticket_id, "link", _renamed(exc, parent="numbers"))
    flash(
        ngettext(
            "%(num)d ticket linked to this problem.", "%(num)d tickets linked to this problem.", len(children)
        ),
        "success",
    )
    return _back(ticket_id)


@bp.route("/tickets/<int:ticket_id>/unlink", methods=["POST"])
@client_staff
def unlink(ticket_id: int) -> Response | tuple[str, int]:
    ticket, escalation = _load(ticket_id)
    raw = request.form.get("child", "")
    try:
        _still_open(escalation)
    except Conflict as exc:
        return _failed(ticket_id, "link", exc)
    child = next((item for item in tickets.children_of(ticket) if str(item.id) == raw), None)
    if child is not None:
        tickets.link_parent(child, None)
        flash(_("The ticket is no longer linked to this problem."), "success")
    return _back(ticket_id)
