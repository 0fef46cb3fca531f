"""The demo clients' business calendars and SLA policies. Idempotent: looked up by name first.

Alpina counts its targets in Zurich office hours (Monday to Friday, 08:00-18:00, the public
holidays of the canton of Zurich) and raises the priority of a ticket on its first breach;
Lumière in Paris office hours with the French holidays, plus a faster policy for outages.
"""

from __future__ import annotations

from sqlalchemy import select

from core import tenancy
from core.extensions import db
from sla import calendars, policies
from sla.models import BusinessCalendar, SlaPolicy
from tenants.models import Tenant
from tickets.models import Category

WEEKDAYS = range(5)
CALENDARS = {
    "alpina": ("Bürozeiten Zürich", "Europe/Zurich", "08:00-18:00", "CH", "ZH"),
    "lumiere": ("Heures de bureau", "Europe/Paris", "09:00-12:30, 13:30-18:00", "FR", None),
}
STANDARD = {
    "first_response": {"urgent": 30, "high": 60, "normal": 240, "low": 480},
    "next_response": {"urgent": 60, "high": 120, "normal": 480, "low": 960},
    "resolution": {"urgent": 240, "high": 960, "normal": 2400, "low": 4800},
}
# slug, name, category, targets, raise priority on breach
POLICIES = [
    ("alpina", "Standard", None, STANDARD, True),
    ("lumiere", "Standard", None, STANDARD, False),
    (
        "lumiere",
        "Pannes",
        Category.OUTAGE.value,
        {"first_response": {"urgent": 15, "high": 30, "normal": 60, "low": 120}},
        True,
    ),
]


def _calendar(tenant: Tenant) -> BusinessCalendar | None:
    spec = CALENDARS.get(tenant.slug)
    if spec is None:
        return None
    name, zone, hours, country, subdivision = spec
    existing = db.session.scalar(
        select(BusinessCalendar).where(BusinessCalendar.tenant_id == tenant.id, BusinessCalendar.name == name)
    )
    return existing or calendars.create(
        calendars.CalendarInput(
            tenant_id=tenant.id,
            name=name,
            timezone=zone,
            hours={str(day): hours for day in WEEKDAYS},
            holiday_country=country,
            holiday_subdivision=subdivision,
        )
    )


def seed(by_slug: dict[str, Tenant]) -> None:
    """Give each demo client its calendar and policies; the caller commits. Call it before the
    demo contacts are processed (before the commit that runs the intake), so that their tickets
    are counted in the business calendars."""
    with tenancy.system_scope():
        calendar_ids = {slug: getattr(_calendar(tenant), "id", None) for slug, tenant in by_slug.items()}
        for position, (slug, name, category, targets, raise_priority) in enumerate(POLICIES):
            tenant = by_slug.get(slug)
            if tenant is None:
                continue
            exists = db.session.scalar(
                select(SlaPolicy.id).where(SlaPolicy.tenant_id == tenant.id, SlaPolicy.name == name)
            )
            if exists is None:
                policies.create(
                    policies.PolicyInput(
                        tenant_id=tenant.id,
                        name=name,
                        position=position,
                        category=category,
                        calendar_id=calendar_ids.get(slug),
                        targets=targets,
                        raise_priority=raise_priority,
                    )
                )
        db.session.flush()
