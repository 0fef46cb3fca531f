"""For shift leads: what arrived and could not become a ticket (retry, read the original), and
each client's e-mail settings (the acknowledgement customers get)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from agents.supervision_views import leads
from agents.views import bp
from channels import mail_imap, mailboxes
from core import jobs
from core.errors import Conflict, NotFound, ValidationFailed
from core.extensions import db
from tenants import services as tenants
from tenants.models import Tenant
from tickets import intake
from tickets.models import InboundStatus

STATUS_FILTERS = ("failed", "ignored", "received", "processed", "all")


@bp.route("/inbound")
@leads
def inbound_page() -> str:
    status = request.args.get("status", "failed")
    status = status if status in STATUS_FILTERS else "failed"
    raw_tenant = request.args.get("tenant", "")
    tenant_id = int(raw_tenant) if raw_tenant.isdigit() else None
    rows = intake.listing(None if status == "all" else InboundStatus(status), tenant_id)
    return render_template(
        "agents/inbound.html",
        rows=rows,
        status=status,
        statuses=STATUS_FILTERS,
        tenant_id=tenant_id,
        tenants={t.id: t for t in tenants.visible_tenants()},
    )


@bp.route("/inbound/<int:record_id>/retry", methods=["POST"])
@leads
def retry_inbound(record_id: int) -> Response:
    try:
        intake.retry(record_id)
    except Conflict as exc:
        flash(exc.message, "error")
        return redirect(url_for("agent.inbound_page"))
    jobs.commit()
    record = intake.get_record(record_id)
    if record.ticket_id:
        flash(_("It is a ticket now."), "success")
    else:
        flash(_("Queued again; it failed again if it is still listed."), "info")
    return redirect(url_for("agent.inbound_page", status=request.form.get("status", "failed")))


@bp.route("/inbound/<int:record_id>/raw")
@leads
def inbound_raw(record_id: int) -> Response:
    record = intake.get_record(record_id)
    raw = intake.raw_of(record)
    if raw is None:
        raise NotFound(_("Not found."))
    return Response(
        raw,
        mimetype="message/rfc822",
        headers={"Content-Disposition": f'attachment; filename="inbound-{record.id}.eml"'},
    )


@bp.route("/clients/<int:tenant_id>/email", methods=["GET", "POST"])
@leads
def email_settings(tenant_id: int) -> Response | tuple[str, int]:
    tenant = tenants.get_tenant(tenant_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            tenants.set_acknowledgements(
                tenant,
                enabled=request.form.get("acknowledge") == "on",
                texts={lang: request.form.get(f"text_{lang}", "") for lang in tenant.languages},
            )
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields
        else:
            jobs.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("agent.email_settings", tenant_id=tenant.id))
    return _settings_page(tenant, errors=errors, form=request.form if errors else None)


def _settings_page(
    tenant: Tenant,
    *,
    errors: dict[str, str] | None = None,
    form: object = None,
    box_errors: dict[str, str] | None = None,
) -> tuple[str, int]:
    return render_template(
        "agents/email_settings.html",
        tenant=tenant,
        addresses=[c for c in tenants.channels_of(tenant.id) if c.kind == "email"],
        errors=errors or {},
        form=form,
        box_errors=box_errors or {},
        box_form=request.form if box_errors else None,
        mailboxes=mailboxes.listing(tenant.id),
        placeholders=tenants.ACK_PLACEHOLDERS,
    ), (422 if errors or box_errors else 200)


@bp.route("/clients/<int:tenant_id>/mailboxes", methods=["POST"])
@leads
def add_mailbox(tenant_id: int) -> Response | tuple[str, int]:
    tenant = tenants.get_tenant(tenant_id)
    form = request.form
    try:
        mailboxes.create(
            tenant.id,
            host=form.get("host", ""),
            port=form.get("port", "993"),
            use_ssl=form.get("use_ssl") == "on",
            username=form.get("username", ""),
            password=form.get("password", ""),
            folder=form.get("folder", "") or "INBOX",
        )
    except ValidationFailed as exc:
        db.session.rollback()
        return _settings_page(tenants.get_tenant(tenant_id), box_errors=exc.fields)
    jobs.commit()
    flash(_("Mailbox added; it is read within a minute."), "success")
    return redirect(url_for("agent.email_settings", tenant_id=tenant.id))


@bp.route("/clients/<int:tenant_id>/mailboxes/<int:mailbox_id>/delete", methods=["POST"])
@leads
def delete_mailbox(tenant_id: int, mailbox_id: int) -> Response:
    mailboxes.delete(mailboxes.get(mailbox_id, tenant_id).id)
    jobs.commit()
    flash(_("Mailbox removed; its mail stays on the tickets."), "success")
    return redirect(url_for("agent.email_settings", tenant_id=tenant_id))


@bp.route("/clients/<int:tenant_id>/mailboxes/<int:mailbox_id>/poll", methods=["POST"])
@leads
def poll_mailbox_now(tenant_id: int, mailbox_id: int) -> Response:
    mailbox = mailboxes.get(mailbox_id, tenant_id)
    mail_imap.poll_mailbox.enqueue(mailbox.tenant_id, mailbox.id)
    jobs.commit()
    flash(_("The mailbox is being read."), "info")
    return redirect(url_for("agent.email_settings", tenant_id=tenant_id))
