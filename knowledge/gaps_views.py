"""The content-gaps page (`/kb/gaps`): what a client's customers and the desk look for in vain,
and which answers do not solve. For the client's own staff (their company) and the provider's
supervisors and admins (a choice among the clients they look after)."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import format_percent, get_locale
from flask_login import current_user

from core.auth.access import roles_required
from core.auth.roles import Role
from core.errors import NotFound
from knowledge import gaps
from tenants import services as tenants

bp = Blueprint("kb_gaps", __name__, template_folder="templates")

READERS = (Role.CLIENT_ADMIN, Role.CLIENT_EXPERT, Role.SUPERVISOR, Role.PROVIDER_ADMIN)
PERIODS = (7, 30, 90, 365)


def _tenant_id(choices: list[tuple[int, str]]) -> int:
    """Client staff see their own company; provider staff choose among the clients in their
    scope (the first one when they have not chosen). Any other id is not found."""
    if current_user.tenant_id is not None:
        wanted = request.args.get("tenant_id", str(current_user.tenant_id))
        if wanted != str(current_user.tenant_id):
            raise NotFound()
        return int(current_user.tenant_id)
    raw = request.args.get("tenant_id", "")
    if not raw and choices:
        return choices[0][0]
    if raw.isdigit() and int(raw) in {tenant_id for tenant_id, _name in choices}:
        return int(raw)
    raise NotFound()


@bp.route("/kb/gaps")
@roles_required(*READERS)
def page() -> str:
    choices = tenants.tenant_choices()
    tenant = tenants.get_tenant(_tenant_id(choices))
    raw_days = request.args.get("days", "")
    days = int(raw_days) if raw_days.isdigit() and int(raw_days) in PERIODS else 30
    report = gaps.content_gaps(tenant.id, days=days, language=str(get_locale()))
    return render_template(
        "knowledge/gaps.html",
        tenant=tenant,
        choices=choices if current_user.tenant_id is None else [],
        days=days,
        periods=PERIODS,
        report=report,
        percent=format_percent,
        # The knowledge base's editor, the query as the new article's title.
        write_url=lambda query: url_for("kb.new", tenant_id=tenant.id, title=query),
    )
