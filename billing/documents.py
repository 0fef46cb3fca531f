"""An invoice as a reader sees it: the texts in the reader's language, the amounts and dates as the
invoice states them, formatted by Babel in the client's locale (`Invoice.locale`: its language,
with Swiss conventions for francs) and currency, dates in the client's time zone. The HTML page,
the PDF and the portal's estimate all render from this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from flask import current_app
from flask_babel import force_locale, get_locale

from billing import labels
from billing.invoice_run import invoice_locale
from billing.models import BillingAccount, Invoice, InvoiceLine
from billing.periods import next_month
from billing.rating import Line
from tenants.models import Tenant


@dataclass(frozen=True)
class LineView:
    title: str
    details: list[str]
    quantity: str
    unit: str
    unit_price: str
    amount: str


@dataclass(frozen=True)
class InvoiceView:
    language: str
    number: str
    status: str
    status_label: str
    client: str
    address: str
    period: str
    issued: str
    due: str
    paid: str
    lines: list[LineView]
    subtotal: str
    vat_label: str
    vat: str
    total: str
    note: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def issuer_name() -> str:
    """Who issues the invoices: the display name of the platform's sender address."""
    return parseaddr(current_app.config["MAIL_FROM"])[0] or "Firstline"


def reader_language() -> str:
    return str(get_locale() or "en").split("_")[0]


def money_formatter(locale: str, currency: str) -> Callable[[int], str]:
    """Amounts in minor units as `locale` writes them in `currency`."""

    def money(minor: int) -> str:
        return format_currency(Decimal(minor) / 100, currency, locale=locale)

    return money


def cents(minor: int, currency: str) -> str:
    """The `cents` template filter: an amount in the reader's language (lists and reports)."""
    return money_formatter(invoice_locale(reader_language(), currency), currency)(minor)


def _local_date(value: datetime | date | None, zone: ZoneInfo, locale: str) -> str:
    if value is None:
        return ""
    day = value.astimezone(zone).date() if isinstance(value, datetime) else value
    return format_date(day, "long", locale=locale)


def _line_view(line: Line | InvoiceLine, money: Callable[[int], str], locale: str) -> LineView:
    if line.unit == "percent":
        quantity = format_decimal(line.quantity, locale=locale) + " %"
    else:
        quantity = format_decimal(line.quantity.normalize() if line.quantity else 0, locale=locale)
    return LineView(
        title=labels.line_title(line.kind),
        details=labels.line_details(line.kind, line.data or {}, money),
        quantity=quantity,
        unit=labels.unit_label(line.unit),
        unit_price=money(line.unit_price),
        amount=money(line.amount),
    )


def line_views(
    lines: list[Line] | list[InvoiceLine], currency: str, locale: str, language: str
) -> list[LineView]:
    money = money_formatter(locale, currency)
    with force_locale(language):
        return [_line_view(line, money, locale) for line in lines]


def present(
    invoice: Invoice,
    lines: list[InvoiceLine],
    tenant: Tenant,
    account: BillingAccount | None,
    language: str | None = None,
) -> InvoiceView:
    """The invoice with its texts in `language` (the reader's by default)."""
    language = language or reader_language()
    locale = invoice.locale
    money = money_formatter(locale, invoice.currency)
    zone = ZoneInfo(tenant.timezone)
    last_day = next_month(invoice.period_start).toordinal() - 1
    with force_locale(language):
        vat_percent = format_decimal(Decimal(invoice.vat_rate_bp) / 100, locale=locale)
        return InvoiceView(
            language=language,
            number=invoice.number,
            status=invoice.status,
            status_label=labels.status_label(invoice.status),
            client=tenant.name,
            address=account.billing_address if account else "",
            period=labels.period_text(
                format_date(invoice.period_start, "long", locale=locale),
                format_date(date.fromordinal(last_day), "long", locale=locale),
            ),
            issued=_local_date(invoice.finalized_at, zone, locale),
            due=_local_date(invoice.due_at, zone, locale),
            paid=_local_date(invoice.paid_at, zone, locale),
            lines=[_line_view(line, money, locale) for line in lines],
            subtotal=money(invoice.subtotal),
            vat_label=labels.vat_text(vat_percent),
            vat=money(invoice.vat_amount),
            total=money(invoice.total),
            note=invoice.payment_note,
        )
