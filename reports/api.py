"""Reports over the JSON API (bearer tokens): the metrics of any question the dashboards answer,
and a client's monthly report.

Who may ask is `params.reportable_tenant_ids`: provider admins every client, supervisors the
clients they supervise, a client admin their own; agents and experts get 403. Bad input is a 422
in the API's error shape, with the field named. A monthly report of a client the caller may not
see is a 404, like one that does not exist.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from core.api import ApiError, endpoint
from core.auth.roles import Role
from core.errors import NotFound
from core.extensions import db
from core.models_base import utcnow
from reports import monthly, params, rollup
from reports.metrics import report
from tenants.models import Tenant

bp = Blueprint("reports_api", __name__, url_prefix="/api/v1/reports")
READERS = (Role.PROVIDER_ADMIN, Role.SUPERVISOR, Role.CLIENT_ADMIN)
METRICS_QUERY = {
    "from": "First day, YYYY-MM-DD (with `to`; instead of `preset`).",
    "to": "Last day, YYYY-MM-DD, at most 400 days after `from`.",
    "preset": "7d, 30d (default), 90d, 365d, this_month or last_month.",
    "tenant": "One client's id; default: every client the caller may report on.",
    "channel": "Only tickets of this channel (email, phone, fax, webform, chat, api).",
    "language": "Only tickets in this language (de, en, fr, it ...).",
    "category": "Only tickets of this category.",
    "team": "Only tickets and escalations of this team (id).",
    "agent": "Only tickets of this agent (id).",
}


def _today(tenant_ids: list[int]) -> date:
    """Presets count in the client's days when there is one client, in UTC days otherwise."""
    if len(tenant_ids) == 1:
        return rollup.local_today(db.session.get_one(Tenant, tenant_ids[0]))
    return utcnow().date()


@endpoint(
    bp,
    "/metrics",
    methods=["GET"],
    summary=_l("Report figures for a date range, clients and filters"),
    tag="reports",
    roles=READERS,
    query=METRICS_QUERY,
)
def metrics() -> dict[str, Any]:
    allowed = params.reportable_tenant_ids(current_user)
    raw_tenant = (request.args.get("tenant") or "").strip()
    narrowed = [int(raw_tenant)] if raw_tenant.isdigit() and int(raw_tenant) in allowed else allowed
    found = params.parse(request.args, allowed, _today(narrowed))
    return report(found.query).as_dict()


@endpoint(
    bp,
    "/monthly/<month>",
    methods=["GET"],
    summary=_l("A client's monthly report: the month against the month before"),
    tag="reports",
    roles=READERS,
    query={"tenant": "The client's id; may be left out when the caller reports on one client only."},
)
def monthly_report(month: str) -> dict[str, Any]:
    allowed = params.reportable_tenant_ids(current_user)
    raw = (request.args.get("tenant") or "").strip()
    if raw:
        if not raw.isdigit() or int(raw) not in allowed:
            raise NotFound(_("Not found."))
        tenant_id = int(raw)
    elif len(allowed) == 1:
        tenant_id = allowed[0]
    else:
        raise ApiError(
            422, "validation_failed", _("Some fields are not valid."), {"tenant": _("Choose a client.")}
        )
    tenant = db.session.get_one(Tenant, tenant_id)
    found = monthly.parse_report_month(month)
    if found is None:
        raise ApiError(
            422,
            "validation_failed",
            _("Some fields are not valid."),
            {"month": _("Enter a month as YYYY-MM.")},
        )
    if not monthly.is_reportable(tenant, found):
        raise NotFound(_("There is no report for this month."))
    return monthly.month_report(tenant, found, rebuild=False).as_dict()
