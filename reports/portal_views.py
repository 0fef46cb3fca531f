"""The client's dashboard in the portal (/portal/reports): the service their company gets, with
the same figures and charts as the provider's page but without other clients and without the
provider's agents by name; their teams' performance; and what their knowledge base is missing.

A client admin sees their own company (`?tenant=` of another is a 404); a provider admin opens a
client's with `?tenant=<id>`, as the client would see it.
"""

from __future__ import annotations

from flask import Blueprint, request
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from core.auth.access import roles_required
from core.auth.roles import Role
from knowledge import gaps
from reports import params
from reports.views import page

bp = Blueprint("reports_portal", __name__, url_prefix="/portal/reports", template_folder="templates")
readers = roles_required(Role.CLIENT_ADMIN, Role.PROVIDER_ADMIN)
GAP_PERIODS = (7, 30, 90, 365)
GAP_ROWS = 5


@bp.route("/")
@readers
def index() -> Response | str | tuple[str, int]:
    tenant = params.portal_tenant(current_user, request.args.get("tenant"))
    # Agents are the provider's staff: the client's page neither names nor filters by them.
    args = MultiDict([(key, value) for key, value in request.args.items(multi=True) if key != "agent"])
    args["tenant"] = str(tenant.id)
    days = 30
    found = gaps.content_gaps(tenant.id, days=days, limit=GAP_ROWS, language=str(get_locale()))
    gaps_link = {"days": days} | ({} if current_user.tenant_id else {"tenant_id": tenant.id})
    return page(
        "reports/dashboard.html",
        args,
        [tenant],
        "client",
        tenant=tenant,
        gaps=found,
        gaps_link=gaps_link,
    )
