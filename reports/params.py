"""Reading a report's question (date range, filters, clients) from a form or a query string,
and which clients an actor may ask about; shared by the dashboards, the CSV exports and the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.auth.models import User
from core.auth.roles import Role, assigned_tenant_ids
from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.extensions import db
from reports.facts import Filters
from reports.metrics import Query
from tenants import services as tenants
from tenants.models import Tenant
from tickets.models import Category, Channel

# Longest range a report covers: a rolling year and a bit (the monthly report compares two months).
MAX_DAYS = 400
PRESETS = ("7d", "30d", "90d", "365d", "this_month", "last_month")
DEFAULT_PRESET = "30d"


@dataclass(frozen=True)
class Params:
    query: Query
    preset: str | None  # the preset the range came from, if any


def reportable_tenant_ids(user: User) -> list[int]:
    """Provider admins report on every client, supervisors on those they supervise, a client's
    admins on their own company. Agents and experts see no reports."""
    role = user.role_enum
    if role is Role.PROVIDER_ADMIN:
        return list(db.session.scalars(select(Tenant.id).order_by(Tenant.name)))
    if role is Role.SUPERVISOR:
        return sorted(assigned_tenant_ids(user.id))
    if role is Role.CLIENT_ADMIN and user.tenant_id:
        return [user.tenant_id]
    raise PermissionDenied()


def portal_tenant(user: User, raw: str | None) -> Tenant:
    """The client of a portal report page named by `?tenant=` (tenants.services.portal_tenant);
    anything but an id there is a 404."""
    raw = (raw or "").strip()
    if raw and (not raw.isdigit() or len(raw) > 9):
        raise NotFound(_l("Not found."))
    return tenants.portal_tenant(user, int(raw) if raw else None)


def preset_range(preset: str, today: date) -> tuple[date, date]:
    if preset == "this_month":
        return today.replace(day=1), today
    if preset == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    days = int(preset.rstrip("d"))
    return today - timedelta(days=days - 1), today


def _date(value: str | None, field: str, errors: dict[str, object]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[field] = _l("Enter a date as YYYY-MM-DD.")
        return None


def _choice(args: Mapping[str, str], name: str, allowed: set[str], errors: dict[str, object]) -> str | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    if value not in allowed:
        errors[name] = _l("This is not one of the choices.")
        return None
    return value


def parse(args: Mapping[str, str], allowed_tenant_ids: list[int], today: date) -> Params:
    """The question in `args` (from, to or preset; tenant; channel, language, category, team,
    agent), limited to `allowed_tenant_ids`. Raises ValidationFailed with field messages."""
    errors: dict[str, object] = {}
    first, last = _date(args.get("from"), "from", errors), _date(args.get("to"), "to", errors)
    preset = args.get("preset") or None
    if preset and preset not in PRESETS:
        errors["preset"] = _l("This is not one of the choices.")
        preset = None
    if first is None and last is None and not errors:
        preset = preset or DEFAULT_PRESET
        first, last = preset_range(preset, today)
    elif first is None or last is None:
        first, last = first or last, last or first
        preset = None
    else:
        preset = None
    if first and last:
        if last < first:
            errors["to"] = _l("The end must not be before the start.")
        elif (last - first).days + 1 > MAX_DAYS:
            errors["to"] = _l("A report covers at most %(days)s days.", days=MAX_DAYS)
    tenant_ids = list(allowed_tenant_ids)
    raw_tenant = (args.get("tenant") or "").strip()
    if raw_tenant:
        if not raw_tenant.isdigit() or int(raw_tenant) not in allowed_tenant_ids:
            errors["tenant"] = _l("This is not one of the choices.")
        else:
            tenant_ids = [int(raw_tenant)]
    filters = Filters(
        channel=_choice(args, "channel", {c.value for c in Channel}, errors),
        language=_language(args, errors),
        category=_choice(args, "category", {c.value for c in Category}, errors),
        team=_id(args, "team", errors),
        agent=_id(args, "agent", errors),
    )
    if errors:
        raise ValidationFailed(fields=errors)
    if first is None or last is None:  # pragma: no cover - set above whenever there is no error
        raise ValidationFailed(fields={"from": _l("Enter a date as YYYY-MM-DD.")})
    return Params(Query(tuple(tenant_ids), first, last, filters), preset)


def _language(args: Mapping[str, str], errors: dict[str, object]) -> str | None:
    value = (args.get("language") or "").strip().lower()
    if not value:
        return None
    if not value.isalpha() or len(value) > 8:
        errors["language"] = _l("This is not one of the choices.")
        return None
    return value


def _id(args: Mapping[str, str], name: str, errors: dict[str, object]) -> str | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit():
        errors[name] = _l("This is not one of the choices.")
        return None
    return value
