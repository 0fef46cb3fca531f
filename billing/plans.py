"""Each client's plan: validation and saving. Prices are entered in major units (12.50) and kept
in minor units (1250); a plan with a negative or absurd value is refused field by field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import select

from billing.models import Plan, Rounding
from core import audit
from core.errors import ValidationFailed
from core.extensions import db
from tenants.models import Tenant

MAX_PRICE = Decimal("1000000")  # per unit or per month, in major units
MAX_COUNT = 10_000_000
MAX_INCREMENT = 3600
MAX_AFTER_CALL = 3600
MAX_SURCHARGE = 500
MAX_VAT_PERCENT = Decimal("50")
MAX_TERMS = 365
FIRST_YEAR, LAST_YEAR = 2000, 2100
WHOLE_RE = re.compile(r"^[0-9]{1,9}$")  # ASCII digits only: int() of "²" or of 5000 digits raises
# Fields entered as money (major units) and kept in minor units.
MONEY = (
    "base_fee",
    "price_per_contact",
    "call_minute_price",
    "chat_minute_price",
    "agent_hour_price",
    "extra_language_fee",
    "price_per_escalation",
)
# Whole numbers with their upper bound.
COUNTS = {
    "included_contacts": MAX_COUNT,
    "increment_seconds": MAX_INCREMENT,
    "after_call_seconds": MAX_AFTER_CALL,
    "out_of_hours_surcharge_pct": MAX_SURCHARGE,
    "included_languages": 50,
    "payment_terms_days": MAX_TERMS,
}


@dataclass
class PlanInput:
    """What a plan form or the onboarding wizard submits, as text."""

    name: str = ""
    base_fee: str = "0"
    included_contacts: str = "0"
    price_per_contact: str = "0"
    call_minute_price: str = "0"
    chat_minute_price: str = "0"
    agent_hour_price: str = "0"
    increment_seconds: str = "60"
    rounding: str = Rounding.UP.value
    after_call_seconds: str = "0"
    out_of_hours_surcharge_pct: str = "0"
    included_languages: str = "1"
    extra_language_fee: str = "0"
    price_per_escalation: str = "0"
    vat_percent: str = "0"
    payment_terms_days: str = "30"
    contract_start: str = ""
    contract_end: str = ""

    @classmethod
    def from_form(cls, form: Mapping[str, str], prefix: str = "") -> PlanInput:
        return cls(**{f.name: str(form.get(prefix + f.name, f.default)).strip() for f in fields(cls)})

    @classmethod
    def of(cls, plan: Plan) -> PlanInput:
        """A saved plan as a form shows it (money in major units)."""
        values = {name: f"{Decimal(getattr(plan, name)) / 100:.2f}" for name in MONEY}
        values.update({name: str(getattr(plan, name)) for name in COUNTS})
        return cls(
            name=plan.name,
            rounding=plan.rounding,
            vat_percent=str(Decimal(plan.vat_rate_bp) / 100),
            contract_start=plan.contract_start.isoformat(),
            contract_end=plan.contract_end.isoformat() if plan.contract_end else "",
            **values,
        )


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace("'", "").replace(",", ".") or "0")
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _date(text: str) -> date | None:
    """An ISO date in a plausible range (a contract of the year 1 is a typing error)."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return None
    return day if FIRST_YEAR <= day.year <= LAST_YEAR else None


def validate(data: PlanInput) -> dict[str, object]:
    """The plan's column values; raises ValidationFailed naming every field that is wrong."""
    errors: dict[str, str] = {}
    values: dict[str, object] = {"name": data.name.strip()}
    if not values["name"]:
        errors["name"] = _("Give the plan a name.")
    elif len(str(values["name"])) > 100:
        errors["name"] = _("At most %(count)d characters.", count=100)
    for name in MONEY:
        amount = _decimal(getattr(data, name))
        if amount is None:
            errors[name] = _("Enter an amount, such as 12.50.")
        elif not Decimal(0) <= amount <= MAX_PRICE:
            errors[name] = _("Enter an amount between 0 and %(max)s.", max=format_decimal(MAX_PRICE))
        elif amount != amount.quantize(Decimal("0.01")):
            errors[name] = _("Amounts have at most two decimals.")
        else:
            values[name] = int(amount * 100)
    for name, upper in COUNTS.items():
        text = getattr(data, name).strip()
        if not WHOLE_RE.match(text) or int(text) > upper:
            errors[name] = _("Enter a whole number between 0 and %(max)d.", max=upper)
        else:
            values[name] = int(text)
    if "increment_seconds" in values and values["increment_seconds"] == 0:
        errors["increment_seconds"] = _("The billing increment is at least one second.")
    if data.rounding not in {r.value for r in Rounding}:
        errors["rounding"] = _("Choose how started increments are rounded.")
    values["rounding"] = data.rounding
    vat = _decimal(data.vat_percent)
    if vat is None or not Decimal(0) <= vat <= MAX_VAT_PERCENT or vat != vat.quantize(Decimal("0.01")):
        errors["vat_percent"] = _(
            "Enter a VAT rate between 0 and %(max)s %%.", max=format_decimal(MAX_VAT_PERCENT)
        )
    else:
        values["vat_rate_bp"] = int(vat * 100)
    start = _date(data.contract_start)
    if start is None:
        errors["contract_start"] = _(
            "Enter the date the contract starts, between %(first)d and %(last)d.",
            first=FIRST_YEAR,
            last=LAST_YEAR,
        )
    values["contract_start"] = start
    end = _date(data.contract_end) if data.contract_end.strip() else None
    if data.contract_end.strip() and end is None:
        errors["contract_end"] = _("Enter a date, or leave it empty for an open-ended contract.")
    elif start and end and end <= start:
        errors["contract_end"] = _("The contract must end after it starts.")
    values["contract_end"] = end
    if errors:
        raise ValidationFailed(fields=errors)
    return values


def plan_for(tenant_id: int) -> Plan | None:
    return db.session.scalar(select(Plan).where(Plan.tenant_id == tenant_id))


def save_plan(tenant: Tenant, data: PlanInput) -> Plan:
    """Create or change the tenant's plan; invoices already built keep the prices they used."""
    values = validate(data)
    plan = plan_for(tenant.id)
    if plan is None:
        plan = Plan(tenant_id=tenant.id)
        db.session.add(plan)
    for name, value in values.items():
        setattr(plan, name, value)
    db.session.flush()
    audit.record("plan.saved", tenant_id=tenant.id, target=plan, data={"name": plan.name})
    return plan
