"""The client's invoices in the portal (/portal/billing), for its client admin only: the invoices
the provider has issued (never drafts), each as a page and a PDF in the reader's language, and the
usage of the running month with the amount it would come to.

Invoices load through the tenancy scope, so another client's invoice is a 404 like a missing one.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template
from flask_login import current_user
from sqlalchemy import select

from billing import accounts, documents, invoices, plans
from billing.invoice_run import estimate, invoice_locale, lines_of
from billing.models import Invoice, InvoiceStatus
from billing.pdf import pdf_response
from core.auth.access import roles_required
from core.auth.roles import Role
from core.extensions import db
from tenants import services as tenants

bp = Blueprint("billing_portal", __name__, url_prefix="/portal/billing", template_folder="templates")
client_admin = roles_required(Role.CLIENT_ADMIN)


def _view(invoice: Invoice) -> documents.InvoiceView:
    tenant = tenants.get_tenant(invoice.tenant_id)
    return documents.present(invoice, lines_of(invoice), tenant, accounts.find_account(tenant.id))


@bp.route("/")
@client_admin
def index() -> str:
    tenant = tenants.get_tenant(current_user.tenant_id or 0)
    issued = list(
        db.session.scalars(
            select(Invoice)
            .where(Invoice.tenant_id == tenant.id, Invoice.status != InvoiceStatus.DRAFT.value)
            .order_by(Invoice.period_start.desc(), Invoice.revision.desc())
        )
    )
    running = estimate(tenant, plans.plan_for(tenant.id))
    language, locale = documents.reader_language(), invoice_locale(tenant.default_language, tenant.currency)
    return render_template(
        "billing/portal/index.html",
        tenant=tenant,
        invoices=issued,
        money=documents.money_formatter(locale, tenant.currency),
        running=running,
        lines=documents.line_views(running.rated.lines, tenant.currency, locale, language)
        if running.rated
        else [],
    )


@bp.route("/invoices/<int:invoice_id>")
@client_admin
def invoice(invoice_id: int) -> str:
    found = invoices.client_invoice(invoice_id)
    return render_template("billing/portal/invoice.html", invoice=found, view=_view(found))


@bp.route("/invoices/<int:invoice_id>/pdf")
@client_admin
def invoice_pdf(invoice_id: int) -> Response:
    return pdf_response(_view(invoices.client_invoice(invoice_id)))
