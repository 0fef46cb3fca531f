"""The coverage warning: every 15 minutes, the next `COVERAGE_WARN_HOURS` hours are checked, and
each client language nobody covers in an hour is recorded once and mailed to the client's
supervisors (the provider admins when it has none).

"Once" is the unique (tenant, language, hour) key of `CoverageAlert`: rows are inserted with
ON CONFLICT DO NOTHING and only the rows this run inserted are mailed, so a second run, or a
second scheduler racing the first, sends nothing again. Each recipient gets one e-mail per run,
in their language and time zone, listing every new gap of every client they look after.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime, format_time
from flask import current_app, render_template
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from agents import coverage
from agents.models import AgentAssignment, CoverageAlert
from core import scheduler
from core.auth.models import User
from core.auth.roles import Role
from core.extensions import db
from core.i18n import locale_of
from core.mail import absolute_url, send_email
from core.models_base import utcnow
from tenants.models import Tenant

Alert = tuple[int, str, datetime]  # (tenant id, language, UTC hour)
# An alert only has to outlive the hour it is about (so that it is not sent again); a week more
# keeps it for a supervisor asking "were we warned?", then it goes.
ALERTS_KEPT = timedelta(days=7)


def _record(uncovered: list[Alert], now: datetime) -> list[Alert]:
    """Insert the alerts; return those that were not recorded before (by this run or another)."""
    if not uncovered:
        return []
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(CoverageAlert)
        .values(
            [
                {"tenant_id": t, "language": lang, "hour": hour, "created_at": now}
                for t, lang, hour in uncovered
            ]
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "language", "hour"])
        .returning(CoverageAlert.tenant_id, CoverageAlert.language, CoverageAlert.hour)
    )
    return [(t, lang, hour) for t, lang, hour in db.session.execute(statement)]


def _merge(alerts: list[Alert], tenants: dict[int, Tenant]) -> dict[int, list[coverage.Gap]]:
    """Per tenant, the alerted hours merged into gaps."""
    hours: dict[tuple[int, str], list[datetime]] = defaultdict(list)
    for tenant_id, language, hour in alerts:
        hours[(tenant_id, language)].append(hour)
    merged: dict[int, list[coverage.Gap]] = defaultdict(list)
    for (tenant_id, language), found in sorted(hours.items()):
        found.sort()
        begin = end = found[0]
        for hour in found[1:]:
            if hour != end + coverage.HOUR:
                merged[tenant_id].append(
                    coverage.Gap(tenants[tenant_id], language, begin, end + coverage.HOUR)
                )
                begin = hour
            end = hour
        merged[tenant_id].append(coverage.Gap(tenants[tenant_id], language, begin, end + coverage.HOUR))
    return merged


def _recipients(tenant_ids: list[int]) -> dict[int, list[User]]:
    """Per tenant, its active supervisors; the active provider admins for a tenant without any."""
    found: dict[int, list[User]] = defaultdict(list)
    for tenant_id, user in db.session.execute(
        select(AgentAssignment.tenant_id, User)
        .join(User, User.id == AgentAssignment.user_id)
        .where(
            AgentAssignment.tenant_id.in_(tenant_ids),
            User.role == Role.SUPERVISOR.value,
            User.is_active.is_(True),
        )
        .order_by(User.id)
    ):
        found[tenant_id].append(user)
    orphans = [t for t in tenant_ids if not found[t]]
    if orphans:
        admins = list(
            db.session.scalars(
                select(User)
                .where(User.role == Role.PROVIDER_ADMIN.value, User.is_active.is_(True))
                .order_by(User.id)
            )
        )
        for tenant_id in orphans:
            found[tenant_id] = admins
    return found


def _mail(user: User, gaps: list[coverage.Gap]) -> None:
    config = current_app.config
    locale = locale_of(user)
    zone = ZoneInfo(user.timezone or config["BABEL_DEFAULT_TIMEZONE"])
    names = Locale.parse(locale).languages
    gaps = sorted(gaps, key=lambda gap: (gap.starts, gap.tenant.name, gap.language))
    with force_locale(locale):
        lines = [
            _(
                "%(client)s, %(language)s: %(start)s to %(end)s",
                client=gap.tenant.name,
                language=names.get(gap.language, gap.language),
                start=format_datetime(gap.starts, "short", tzinfo=zone, locale=locale),
                end=format_time(gap.ends, "short", tzinfo=zone, locale=locale),
            )
            for gap in gaps
        ]
        subject = ngettext(
            "Coverage gap: %(num)d language uncovered soon",
            "Coverage gaps: %(num)d languages uncovered soon",
            len({(gap.tenant.id, gap.language) for gap in gaps}),
        )
        text = render_template(
            "agents/email/coverage_gaps.txt",
            user=user,
            lines=lines,
            zone=str(zone),
            url=absolute_url("agent.coverage_page"),
        )
    send_email(
        to=user.email,
        subject=subject,
        text=text,
        tenant_id=None,
        headers={"Auto-Submitted": "auto-generated"},
    )


def _notify(alerts: list[Alert]) -> int:
    """One e-mail per recipient, listing the new gaps of every client they are warned for."""
    tenant_ids = sorted({tenant_id for tenant_id, _lang, _hour in alerts})
    tenants = {t.id: t for t in db.session.scalars(select(Tenant).where(Tenant.id.in_(tenant_ids)))}
    gaps = _merge(alerts, tenants)
    inbox: dict[int, tuple[User, list[coverage.Gap]]] = {}
    for tenant_id, users in _recipients(tenant_ids).items():
        for user in users:
            inbox.setdefault(user.id, (user, []))[1].extend(gaps[tenant_id])
    for user, found in inbox.values():
        _mail(user, found)
    return len(inbox)


def sweep(now: datetime | None = None) -> int:
    """Record and mail the gaps of the coming hours (system scope); returns the new alerts."""
    now = now or utcnow()
    ahead = timedelta(hours=int(current_app.config.get("COVERAGE_WARN_HOURS", 2)))
    first = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    found = coverage.grid(
        ZoneInfo("UTC"), now=now, hours=max(math.ceil((now + ahead - first) / coverage.HOUR), 1)
    )
    uncovered = [
        (row.tenant.id, row.language, hour)
        for row in found.rows
        for hour, cell in zip(found.hours, row.cells, strict=True)
        if cell.count == 0
    ]
    fresh = _record(uncovered, now)
    if fresh:
        _notify(fresh)
    db.session.execute(delete(CoverageAlert).where(CoverageAlert.hour < first - ALERTS_KEPT))
    db.session.flush()
    return len(fresh)


@scheduler.periodic("agents.coverage_sweep", every=timedelta(minutes=15))
def coverage_sweep(tenant_id: None, now: datetime | None = None) -> int:
    return sweep(now)
