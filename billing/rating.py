"""Rating: from a plan and one month's usage to invoice lines. Pure functions, no database.

The rules, as the invoice explains them:

- **Contract.** No invoice for a month the contract does not touch (it runs from `contract_start`
  to `contract_end`, both days included). In a month it only partly covers, the base fee is
  pro-rated by the days covered (12 of 30 days: 12/30 of the fee); the other prices apply to the
  usage as it comes.
- **Contacts** beyond the included volume are charged per contact.
- **Calls and chats** are charged per minute, rounded PER CALL (and per chat) to the billing
  increment: `up` bills every started increment, `nearest` rounds halves up. For calls the plan's
  after-call seconds are added to each call's talk time before it is rounded. A correction of a
  call is rounded together with the call it corrects when both fall in the month.
- **Agent time** is charged per hour, except time booked from a logged call (the call is billed
  by the minute already).
- **Escalations** per handoff; **extra languages** (the client's languages beyond the included
  number, the default language counting first) per language and month.
- **Out-of-hours surcharge**: a percentage of the out-of-hours share of the contact, call and
  chat charges, on its own line. The contact charge is shared out in proportion, so included
  contacts carry no surcharge.
- **Corrections** are ledger rows like any other: the quantities are net of them. A month's net
  count of contacts below zero (a correction of an earlier, finalized month) is credited.
- Amounts are in minor units; every product is rounded half up to a whole cent once, then
  summed. VAT is the plan's rate on the subtotal, rounded half up.

`billed_seconds` is the per-call rule; `billed_seconds_sql` is the same rule as a SQL expression,
for the monthly run that rounds two million rows in the database (a test holds them equal).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import case
from sqlalchemy.sql.elements import ColumnElement

from billing.models import Plan, Rounding
from billing.periods import days_in_month, month_start, next_month

QUANTUM = Decimal("0.001")


def half_up(value: Decimal | int) -> int:
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def billed_seconds(seconds: int, increment: int, rounding: str, after: int = 0) -> int:
    """One call's (or chat's) billed seconds: talk plus after-call work, in whole increments."""
    total = seconds + after
    if rounding == Rounding.UP:
        steps = -(-total // increment)  # ceiling, also for a negative correction
    elif total >= 0:
        steps = (2 * total + increment) // (2 * increment)
    else:
        steps = -((increment - 2 * total) // (2 * increment))
    return steps * increment


def billed_seconds_sql(
    total: ColumnElement[Any], increment: ColumnElement[Any], rounding: ColumnElement[Any]
) -> ColumnElement[Any]:
    """`billed_seconds` in SQL over integer columns (integer division truncates toward zero in
    PostgreSQL and SQLite alike, so each branch keeps its operands non-negative)."""
    up = case(
        (total > 0, (total + increment - 1) // increment),
        else_=-((-total) // increment),
    )
    nearest = case(
        (total >= 0, (2 * total + increment) // (2 * increment)),
        else_=-((increment - 2 * total) // (2 * increment)),
    )
    return case((rounding == Rounding.UP.value, up), else_=nearest) * increment


@dataclass
class Metered:
    """Calls or chats of a month: how many, and their billed seconds (already rounded per call)."""

    count: int = 0
    seconds: int = 0
    seconds_ooh: int = 0
    corrections: int = 0

    def add(self, seconds: int, plan: Plan, *, out_of_hours: bool = False, after: int = 0) -> None:
        """One call or chat, rounded by the plan's rule (what the monthly run does in SQL)."""
        billed = billed_seconds(seconds, plan.increment_seconds, plan.rounding, after)
        self.count += 1
        self.seconds += billed
        self.seconds_ooh += billed if out_of_hours else 0


@dataclass
class MonthUsage:
    """One client's month, net of corrections."""

    contacts: int = 0
    contacts_ooh: int = 0
    contact_corrections: int = 0
    calls: Metered = field(default_factory=Metered)
    chats: Metered = field(default_factory=Metered)
    agent_seconds: int = 0
    time_corrections: int = 0
    escalations: int = 0
    escalation_corrections: int = 0


@dataclass(frozen=True)
class Line:
    kind: str
    quantity: Decimal
    unit: str
    unit_price: int
    amount: int
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rated:
    lines: list[Line]
    subtotal: int
    vat_rate_bp: int
    vat_amount: int
    total: int


def contract_days(plan: Plan, period: date) -> int:
    """Days of the month `period` that the contract covers (0: no invoice for that month)."""
    first, last = month_start(period), next_month(period) - timedelta(days=1)
    start = max(plan.contract_start, first)
    end = min(plan.contract_end or last, last)
    return max(0, (end - start).days + 1)


def extra_languages(plan: Plan, languages: list[str], default_language: str) -> list[str]:
    """The client's languages beyond the included number; the default language is included first."""
    ordered = [default_language, *[code for code in languages if code != default_language]]
    return ordered[max(plan.included_languages, 0) :]


def _per(seconds: int, per: int, price: int) -> Decimal:
    return Decimal(seconds) * price / per


def _qty(seconds: int, per: int) -> Decimal:
    return (Decimal(seconds) / per).quantize(QUANTUM, rounding=ROUND_HALF_UP)


def _metered_line(kind: str, metered: Metered, price: int, plan: Plan, after: int) -> Line:
    data: dict[str, Any] = {
        "count": metered.count,
        "increment": plan.increment_seconds,
        "rounding": plan.rounding,
        "corrections": metered.corrections,
    }
    if after:
        data["after_call"] = after
    amount = half_up(_per(metered.seconds, 60, price))
    return Line(kind, _qty(metered.seconds, 60), "minute", price, amount, data)


def _base_fee(plan: Plan, period: date, days: int) -> Line:
    total = days_in_month(period)
    if days >= total:
        return Line("base_fee", Decimal(1), "month", plan.base_fee, plan.base_fee)
    fraction = Decimal(days) / total
    return Line(
        "base_fee",
        fraction.quantize(QUANTUM, rounding=ROUND_HALF_UP),
        "month",
        plan.base_fee,
        half_up(plan.base_fee * fraction),
        {"days": days, "of": total},
    )


def _contacts(plan: Plan, usage: MonthUsage) -> tuple[Line, Decimal]:
    """The contacts line, and the exact out-of-hours share of its amount."""
    net = usage.contacts
    billable = max(0, net - plan.included_contacts) if net >= 0 else net
    amount = billable * plan.price_per_contact
    share = Decimal(amount) * usage.contacts_ooh / net if net > 0 and amount else Decimal(0)
    data = {
        "handled": net,
        "included": plan.included_contacts,
        "out_of_hours": usage.contacts_ooh,
        "corrections": usage.contact_corrections,
    }
    return Line("contacts", Decimal(billable), "contact", plan.price_per_contact, amount, data), share


def rate(
    plan: Plan,
    usage: MonthUsage,
    period: date,
    *,
    languages: list[str] | None = None,
    default_language: str = "",
) -> Rated | None:
    """The lines and totals of one month; None when the contract does not cover it."""
    days = contract_days(plan, period)
    if days == 0:
        return None
    lines = [_base_fee(plan, period, days)]
    ooh = Decimal(0)
    if usage.contacts or usage.contact_corrections:
        line, share = _contacts(plan, usage)
        lines.append(line)
        ooh += share
    for kind, metered, price, after in (
        ("call_minutes", usage.calls, plan.call_minute_price, plan.after_call_seconds),
        ("chat_minutes", usage.chats, plan.chat_minute_price, 0),
    ):
        if metered.count or metered.seconds:
            lines.append(_metered_line(kind, metered, price, plan, after))
            ooh += _per(metered.seconds_ooh, 60, price)
    if usage.agent_seconds or usage.time_corrections:
        amount = half_up(_per(usage.agent_seconds, 3600, plan.agent_hour_price))
        data = {"seconds": usage.agent_seconds, "corrections": usage.time_corrections}
        lines.append(
            Line("agent_hours", _qty(usage.agent_seconds, 3600), "hour", plan.agent_hour_price, amount, data)
        )
    if usage.escalations or usage.escalation_corrections:
        lines.append(
            Line(
                "escalations",
                Decimal(usage.escalations),
                "escalation",
                plan.price_per_escalation,
                usage.escalations * plan.price_per_escalation,
                {"corrections": usage.escalation_corrections},
            )
        )
    extras = extra_languages(plan, languages or [], default_language)
    if extras and plan.extra_language_fee:
        lines.append(
            Line(
                "extra_languages",
                Decimal(len(extras)),
                "language",
                plan.extra_language_fee,
                len(extras) * plan.extra_language_fee,
                {"languages": extras},
            )
        )
    base = half_up(ooh)
    if plan.out_of_hours_surcharge_pct and base:
        pct = plan.out_of_hours_surcharge_pct
        lines.append(
            Line(
                "out_of_hours",
                Decimal(pct),
                "percent",
                base,
                half_up(Decimal(base) * pct / 100),
                {"base": base},
            )
        )
    subtotal = sum(line.amount for line in lines)
    vat = half_up(Decimal(subtotal) * plan.vat_rate_bp / 10000)
    return Rated(lines, subtotal, plan.vat_rate_bp, vat, subtotal + vat)
