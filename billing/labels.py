"""Translatable names for invoice states, usage kinds and units, and the texts of invoice lines.

A line's text is built here from its `kind` and `data` when it is read, in the reader's language
(the current locale): every text is one whole sentence or name, never glued from fragments.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.dates import format_skeleton
from babel.lists import format_list
from flask_babel import format_decimal, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from billing.models import Rounding

STATUS_LABELS = {
    "draft": _l("Draft"),
    "finalized": _l("Finalized"),
    "sent": _l("Sent"),
    "paid": _l("Paid"),
    "overdue": _l("Overdue"),
    "void": _l("Void"),
}
USAGE_KIND_LABELS = {
    "contact": _l("Contacts"),
    "time": _l("Agent time"),
    "call": _l("Phone calls"),
    "chat": _l("Live chats"),
    "escalation": _l("Escalations"),
}
# The unit of a ledger row's quantity (counted kinds have none: the number is the count).
USAGE_UNIT_LABELS = {"time": _l("s"), "call": _l("s"), "chat": _l("s")}
UNIT_LABELS = {
    "contact": _l("contacts"),
    "time": _l("seconds"),
    "call": _l("seconds"),
    "chat": _l("seconds"),
    "escalation": _l("handoffs"),
}
UNIT_LABELS = {
    "month": _l("Month"),
    "contact": _l("Contact"),
    "minute": _l("Minute"),
    "hour": _l("Hour"),
    "escalation": _l("Escalation"),
    "language": _l("Language"),
    "percent": _l("Percent"),
}
LINE_TITLES = {
    "base_fee": _l("Monthly base fee"),
    "contacts": _l("Contacts beyond the included volume"),
    "call_minutes": _l("Phone call minutes"),
    "chat_minutes": _l("Live chat minutes"),
    "agent_hours": _l("Agent hours"),
    "escalations": _l("Escalations to your teams"),
    "extra_languages": _l("Additional languages"),
    "out_of_hours": _l("Surcharge for contacts outside business hours"),
}


# The plan's fields as both plan forms label them (the provider's plan page and the onboarding
# wizard's plan step).
PLAN_LABELS = {
    "name": _l("Name of the plan"),
    "contract_start": _l("Contract starts"),
    "contract_end": _l("Contract ends (last day, empty when open-ended)"),
    "payment_terms_days": _l("Payment terms in days"),
    "vat_percent": _l("VAT in percent"),
    "base_fee": _l("Monthly base fee"),
    "included_contacts": _l("Contacts included per month"),
    "price_per_contact": _l("Price per contact beyond the included ones"),
    "call_minute_price": _l("Price per phone minute"),
    "chat_minute_price": _l("Price per chat minute"),
    "increment_seconds": _l("Billing increment in seconds"),
    "rounding": _l("Rounding of each call and chat"),
    "after_call_seconds": _l("After-call work in seconds, added to each call"),
    "agent_hour_price": _l("Price per agent hour"),
    "price_per_escalation": _l("Price per escalation"),
    "included_languages": _l("Languages included"),
    "extra_language_fee": _l("Monthly fee per additional language"),
    "out_of_hours_surcharge_pct": _l("Surcharge outside business hours in percent"),
}
ROUNDING_LABELS = {
    Rounding.UP.value: _l("Every started increment"),
    Rounding.NEAREST.value: _l("To the nearest increment"),
}


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def usage_kind_label(kind: str) -> str:
    return str(USAGE_KIND_LABELS.get(kind, kind))


def usage_unit_label(kind: str) -> str:
    return str(USAGE_UNIT_LABELS.get(kind, ""))


def unit_label(unit: str) -> str:
    return str(UNIT_LABELS.get(unit, unit))


def line_title(kind: str) -> str:
    return str(LINE_TITLES.get(kind, kind))


def _rounding(data: dict[str, Any]) -> str:
    increment = int(data.get("increment") or 60)
    if data.get("rounding") == Rounding.NEAREST.value:
        return ngettext(
            "Billed per second, rounded to the nearest.",
            "Billed in %(num)d-second increments, rounded to the nearest.",
            increment,
        )
    return ngettext(
        "Billed per started second.",
        "Billed per started increment of %(num)d seconds.",
        increment,
    )


def _corrections(data: dict[str, Any]) -> list[str]:
    count = int(data.get("corrections") or 0)
    return [ngettext("Includes %(num)d correction.", "Includes %(num)d corrections.", count)] if count else []


def line_details(kind: str, data: dict[str, Any], money: Any = None) -> list[str]:
    """The sentences under a line's title. `money` formats an amount in minor units (for the
    surcharge's base)."""
    data = data or {}
    details: list[str] = []
    if kind == "base_fee" and data.get("days"):
        details.append(
            _("%(days)d of %(total)d days under contract this month.", days=data["days"], total=data["of"])
        )
    elif kind == "contacts":
        details.append(
            _(
                "%(handled)s contacts handled, %(included)s included in the plan.",
                handled=format_decimal(data.get("handled", 0)),
                included=format_decimal(data.get("included", 0)),
            )
        )
    elif kind == "call_minutes":
        count = int(data.get("count") or 0)
        details.append(ngettext("%(num)d call.", "%(num)d calls.", count))
        details.append(_rounding(data))
        if data.get("after_call"):
            details.append(
                _("%(seconds)d seconds of after-call work added to each call.", seconds=data["after_call"])
            )
    elif kind == "chat_minutes":
        count = int(data.get("count") or 0)
        details.append(ngettext("%(num)d chat.", "%(num)d chats.", count))
        details.append(_rounding(data))
    elif kind == "agent_hours":
        details.append(_("Time booked on tickets, without the time of logged calls."))
    elif kind == "extra_languages":
        names = [str(get_locale().languages.get(code, code)) for code in data.get("languages", [])]
        details.append(format_list(names, locale=get_locale()))
    elif kind == "out_of_hours" and money is not None and data.get("base") is not None:
        details.append(_("On %(amount)s of usage outside business hours.", amount=money(data["base"])))
    return details + _corrections(data)


def period_text(first: str, last: str) -> str:
    return _("%(first)s to %(last)s", first=first, last=last)


def vat_text(percent: str) -> str:
    return _("VAT %(percent)s %%", percent=percent)


def month_label(period: date) -> str:
    """ "November 2026" in the reader's language."""
    return format_skeleton("yMMMM", period, locale=get_locale())
