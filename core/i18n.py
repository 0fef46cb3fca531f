"""Which language and time zone a request is served in, and the Babel formatting filters.

Order: the signed-in user's profile, then a language the visitor picked with the switcher,
then the tenant's default on its public pages, then the browser's Accept-Language.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel import dates as babel_dates
from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import (
    format_currency,
    format_date,
    format_datetime,
    format_decimal,
    get_locale,
    get_timezone,
)
from flask_login import current_user

from core import nav
from core.extensions import babel
from core.models_base import utcnow

LANGUAGE_NAMES = {"en": "English", "de": "Deutsch", "fr": "Français", "it": "Italiano"}


def select_locale() -> str:
    supported = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    user = current_user
    if user and user.is_authenticated and user.locale in supported:
        return str(user.locale)
    chosen = session.get("locale")
    if chosen in supported:
        return str(chosen)
    tenant_locale = g.get("tenant_locale")
    if tenant_locale in supported:
        return str(tenant_locale)
    return request.accept_languages.best_match(supported) or current_app.config["BABEL_DEFAULT_LOCALE"]


def locale_of(user: Any, fallback: str | None = None) -> str:
    """The language to write to `user` in where no request says it (mails from jobs and sweeps):
    their own, else `fallback` (say, the client's language), else the platform's default."""
    supported = current_app.config["LANGUAGES"]
    for candidate in (user.locale, fallback):
        if candidate in supported:
            return str(candidate)
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def select_timezone() -> str:
    if has_request_context():
        user = current_user
        if user and user.is_authenticated and user.timezone:
            return str(user.timezone)
        if g.get("tenant_timezone"):
            return str(g.tenant_timezone)
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def _datetime(value: datetime | None, fmt: str = "medium") -> str:
    """Babel's formatting in the reader's locale and zone, the zone looked up once per request
    (a page of 50 tickets formats 50 dates)."""
    if value is None:
        return ""
    if not has_request_context():
        return format_datetime(value, fmt)
    if "_reader_timezone" not in g:
        g._reader_timezone = get_timezone()
    return babel_dates.format_datetime(value, fmt, tzinfo=g._reader_timezone, locale=get_locale())


def _date(value: date | datetime | None, fmt: str = "medium") -> str:
    return "" if value is None else format_date(value, fmt)


def _number(value: int | float | Decimal | None) -> str:
    return "" if value is None else format_decimal(value)


def _money(value: int | float | Decimal | None, currency: str) -> str:
    return "" if value is None else format_currency(value, currency)


def language_name(code: str) -> str:
    """A language's name in the reader's language (Babel's CLDR data)."""
    return str(get_locale().languages.get(code, code))


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.add_template_filter(_datetime, "datetime")
    app.add_template_filter(_date, "date")
    app.add_template_filter(_number, "number")
    app.add_template_filter(_money, "money")
    app.add_template_filter(language_name, "language_name")
    app.jinja_env.globals.update(
        get_locale=get_locale,
        current_timezone=get_timezone,
        now=utcnow,
        LANGUAGE_NAMES=LANGUAGE_NAMES,
        nav_items=nav.nav_items,
    )
