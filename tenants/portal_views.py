"""The client portal: where the client's experts receive what the desk escalated, resolve it, and
turn the resolution into an article for the desk (issue: escalation paths extend this)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from core.auth.access import roles_required
from core.auth.roles import CLIENT_ROLES
from core.errors import Conflict, ValidationFailed
from core.extensions import db
from knowledge import desk
from tenants.models import Tenant
from tickets import escalation
from tickets import services as tickets
from tickets.models import Ticket

bp = Blueprint("portal", __name__, url_prefix="/portal", template_folder="templates")
client_staff = roles_required(*CLIENT_ROLES)


@bp.route("/")
@client_staff
def escalations() -> str:
    return render_template(
        "tenants/portal/escalations.html",
        open_tickets=escalation.queue(),
        resolved=escalation.queue(resolved=True, limit=20),
        tenant=db.session.get(Tenant, current_user.tenant_id),
    )


@bp.route("/tickets/<int:ticket_id>")
@client_staff
def ticket(ticket_id: int) -> str:
    item = escalation.get(ticket_id)
    return _page(item)


def _page(item: Ticket) -> str:
    tenant = db.session.get_one(Tenant, item.tenant_id)
    return render_template(
        "tenants/portal/ticket.html",
        ticket=item,
        tenant=tenant,
        number=tickets.display_number(tenant, item),
        messages=tickets.messages_of(item),
        handoff=desk.last_handoff(item),
        answer=request.form.get("answer", ""),
    )


@bp.route("/tickets/<int:ticket_id>/resolve", methods=["POST"])
@client_staff
def resolve(ticket_id: int) -> Response | tuple[str, int]:
    item = escalation.get(ticket_id)
    answer = request.form.get("answer", "")
    article = None
    try:
        escalation.resolve(item, current_user, answer, tell_customer=request.form.get("tell_customer") == "1")
        if request.form.get("to_article") == "1":
            article = desk.draft_from_ticket(item, current_user, answer)
    except (ValidationFailed, Conflict) as exc:
        for message in exc.fields.values() or [exc.message]:
            flash(str(message), "error")
        return _page(item), exc.status
    if article is not None:
        flash(
            _("Resolved. Here is the draft article from your answer: check it, translate it, publish it."),
            "success",
        )
        return redirect(url_for("kb.article", article_id=article.id))
    flash(_("Resolved."), "success")
    return redirect(url_for("portal.escalations"))
