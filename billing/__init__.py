"""Plans, usage metering, invoices and Stripe.

The usage ledger is here already (every intake and every booked minute records into it); plans,
invoices and Stripe arrive with the administration-and-billing issue.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from billing import models  # noqa: F401  (the ledger's table joins the metadata)

    _init_stripe(app)


def _init_stripe(app: Flask) -> None:
    """The Stripe push and webhook, dunning, and the provider admins' list of Stripe events."""
    from flask_babel import lazy_gettext as _l

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
