"""The demo world. Loading it twice changes nothing (every record is looked up first)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from agents import services as agents
from core import tenancy
from core.auth import services as auth
from core.auth.models import User
from core.auth.roles import Role
from core.extensions import db
from tenants import services as tenants
from tenants.models import ChannelKind, Tenant

# For the demo database only; production accounts are made with `flask users create`.
DEMO_PASSWORD = "firstline-demo"

TENANTS = [
    tenants.TenantInput(
        slug="alpina",
        name="Alpina Haushaltgeräte AG",
        languages=["de", "en"],
        default_language="de",
        timezone="Europe/Zurich",
        currency="CHF",
        ticket_prefix="ALPINA",
        channels=[
            (ChannelKind.EMAIL, "support@alpina.example"),
            (ChannelKind.PHONE, "+41445550100"),
            (ChannelKind.FAX, "+41445550199"),
        ],
    ),
    tenants.TenantInput(
        slug="lumiere",
        name="Lumière Énergie SA",
        languages=["fr", "it", "en"],
        default_language="fr",
        timezone="Europe/Paris",
        currency="EUR",
        ticket_prefix="LUM",
        channels=[(ChannelKind.EMAIL, "support@lumiere.example"), (ChannelKind.PHONE, "+33155550100")],
    ),
]


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    role: Role
    tenant: str | None = None  # client staff: their company
    assigned: tuple[str, ...] = ()  # provider staff: the clients they serve
    languages: tuple[tuple[str, str], ...] = ()
    locale: str = "en"
    timezone: str = "Europe/Zurich"


USERS = [
    DemoUser("admin@firstline.example", "Petra Admin", Role.PROVIDER_ADMIN, locale="de"),
    DemoUser(
        "supervisor@firstline.example",
        "Samuel Keller",
        Role.SUPERVISOR,
        assigned=("alpina", "lumiere"),
        languages=(("de", "native"), ("en", "fluent"), ("fr", "fluent")),
        locale="de",
    ),
    DemoUser(
        "anna@firstline.example",
        "Anna Meier",
        Role.AGENT,
        assigned=("alpina",),
        languages=(("de", "native"), ("en", "fluent")),
        locale="de",
    ),
    DemoUser(
        "luca@firstline.example",
        "Luca Rossi",
        Role.AGENT,
        assigned=("alpina", "lumiere"),
        languages=(("it", "native"), ("fr", "fluent"), ("en", "fluent"), ("de", "basic")),
        locale="it",
    ),
    DemoUser(
        "claire@firstline.example",
        "Claire Dubois",
        Role.AGENT,
        assigned=("lumiere",),
        languages=(("fr", "native"), ("en", "fluent"), ("it", "basic")),
        locale="fr",
    ),
    DemoUser("admin@alpina.example", "Beat Brunner", Role.CLIENT_ADMIN, tenant="alpina", locale="de"),
    DemoUser("it@alpina.example", "Nina Huber", Role.CLIENT_EXPERT, tenant="alpina", locale="de"),
    DemoUser(
        "admin@lumiere.example",
        "Sophie Martin",
        Role.CLIENT_ADMIN,
        tenant="lumiere",
        locale="fr",
        timezone="Europe/Paris",
    ),
    DemoUser(
        "compta@lumiere.example",
        "Giulia Bianchi",
        Role.CLIENT_EXPERT,
        tenant="lumiere",
        locale="it",
        timezone="Europe/Paris",
    ),
]


def load() -> list[DemoUser]:
    """Create what is missing; the caller commits."""
    with tenancy.system_scope():
        by_slug: dict[str, Tenant] = {}
        for data in TENANTS:
            tenant = db.session.scalar(select(Tenant).where(Tenant.slug == data.slug))
            by_slug[data.slug] = tenant or tenants.create_tenant(data)
        for spec in USERS:
            user = db.session.scalar(select(User).where(User.email == spec.email))
            if user is not None:
                continue
            user = auth.create_user(
                email=spec.email,
                name=spec.name,
                role=spec.role,
                password=DEMO_PASSWORD,
                tenant_id=by_slug[spec.tenant].id if spec.tenant else None,
                locale=spec.locale,
                timezone=spec.timezone,
            )
            for slug in spec.assigned:
                agents.assign(user, by_slug[slug].id)
            if spec.languages:
                agents.set_languages(user, dict(spec.languages))
        db.session.flush()
    return USERS
