"""The monthly reports in the portal (/portal/reports/monthly): the client admin's own client, or
for a provider admin the client named by `?tenant=<id>`, which every link carries along.

Any month that is over can be viewed (as a page) or downloaded (as a PDF), computed when asked,
whether or not it was mailed; a month still running or to come, or one that is not YYYY-MM, is a
404, as is another client's id for a client admin.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from core.auth.access import roles_required
from core.auth.roles import Role
from core.errors import NotFound
from core.extensions import db
from reports import monthly, monthly_pdf, params
from reports.models import MonthlyReport
from reports.monthly_present import MonthlyView, present
from tenants import services as tenants
from tenants.models import Tenant

bp = Blueprint("monthly_reports", __name__, url_prefix="/portal/reports", template_folder="templates")
readers = roles_required(Role.CLIENT_ADMIN, Role.PROVIDER_ADMIN)


def chosen_tenant(raw: str | None) -> Tenant | None:
    """The client admin's own client (naming another is a 404); for a provider admin the one in
    `tenant`, or None when none is named (the index then lists the clients)."""
    if current_user.role != Role.CLIENT_ADMIN.value and not (raw or "").strip():
        return None
    return params.portal_tenant(current_user, raw)


def report_month(tenant: Tenant, text: str) -> date:
    """`text` as a month that is over for the client, or a 404."""
    month = monthly.parse_report_month(text)
    if month is None or not monthly.is_reportable(tenant, month):
        raise NotFound(_("There is no report for this month."))
    return month


def _where(tenant: Tenant) -> dict[str, int]:
    return {} if current_user.role == Role.CLIENT_ADMIN.value else {"tenant": tenant.id}


def _required_tenant() -> Tenant:
    return params.portal_tenant(current_user, request.args.get("tenant"))


def _view(tenant: Tenant, month: date) -> MonthlyView:
    language = str(get_locale() or "en").split("_")[0]
    return present(monthly.month_report(tenant, month, rebuild=False), language)


@bp.route("/monthly")
@readers
def index() -> str:
    tenant = chosen_tenant(request.args.get("tenant"))
    if tenant is None:
        return render_template("reports/monthly_index.html", tenant=None, clients=tenants.visible_tenants())
    sent = dict(
        db.session.execute(
            select(MonthlyReport.month, MonthlyReport.sent_at).where(MonthlyReport.tenant_id == tenant.id)
        ).all()
    )
    return render_template(
        "reports/monthly_index.html",
        tenant=tenant,
        months=monthly.months_of(tenant),
        sent=sent,
        where=_where(tenant),
    )


@bp.route("/monthly/<month>")
@readers
def view(month: str) -> str:
    tenant = _required_tenant()
    return render_template(
        "reports/monthly_page.html", view=_view(tenant, report_month(tenant, month)), where=_where(tenant)
    )


@bp.route("/monthly/<month>/pdf")
@readers
def pdf(month: str) -> Response:
    tenant = _required_tenant()
    found = report_month(tenant, month)
    response = Response(monthly_pdf.render(_view(tenant, found)), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{tenant.slug}-{found:%Y-%m}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
