"""A client's billing account: one row per tenant, made when first needed.

Stripe and dunning both hang off it; a tenant that never had an invoice pushed nor a payment fail
may have none yet, so callers ask here instead of assuming the row exists.
"""

from __future__ import annotations

from sqlalchemy import select

from billing.models import BillingAccount
from core.auth.models import User
from core.auth.roles import Role
from core.extensions import db


def account_for(tenant_id: int) -> BillingAccount:
    """The tenant's account (through the tenancy scope), created empty if it has none."""
    account = db.session.scalar(select(BillingAccount).where(BillingAccount.tenant_id == tenant_id))
    if account is None:
        account = BillingAccount(tenant_id=tenant_id)
        db.session.add(account)
        db.session.flush()
    return account


def billing_recipients(account: BillingAccount) -> list[str]:
    """Who hears about money: the billing address first, then the client's active admins."""
    admins = db.session.scalars(
        select(User.email)
        .where(
            User.tenant_id == account.tenant_id,
            User.role == Role.CLIENT_ADMIN.value,
            User.is_active.is_(True),
        )
        .order_by(User.id)
    )
    found: list[str] = []
    for email in [account.billing_email, *admins]:
        email = (email or "").strip()
        if email and email.lower() not in {known.lower() for known in found}:
            found.append(email)
    return found
