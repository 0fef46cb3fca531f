"""The provider admin's billing pages under /admin/billing: invoices with filters and revenue, an
invoice with its actions, the month run, each client's plan and billing account, and the usage
ledger with corrections. Provider admins only; everything loads through the tenancy scope.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from billing import accounts, documents, invoices, plans, reports, usage
from billing.invoice_run import lines_of, run_month
from billing.labels import PLAN_LABELS, ROUNDING_LABELS, STATUS_LABELS, USAGE_KIND_LABELS, month_label
from billing.models import Invoice, InvoiceStatus
from billing.pdf import pdf_response
from billing.periods import local_month, parse_month, previous_month, utc_bounds
from core.auth.access import roles_required
from core.auth.roles import Role
from core.errors import Conflict, ValidationFailed
from core.models_base import utcnow
from tenants import services as tenants
from tenants.models import Tenant

bp = Blueprint("billing_admin", __name__, url_prefix="/admin/billing", template_folder="templates")
provider_admin = roles_required(Role.PROVIDER_ADMIN)


def _int(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None


def _clients() -> dict[int, Tenant]:
    return {tenant.id: tenant for tenant in tenants.visible_tenants()}


@bp.route("/")
@provider_admin
def index() -> str:
    args = request.args
    period = parse_month(args.get("month", ""))
    status = args.get("status") if args.get("status") in STATUS_LABELS else None
    clients = _clients()
    tenant_id = _int(args.get("tenant_id"))
    flt = reports.InvoiceFilter(period, tenant_id if tenant_id in clients else None, status)
    return render_template(
        "billing/index.html",
        rows=reports.invoices(flt),
        flt=flt,
        clients=clients,
        statuses=STATUS_LABELS,
        by_month=reports.revenue_by_month(),
        by_client=reports.revenue_by_client(period=period),
        run_default=previous_month(utcnow().date()),
    )


@bp.route("/run", methods=["POST"])
@provider_admin
def run() -> Response:
    period = parse_month(request.form.get("month", ""))
    if period is None:
        flash(_("Enter the month as YYYY-MM, such as 2026-11."), "error")
        return redirect(url_for("billing_admin.index"))
    tenant_id = _int(request.form.get("tenant_id"))
    result = run_month(period, [tenant_id] if tenant_id in _clients() else None)
    flash(
        _(
            "%(month)s built. New invoices: %(created)d. Drafts rebuilt: %(rebuilt)d. "
            "Left as they were: %(kept)d.",
            month=month_label(period),
            created=len(result.created),
            rebuilt=len(result.rebuilt),
            kept=len(result.left_alone),
        ),
        "success",
    )
    return redirect(url_for("billing_admin.index", month=period.strftime("%Y-%m")))


# --- one invoice ------------------------------------------------------------------------------


def _view(invoice: Invoice, language: str | None = None) -> documents.InvoiceView:
    tenant = tenants.get_tenant(invoice.tenant_id)
    return documents.present(invoice, lines_of(invoice), tenant, accounts.find_account(tenant.id), language)


def _invoice_page(
    invoice: Invoice, errors: dict[str, Any] | None = None, status: int = 200
) -> tuple[str, int]:
    return (
        render_template(
            "billing/invoice.html",
            invoice=invoice,
            tenant=tenants.get_tenant(invoice.tenant_id),
            view=_view(invoice),
            account=accounts.find_account(invoice.tenant_id),
            allowed=invoices.ALLOWED[InvoiceStatus(invoice.status)],
            errors=errors or {},
            form=request.form if errors else {},
        ),
        status,
    )


@bp.route("/invoices/<int:invoice_id>")
@provider_admin
def invoice(invoice_id: int) -> tuple[str, int]:
    return _invoice_page(invoices.get_invoice(invoice_id))


@bp.route("/invoices/<int:invoice_id>/pdf")
@provider_admin
def invoice_pdf(invoice_id: int) -> Response:
    return pdf_response(_view(invoices.get_invoice(invoice_id)))


def _act(invoice_id: int, do: Any, done: str) -> Response | tuple[str, int]:
    """Run one transition; a refused one re-renders the invoice with the reason."""
    invoice = invoices.get_invoice(invoice_id)
    try:
        do(invoice)
    except ValidationFailed as exc:
        flash(str(exc.message), "error")
        return _invoice_page(invoice, exc.fields, 422)
    except Conflict as exc:
        flash(str(exc.message), "error")
        return _invoice_page(invoice, {}, 409)
    flash(done, "success")
    return redirect(url_for("billing_admin.invoice", invoice_id=invoice.id))


@bp.route("/invoices/<int:invoice_id>/finalize", methods=["POST"])
@provider_admin
def finalize(invoice_id: int) -> Response | tuple[str, int]:
    return _act(invoice_id, invoices.finalize, _("Invoice finalized."))


@bp.route("/invoices/<int:invoice_id>/send", methods=["POST"])
@provider_admin
def send(invoice_id: int) -> Response | tuple[str, int]:
    return _act(invoice_id, invoices.send, _("Invoice sent to the client."))


@bp.route("/invoices/<int:invoice_id>/paid", methods=["POST"])
@provider_admin
def paid(invoice_id: int) -> Response | tuple[str, int]:
    note = request.form.get("note", "")
    return _act(invoice_id, lambda invoice: invoices.pay_by_hand(invoice, note), _("Payment recorded."))


@bp.route("/invoices/<int:invoice_id>/void", methods=["POST"])
@provider_admin
def void(invoice_id: int) -> Response | tuple[str, int]:
    reason = request.form.get("reason", "")
    return _act(invoice_id, lambda invoice: invoices.cancel(invoice, reason), _("Invoice voided."))


# --- plans and accounts -----------------------------------------------------------------------


def _plan_page(tenant: Tenant, errors: dict[str, Any] | None = None, status: int = 200) -> tuple[str, int]:
    plan = plans.plan_for(tenant.id)
    if errors is not None:
        values = request.form.to_dict()
    else:
        plan_input = (
            plans.PlanInput.of(plan) if plan else plans.PlanInput(contract_start=utcnow().date().isoformat())
        )
        values = {**vars(plan_input), **vars(accounts.account_input(accounts.find_account(tenant.id)))}
    return (
        render_template(
            "billing/plan_form.html",
            tenant=tenant,
            plan=plan,
            values=values,
            errors=errors or {},
            money_fields=plans.MONEY,
            plan_labels=PLAN_LABELS,
            rounding_labels=ROUNDING_LABELS,
        ),
        status,
    )


@bp.route("/plans/<int:tenant_id>", methods=["GET", "POST"])
@provider_admin
def plan(tenant_id: int) -> Response | tuple[str, int]:
    tenant = tenants.get_tenant(tenant_id)
    if request.method == "GET":
        return _plan_page(tenant)
    errors: dict[str, Any] = {}
    for check in (
        lambda: plans.validate(plans.PlanInput.from_form(request.form)),
        lambda: accounts.validate(_account_input()),
    ):
        try:
            check()
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        return _plan_page(tenant, errors, 422)
    plans.save_plan(tenant, plans.PlanInput.from_form(request.form))
    accounts.save_account(tenant.id, _account_input())
    flash(_("Plan saved."), "success")
    return redirect(url_for("billing_admin.plan", tenant_id=tenant.id))


def _account_input() -> accounts.AccountInput:
    form = request.form
    return accounts.AccountInput(
        billing_email=form.get("billing_email", ""),
        billing_address=form.get("billing_address", ""),
        dunning_grace_days=form.get("dunning_grace_days", ""),
    )


# --- the ledger -------------------------------------------------------------------------------


def _usage_page(tenant: Tenant, errors: dict[str, Any] | None = None, status: int = 200) -> tuple[str, int]:
    period = parse_month(request.values.get("month", "")) or local_month(utcnow(), tenant.timezone)
    start, end = utc_bounds(period, tenant.timezone)
    return (
        render_template(
            "billing/usage.html",
            tenant=tenant,
            period=period,
            rows=reports.ledger(tenant.id, start=start, end=end, limit=500),
            kinds=USAGE_KIND_LABELS,
            errors=errors or {},
            form=request.form if errors else {},
        ),
        status,
    )


@bp.route("/usage/<int:tenant_id>")
@provider_admin
def ledger(tenant_id: int) -> tuple[str, int]:
    return _usage_page(tenants.get_tenant(tenant_id))


@bp.route("/usage/<int:tenant_id>/corrections", methods=["POST"])
@provider_admin
def correct(tenant_id: int) -> Response | tuple[str, int]:
    tenant = tenants.get_tenant(tenant_id)
    form = request.form
    event = usage.get_event(_int(form.get("event_id")) or 0)
    if event.tenant_id != tenant.id:
        return _usage_page(tenant, {"event_id": _("Not found.")}, 404)
    raw = form.get("quantity", "").strip()
    quantity = int(raw) if raw.lstrip("-").isascii() and raw.lstrip("-").isdigit() and len(raw) < 10 else 0
    try:
        usage.correct(event.id, quantity, form.get("note", ""), current_user.id)
    except ValidationFailed as exc:
        return _usage_page(tenant, {**exc.fields, "event_id": event.id}, 422)
    flash(_("Correction recorded."), "success")
    return redirect(url_for("billing_admin.ledger", tenant_id=tenant.id, month=form.get("month", "")))
