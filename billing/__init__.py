"""Plans, usage metering, invoices and Stripe.

The capability arrives with the administration-and-billing issue; until then the package only
takes its place in the layout so that every channel can later record usage through it.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    return None
