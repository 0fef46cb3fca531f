"""Who pays: each client's billing account (where invoices are mailed, the postal address printed on
them, how many days of grace dunning allows before suspension), and the Stripe customer and the
dunning state that hang off it.

One row per tenant, made when first needed: a tenant that never had an invoice pushed nor a
payment fail may have none yet. Pages read with `find_account`; what must record on the account
(Stripe, dunning) takes it with `account_for`, which creates it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from billing.models import BillingAccount
from core import audit
from core.auth.models import User
from core.auth.roles import Role
from core.errors import ValidationFailed
from core.extensions import db
from tickets.contacts import normalize_email

MAX_ADDRESS = 1000
MAX_GRACE_DAYS = 365


@dataclass
class AccountInput:
    billing_email: str = ""
    billing_address: str = ""
    dunning_grace_days: str = "14"


def find_account(tenant_id: int) -> BillingAccount | None:
    return db.session.scalar(select(BillingAccount).where(BillingAccount.tenant_id == tenant_id))


def account_for(tenant_id: int) -> BillingAccount:
    """The tenant's account (through the tenancy scope), created empty if it has none."""
    account = find_account(tenant_id)
    if account is None:
        account = BillingAccount(tenant_id=tenant_id)
        db.session.add(account)
        db.session.flush()
    return account


def account_input(account: BillingAccount | None) -> AccountInput:
    if account is None:
        return AccountInput()
    return AccountInput(account.billing_email, account.billing_address, str(account.dunning_grace_days))


def validate(data: AccountInput) -> dict[str, object]:
    errors: dict[str, str] = {}
    values: dict[str, object] = {}
    email = data.billing_email.strip()
    if email:
        try:
            email = normalize_email(email)
        except ValidationFailed:
            errors["billing_email"] = _("Must be a valid e-mail address.")
    values["billing_email"] = email
    address = data.billing_address.strip().replace("\r\n", "\n")
    if len(address) > MAX_ADDRESS:
        errors["billing_address"] = _("At most %(count)d characters.", count=MAX_ADDRESS)
    values["billing_address"] = address
    grace = data.dunning_grace_days.strip()
    if not grace.isascii() or not grace.isdigit() or len(grace) > 3 or int(grace) > MAX_GRACE_DAYS:
        errors["dunning_grace_days"] = _("Enter a whole number between 0 and %(max)d.", max=MAX_GRACE_DAYS)
    else:
        values["dunning_grace_days"] = int(grace)
    if errors:
        raise ValidationFailed(fields=errors)
    return values


def save_account(tenant_id: int, data: AccountInput) -> BillingAccount:
    values = validate(data)
    account = account_for(tenant_id)
    for name, value in values.items():
        setattr(account, name, value)
    db.session.flush()
    audit.record(
        "billing_account.saved", tenant_id=tenant_id, target=account, data={"email": account.billing_email}
    )
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
