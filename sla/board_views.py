"""The live SLA board for shift leads: the page, and the JSON its script polls to refresh."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, render_template, request
from werkzeug.wrappers import Response

from core.auth.access import roles_required
from core.auth.roles import Role
from core.models_base import utcnow
from sla.board import grouped
from sla.board import rows as board_rows
from sla.labels import duration
from sla.views import bp, int_arg, tenant_choices
from tickets.services import display_number

leads = roles_required(Role.SUPERVISOR, Role.PROVIDER_ADMIN)
REFRESH_SECONDS = 30


def _context() -> dict[str, Any]:
    choices = tenant_choices()
    tenant_id = int_arg(request.args.get("tenant_id"))
    if tenant_id is not None and tenant_id not in choices:
        abort(404)
    languages = sorted({lang for tenant in choices.values() for lang in tenant.languages})
    language = request.args.get("language") or None
    if language is not None and language not in languages:
        language = None
    shown = [choices[tenant_id]] if tenant_id is not None else list(choices.values())
    now = utcnow()
    found = board_rows(shown, now, language=language)
    return {
        "tenants": choices,
        "tenant_id": tenant_id,
        "languages": languages,
        "language": language,
        "groups": grouped(found),
        "count": len(found),
        "breached": sum(1 for row in found if row.breached),
        "now": now,
        "duration": duration,
        "display_number": display_number,
        "refresh_seconds": REFRESH_SECONDS,
    }


@bp.route("/board")
@leads
def board() -> str:
    return render_template("sla/board.html", **_context())


@bp.route("/board.json")
@leads
def board_json() -> Response:
    context = _context()
    return jsonify(
        {
            "html": render_template("sla/_board_rows.html", **context),
            "count": context["count"],
            "breached": context["breached"],
            "generated_at": context["now"].isoformat(),
        }
    )
