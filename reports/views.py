"""The provider's dashboard (/admin/reports): every client for provider admins, the clients they
supervise for supervisors. The question comes from the query string (reports.params); a bad
one is shown in the form (422), never as an error page. `?export=<table>` downloads any table
of the page as CSV.

`page` is shared with the client's dashboard in the portal (reports.portal_views).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_time
from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import get_locale, get_timezone
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from core.auth.access import roles_required
from core.auth.roles import Role
from core.errors import ValidationFailed
from core.i18n import language_name
from core.models_base import utcnow
from reports import csv_export, dashboard, live, lookups, params
from reports.dashboard import Audience
from reports.tables import show
from tenants.models import Tenant
from tickets.labels import CATEGORY, CHANNEL

bp = Blueprint("reports_admin", __name__, url_prefix="/admin/reports", template_folder="templates")
readers = roles_required(Role.PROVIDER_ADMIN, Role.SUPERVISOR)
REFRESH_SECONDS = 60

PRESET_LABELS = {
    "7d": _l("Last 7 days"),
    "30d": _l("Last 30 days"),
    "90d": _l("Last 90 days"),
    "365d": _l("Last 365 days"),
    "this_month": _l("This month"),
    "last_month": _l("Last month"),
}


def viewer_today() -> date:
    return utcnow().astimezone(ZoneInfo(str(get_timezone()))).date()


def _form(args: Mapping[str, str], clients: list[Tenant], audience: Audience) -> dict[str, Any]:
    """The filter form's choices; teams once one client is chosen, agents on the provider's page."""
    raw = args.get("tenant", "")
    chosen = next((t for t in clients if str(t.id) == raw), clients[0] if len(clients) == 1 else None)
    return {
        "values": args,
        "presets": list(PRESET_LABELS.items()),
        "clients": [(str(t.id), t.name) for t in clients] if audience == "provider" else [],
        "channels": [(key, str(label)) for key, label in CHANNEL.items()],
        "languages": [(code, language_name(code)) for code in lookups.language_choices(clients)],
        "categories": [(key, str(label)) for key, label in CATEGORY.items()],
        "teams": lookups.team_choices(chosen.id) if chosen else [],
        "agents": lookups.agent_choices([t.id for t in clients]) if audience == "provider" else [],
    }


def page(
    template: str, args: Mapping[str, str], clients: list[Tenant], audience: Audience, **extra: Any
) -> Response | str | tuple[str, int]:
    """Parse the question, compute the dashboard once, then render it or export one table."""
    form = _form(args, clients, audience)
    extra.setdefault("export_url", lambda name: _export_url(args, name))
    try:
        found = params.parse(args, [t.id for t in clients], viewer_today())
    except ValidationFailed as exc:
        context = {"form": form, "errors": exc.fields, "dash": None, "audience": audience, **extra}
        return render_template(template, **context), 422
    if found.preset and not args.get("preset"):
        form["values"] = {**args, "preset": found.preset}  # the default period, shown as chosen
    dash = dashboard.compose(found.query, clients, audience, utcnow())
    export = args.get("export")
    if export:
        table = dash.table(export)
        if table is None:
            abort(404)
        query = found.query
        return csv_export.response(table, f"{query.first.isoformat()}_{query.last.isoformat()}")
    return render_template(
        template, form=form, errors={}, dash=dash, query=found.query, audience=audience, show=show, **extra
    )


def _export_url(args: Mapping[str, str], name: str) -> str:
    """This page with the same question, as the CSV of one table."""
    values = {key: value for key, value in args.items() if key != "export" and value}
    return url_for(str(request.endpoint), **values, export=name)


@bp.route("/")
@readers
def index() -> Response | str | tuple[str, int]:
    clients = lookups.tenants(params.reportable_tenant_ids(current_user))
    return page("reports/dashboard.html", request.args, clients, "provider")


@bp.route("/live")
@readers
def live_page() -> Response | str:
    """The shift's live view; refreshes itself every REFRESH_SECONDS (no script needed)."""
    choices = lookups.tenants(params.reportable_tenant_ids(current_user))
    raw = request.args.get("tenant", "").strip()
    clients = [t for t in choices if str(t.id) == raw] if raw else choices
    if raw and not clients:
        abort(404)
    zone = ZoneInfo(str(get_timezone()))
    now = utcnow()
    found = live.snapshot(clients, zone, now, now.astimezone(zone).date(), one_client=bool(raw))
    export = request.args.get("export")
    if export:
        table = found.table(export)
        if table is None:
            abort(404)
        return csv_export.response(table, now.astimezone(zone).strftime("%Y-%m-%dT%H%M"))
    return render_template(
        "reports/live.html",
        live=found,
        tenant=raw,
        choices=choices,
        zone=zone,
        show=show,
        refresh_seconds=REFRESH_SECONDS,
        export_url=lambda name: url_for("reports_admin.live_page", tenant=raw or None, export=name),
        clock=lambda moment: format_time(moment, "short", tzinfo=zone, locale=get_locale()),
    )
