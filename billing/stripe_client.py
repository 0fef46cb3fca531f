"""The one place that knows how to reach Stripe: a `stripe.StripeClient` built from the config.

The library's own network retries are off: a failed call raises at once and the outbox retries
the whole push later with its backoff, so a retry is visible in the outbox and never blocks a
worker for long. `STRIPE_API_BASE` points the client at Stripe (the default) or, in tests, at the
local stand-in server.
"""

from __future__ import annotations

from typing import Any

import stripe
from flask import current_app


def configured() -> bool:
    """Stripe is used at all only with a secret key; without one, billing stays in-house."""
    return bool(current_app.config.get("STRIPE_SECRET_KEY"))


def client() -> stripe.StripeClient:
    """One client per configuration, kept on the app (a test may point the app elsewhere)."""
    config = current_app.config
    settings = (config["STRIPE_SECRET_KEY"], config["STRIPE_API_BASE"], float(config["STRIPE_TIMEOUT"]))
    cache: dict[tuple[Any, ...], stripe.StripeClient] = current_app.extensions.setdefault(
        "firstline_stripe", {}
    )
    found = cache.get(settings)
    if found is None:
        key, base, timeout = settings
        found = stripe.StripeClient(
            key,
            base_addresses={"api": base.rstrip("/")},
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=timeout),
        )
        cache.clear()
        cache[settings] = found
    return found
