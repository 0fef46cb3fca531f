"""The client portal's team pages: the on-call rota, the webhook delivery log, and the one-click
acknowledge link of a page.

Client admins see every team of their company, experts the teams they are members of; any other
team id is a 404, whoever's it is (`teams.team_for`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from core.auth.access import roles_required
from core.auth.roles import CLIENT_ROLES, Role
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.models_base import utcnow
from escalations import oncall, rota, teams, webhooks
from escalations import services as escalations
from escalations.models import DeliveryStatus, Team

bp = Blueprint("team_portal", __name__, url_prefix="/portal/teams", template_folder="templates")
# The provider admin sets teams up for a client (rota, webhook test) with the client's own pages.
client_staff = roles_required(*CLIENT_ROLES, Role.PROVIDER_ADMIN)

DELIVERY_LABELS = {
    DeliveryStatus.PENDING.value: _l("Waiting"),
    DeliveryStatus.DELIVERED.value: _l("Delivered"),
    DeliveryStatus.FAILED.value: _l("Failed, will retry"),
    DeliveryStatus.DEAD.value: _l("Gave up"),
}
POSITIONS = 3  # offered in the form: first, first backup, second backup


def position_label(position: int) -> str:
    if position == 0:
        return _("Paged first")
    return _("Backup %(n)d", n=position)


@bp.app_template_global()
def delivery_status_label(status: str) -> str:
    return str(DELIVERY_LABELS.get(status, status))


@bp.route("/")
@client_staff
def index() -> str:
    now = utcnow()
    visible = teams.visible_teams(current_user)
    return render_template(
        "escalations/teams.html", rows=[(team, rota.on_call(team, now)) for team in visible]
    )


# --- the rota ---------------------------------------------------------------------------------


@bp.route("/<int:team_id>/rota")
@client_staff
def rota_page(team_id: int) -> str:
    return _rota(teams.team_for(current_user, team_id))


def _rota(
    team: Team, *, slot_errors: dict[str, Any] | None = None, override_errors: dict[str, Any] | None = None
) -> str:
    now = utcnow()
    slots = rota.slots_of(team)
    overrides = rota.overrides_of(team, now)
    zone = ZoneInfo(team.timezone)
    return render_template(
        "escalations/rota.html",
        tab="rota",
        team=team,
        now_on_call=rota.on_call(team, now),
        local_now=format_datetime(now, "short", tzinfo=zone, locale=get_locale()),
        days=[
            (get_locale().days["format"]["wide"][d], [s for s in slots if s.weekday == d]) for d in range(7)
        ],
        overrides=overrides,
        members=teams.members_of(team),
        users=rota.users_by_id({item.user_id for item in [*slots, *overrides]}),
        positions=[(p, position_label(p)) for p in range(POSITIONS)],
        position_label=position_label,
        times_label=rota.times_label,
        slot_label=rota.slot_label,
        in_team_zone=lambda value: format_datetime(value, "short", tzinfo=zone, locale=get_locale()),
        slot_errors=slot_errors or {},
        override_errors=override_errors or {},
        form=request.form if request.method == "POST" else {},
    )


def _int(name: str) -> int | None:
    raw = request.form.get(name, "").strip()
    return int(raw) if raw.lstrip("-").isdigit() else None


@bp.route("/<int:team_id>/rota/slots", methods=["POST"])
@client_staff
def add_slot(team_id: int) -> Response | tuple[str, int]:
    team = teams.team_for(current_user, team_id)
    errors: dict[str, Any] = {}
    weekday, position = _int("weekday"), _int("position")
    start = end = 0
    try:
        start = rota.parse_clock(request.form.get("start", ""))
    except ValueError:
        errors["start"] = _("Enter a time like 18:00.")
    try:
        end = rota.parse_clock(request.form.get("end", ""), end=True)
    except ValueError:
        errors["end"] = _("Enter a time like 08:00 (24:00 for midnight).")
    if weekday is None:
        errors["weekday"] = _("Choose a day of the week.")
    if not errors:
        try:
            rota.add_slot(
                team,
                user_id=_int("user_id"),
                weekday=weekday or 0,
                start_minute=start,
                end_minute=end,
                position=position or 0,
            )
        except ValidationFailed as exc:
            errors = exc.fields
    if errors:
        return _rota(team, slot_errors=errors), 422
    flash(_("Slot added."), "success")
    return redirect(url_for("team_portal.rota_page", team_id=team.id))


@bp.route("/<int:team_id>/rota/slots/<int:slot_id>/delete", methods=["POST"])
@client_staff
def delete_slot(team_id: int, slot_id: int) -> Response:
    team = teams.team_for(current_user, team_id)
    rota.remove_slot(rota.get_slot(team, slot_id))
    flash(_("Slot removed."), "success")
    return redirect(url_for("team_portal.rota_page", team_id=team.id))


def _local(name: str, errors: dict[str, Any]) -> datetime | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=None, second=0, microsecond=0)
    except ValueError:
        errors[name] = _("Enter a date and time.")
        return None


@bp.route("/<int:team_id>/rota/overrides", methods=["POST"])
@client_staff
def add_override(team_id: int) -> Response | tuple[str, int]:
    team = teams.team_for(current_user, team_id)
    errors: dict[str, Any] = {}
    starts, ends = _local("starts_at", errors), _local("ends_at", errors)
    try:
        rota.add_override(
            team,
            user_id=_int("user_id"),
            starts_local=starts,
            ends_local=ends,
            note=request.form.get("note", ""),
        )
    except ValidationFailed as exc:
        errors = {**exc.fields, **errors}
    if errors:
        return _rota(team, override_errors=errors), 422
    flash(_("Override added."), "success")
    return redirect(url_for("team_portal.rota_page", team_id=team.id))


@bp.route("/<int:team_id>/rota/overrides/<int:override_id>/delete", methods=["POST"])
@client_staff
def delete_override(team_id: int, override_id: int) -> Response:
    team = teams.team_for(current_user, team_id)
    rota.remove_override(rota.get_override(team, override_id))
    flash(_("Override removed."), "success")
    return redirect(url_for("team_portal.rota_page", team_id=team.id))


# --- webhook deliveries -----------------------------------------------------------------------


@bp.route("/<int:team_id>/deliveries")
@client_staff
def deliveries(team_id: int) -> str:
    team = teams.team_for(current_user, team_id)
    return render_template(
        "escalations/deliveries.html", tab="deliveries", team=team, rows=webhooks.deliveries(team)
    )


@bp.route("/<int:team_id>/deliveries/test", methods=["POST"])
@client_staff
def send_test(team_id: int) -> Response:
    team = teams.team_for(current_user, team_id)
    sent = webhooks.send(
        team,
        "ping",
        {"team_id": team.id, "team": team.name, "sent_by": current_user.email},
        escalation_id=None,
    )
    if sent is None:
        flash(_("This team has no webhook address; nothing was sent."), "error")
    else:
        flash(_("Test event sent; its delivery is listed below."), "success")
    return redirect(url_for("team_portal.deliveries", team_id=team.id))


# --- one-click acknowledge --------------------------------------------------------------------


@bp.route("/ack/<token>")
@login_required
def acknowledge(token: str) -> Response:
    """The link of a page mail: signed in as the person paged, it acknowledges in one click.

    A GET that changes state, on purpose: the token is signed, names the escalation and the person,
    and counts only for that person's session, so nobody else can make it act for them."""
    if current_user.role not in CLIENT_ROLES:
        raise PermissionDenied()
    escalation = oncall.read_ack_token(token, current_user)
    try:
        changed = escalations.acknowledge(escalation, current_user, utcnow())
    except Conflict:
        changed = False
    if changed:
        flash(_("Acknowledged: the escalation is yours, nobody else will be paged."), "success")
    else:
        flash(_("This escalation was already acknowledged or closed; nothing changed."), "info")
    return redirect(url_for("portal.ticket", ticket_id=escalation.ticket_id))
