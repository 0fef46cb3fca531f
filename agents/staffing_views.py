"""24/7 staffing pages: the week's shift plan (leads plan, agents read their own) and the coverage
grid. Times are entered and shown in the viewer's time zone; the services store UTC."""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, format_time
from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale, get_timezone, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from agents import coverage, shifts
from agents.models import AgentShift
from agents.views import bp
from core.auth.access import roles_required
from core.auth.roles import PROVIDER_ROLES, Role
from core.errors import ValidationFailed
from core.models_base import utcnow
from tenants import services as tenants

leads = roles_required(Role.SUPERVISOR, Role.PROVIDER_ADMIN)
staff = roles_required(*PROVIDER_ROLES)
HOME_PANEL_HOURS = 24


def viewer_zone() -> ZoneInfo:
    return ZoneInfo(str(get_timezone()))


def _clock(moment: datetime, zone: ZoneInfo) -> str:
    return format_time(moment, "short", tzinfo=zone, locale=get_locale())


def _day_label(day: date) -> str:
    return format_skeleton("MMMEd", day, locale=get_locale())


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        return None


def _time(raw: str | None) -> time | None:
    try:
        return time.fromisoformat(raw or "")
    except ValueError:
        return None


def _today(zone: ZoneInfo) -> date:
    return utcnow().astimezone(zone).date()


# --- the week plan ----------------------------------------------------------------------------


def _render_week(monday: date, errors: dict[str, object] | None = None, status: int = 200) -> tuple[str, int]:
    zone = viewer_zone()
    week = shifts.week(current_user, monday, zone)
    return (
        render_template(
            "agents/shifts.html",
            week=week,
            zone=str(zone),
            today=_today(zone),
            clock=lambda moment: _clock(moment, zone),
            day_label=_day_label,
            previous_week=week.monday - timedelta(weeks=1),
            next_week=week.monday + timedelta(weeks=1),
            can_plan=shifts.is_planner(current_user),
            errors=errors or {},
            form=request.form if request.method == "POST" else None,
            max_weeks=shifts.MAX_WEEKS,
        ),
        status,
    )


@bp.route("/shifts")
@staff
def shifts_page() -> tuple[str, int]:
    monday = _date(request.args.get("week")) or _today(viewer_zone())
    return _render_week(monday)


def _input(zone: ZoneInfo) -> tuple[shifts.ShiftInput | None, dict[str, object]]:
    """The form's date and clock times; an end at or before the start is on the next day."""
    form = request.form
    errors: dict[str, object] = {}
    raw_user = form.get("user", "")
    day, starts, ends = _date(form.get("day")), _time(form.get("starts")), _time(form.get("ends"))
    if day is None:
        errors["day"] = _("Give a date.")
    for key, value in (("starts", starts), ("ends", ends)):
        if value is None:
            errors[key] = _("Give a time such as 08:00.")
    if not raw_user.isdigit():
        errors["user"] = _("Choose a member of your staff.")
    if errors or day is None or starts is None or ends is None:
        return None, errors
    end_day = day if ends > starts else day + timedelta(days=1)
    return (
        shifts.ShiftInput(
            user_id=int(raw_user),
            starts=datetime.combine(day, starts),
            ends=datetime.combine(end_day, ends),
            timezone=str(zone),
            note=form.get("note", "").strip(),
        ),
        {},
    )


@bp.route("/shifts", methods=["POST"])
@leads
def add_shift() -> Response | tuple[str, int]:
    zone = viewer_zone()
    data, errors = _input(zone)
    raw_weeks = request.form.get("weeks", "1") or "1"
    if not raw_weeks.isdigit():
        errors["weeks"] = _("Repeat a shift for 1 to %(num)d weeks.", num=shifts.MAX_WEEKS)
    monday = _date(request.form.get("day")) or _date(request.form.get("week")) or _today(zone)
    if data is None or errors:
        return _render_week(monday, errors, 422)
    try:
        created = shifts.add(data, current_user, weeks=int(raw_weeks))
    except ValidationFailed as exc:
        return _render_week(monday, exc.fields, 422)
    flash(ngettext("Shift planned.", "%(num)d shifts planned.", len(created)), "success")
    return redirect(url_for("agent.shifts_page", week=shifts.monday_of(monday).isoformat()))


def _edit_form(shift: AgentShift, errors: dict[str, object], status: int = 200) -> tuple[str, int]:
    zone = viewer_zone()
    starts, ends = shifts.to_local(shift.starts_at, zone), shifts.to_local(shift.ends_at, zone)
    values = (
        request.form
        if request.method == "POST" and "day" in request.form
        else {
            "user": str(shift.user_id),
            "day": starts.date().isoformat(),
            "starts": starts.strftime("%H:%M"),  # the value of an <input type="time">, not user text
            "ends": ends.strftime("%H:%M"),
            "note": shift.note,
        }
    )
    return (
        render_template(
            "agents/shifts_edit.html",
            shift=shift,
            values=values,
            users=shifts.plannable_users(current_user),
            errors=errors,
            zone=str(zone),
            hours=(shift.ends_at - shift.starts_at) / timedelta(hours=1),
            week=shifts.monday_of(starts.date()),
            max_weeks=shifts.MAX_WEEKS,
        ),
        status,
    )


@bp.route("/shifts/<int:shift_id>", methods=["GET", "POST"])
@leads
def edit_shift(shift_id: int) -> Response | tuple[str, int]:
    shift = shifts.get(shift_id, current_user)
    if request.method == "GET":
        return _edit_form(shift, {})
    data, errors = _input(viewer_zone())
    if data is None:
        return _edit_form(shift, errors, 422)
    try:
        shifts.update(shift, data, current_user)
    except ValidationFailed as exc:
        return _edit_form(shift, exc.fields, 422)
    flash(_("Shift saved."), "success")
    return redirect(url_for("agent.shifts_page", week=shifts.monday_of(data.starts.date()).isoformat()))


@bp.route("/shifts/<int:shift_id>/repeat", methods=["POST"])
@leads
def repeat_shift(shift_id: int) -> Response | tuple[str, int]:
    shift = shifts.get(shift_id, current_user)
    raw = request.form.get("weeks", "")
    try:
        if not raw.isdigit():
            raise ValidationFailed(
                fields={"weeks": _("Repeat a shift for 1 to %(num)d weeks.", num=shifts.MAX_WEEKS)}
            )
        created = shifts.repeat(shift, int(raw), str(viewer_zone()), current_user)
    except ValidationFailed as exc:
        # Shown by the repeat form, not by the form that changes this shift.
        problems = {key: value for key, value in exc.fields.items() if key != "weeks"}
        errors = {"weeks": exc.fields["weeks"]} if "weeks" in exc.fields else {}
        if problems:
            errors["repeat"] = " ".join(str(value) for value in problems.values())
        return _edit_form(shift, errors, 422)
    flash(
        ngettext("Shift repeated for %(num)d week.", "Shift repeated for %(num)d weeks.", len(created)),
        "success",
    )
    return redirect(url_for("agent.edit_shift", shift_id=shift.id))


@bp.route("/shifts/<int:shift_id>/delete", methods=["POST"])
@leads
def delete_shift(shift_id: int) -> Response:
    shift = shifts.get(shift_id, current_user)
    monday = shifts.monday_of(shift.starts_at.astimezone(viewer_zone()).date())
    shifts.delete(shift, current_user)
    flash(_("Shift deleted."), "success")
    return redirect(url_for("agent.shifts_page", week=monday.isoformat()))


# --- coverage ---------------------------------------------------------------------------------


@functools.cache
def _cell_html(cell: coverage.Cell, basic_title: str) -> Markup:
    """One cell of the grid. A week of 50 clients has 33,600 cells but only a few distinct ones, so
    each is rendered once here instead of 33,600 times in the template (a third of the page time)."""
    if cell.basic:
        return Markup('<td class="{}">{} <abbr class="basic" title="{}">+{}</abbr></td>').format(
            cell.level, cell.count, basic_title, cell.basic
        )
    return Markup('<td class="{}">{}</td>').format(cell.level, cell.count)


@bp.route("/coverage")
@leads
def coverage_page() -> str:
    zone = viewer_zone()
    visible = tenants.visible_tenants()
    raw = request.args.get("tenant", "")
    tenant_id = int(raw) if raw.isdigit() and int(raw) in {t.id for t in visible} else None
    found = coverage.grid(zone, tenant_id=tenant_id)
    days: dict[date, list[int]] = {}
    for index, hour in enumerate(found.hours):
        days.setdefault(hour.astimezone(zone).date(), []).append(index)
    return render_template(
        "agents/coverage.html",
        grid=found,
        days=list(days.items()),
        tenants=visible,
        tenant_id=tenant_id,
        zone=str(zone),
        day_label=_day_label,
        hour_label=lambda moment: format_skeleton("H", moment, tzinfo=zone, locale=get_locale()),
        gaps=coverage.gaps(found),
        td=functools.partial(_cell_html, basic_title=_("basic level")),
    )


def home_gaps() -> list[coverage.Gap]:
    """The home panel's warning: gaps in the viewer's clients over the next day."""
    return coverage.upcoming_gaps(viewer_zone(), hours=HOME_PANEL_HOURS)
