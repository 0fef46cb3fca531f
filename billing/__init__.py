"""Plans, usage metering, invoices and Stripe.

The usage ledger records every billable piece of work (`billing.usage.record`, called by each
channel); the monthly run rates it against each client's plan into invoices (`invoice_run`,
`rating`); the provider admin manages them under /admin/billing, the client reads them in the
portal under /portal/billing.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from billing import cli, documents, jobs, labels, models, portal_views, views  # noqa: F401
    from core import nav
    from core.auth.roles import Role

    app.register_blueprint(views.bp)
    app.register_blueprint(portal_views.bp)
    app.cli.add_command(cli.group)
    nav.add_nav(_l("Billing"), "billing_admin.index", [Role.PROVIDER_ADMIN], order=80)
    nav.add_nav(_l("Invoices"), "billing_portal.index", [Role.CLIENT_ADMIN], order=14)
    app.add_template_filter(documents.cents, "cents")
    app.jinja_env.globals.update(
        invoice_status_label=labels.status_label,
        usage_unit_label=labels.usage_unit_label,
        month_label=labels.month_label,
    )
    _init_stripe(app)


def _init_stripe(app: Flask) -> None:
    """The Stripe push and webhook, dunning, and the provider admins' list of Stripe events."""
    from billing import dunning, invoices, stripe_admin, stripe_push, stripe_webhook
    from core import nav
    from core.auth.roles import Role
    from core.extensions import csrf

    app.register_blueprint(stripe_webhook.bp)
    app.register_blueprint(stripe_admin.bp)
    csrf.exempt(stripe_webhook.bp)  # authenticated by Stripe's signature instead
    for listeners, listener in (
        (invoices.finalized_listeners, stripe_push.queue_push),
        (invoices.paid_listeners, dunning.payment_received),
    ):
        if listener not in listeners:
            listeners.append(listener)
    nav.add_nav(_l("Stripe events"), "stripe_admin.events", [Role.PROVIDER_ADMIN], order=88)
