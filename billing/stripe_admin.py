"""The provider admins' view of Stripe's events: what needs a person's attention comes first."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

from billing import stripe_client, stripe_events
from billing.models import StripeEventStatus
from billing.stripe_events import NOT_OURS, OLDER_THAN_PAYMENT, PAID_ALREADY
from core import nav
from core.auth.access import roles_required
from core.auth.roles import Role

bp = Blueprint("stripe_admin", __name__, template_folder="templates")

STATUS_LABELS = {
    StripeEventStatus.PROCESSED.value: _l("Processed"),
    StripeEventStatus.IGNORED.value: _l("Ignored"),
    StripeEventStatus.UNKNOWN_CUSTOMER.value: _l("Unknown customer"),
    StripeEventStatus.FAILED.value: _l("Refused"),
}

NOTE_LABELS = {
    NOT_OURS: _l("Not an invoice made by Firstline."),
    PAID_ALREADY: _l("The invoice was paid already."),
    OLDER_THAN_PAYMENT: _l("Older than the invoice's payment; dunning was not reopened."),
}


@bp.get("/admin/billing/stripe-events")
@roles_required(Role.PROVIDER_ADMIN)
def events() -> str:
    return render_template(
        "billing/stripe_events.html",
        events=stripe_events.recent(),
        tenant_names=dict(nav.tenant_choices()),
        status_labels=STATUS_LABELS,
        note_labels=NOTE_LABELS,
        configured=stripe_client.configured(),
    )
