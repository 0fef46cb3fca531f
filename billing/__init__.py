"""Plans, usage metering, invoices and Stripe.

The usage ledger is here already (every intake and every booked minute records into it); plans,
invoices and Stripe arrive with the administration-and-billing issue.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from billing import models  # noqa: F401  (the ledger's table joins the metadata)
