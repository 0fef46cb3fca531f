"""The demo world. Loading it twice changes nothing (every record is looked up first)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from agents import routing
from agents import services as agents
from agents.models import AgentPresence, Presence
from core import tenancy
from core.auth import services as auth
from core.auth.models import User
from core.auth.roles import Role
from core.extensions import db
from demo import knowledge as demo_knowledge
from tenants import services as tenants
from tenants.models import ChannelKind, Tenant
from tickets import intake, macros
from tickets.models import Channel, Macro

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
            (ChannelKind.CHAT, "alpina-demo-chat"),
        ],
        greetings={
            "de": "Grüezi, hier ist der Kundendienst von Alpina Haushaltgeräte.",
            "en": "Hello, this is Alpina Home Appliances customer service.",
        },
        signatures={
            "de": "Freundliche Grüsse\nIhr Alpina Kundendienst\n+41 44 555 01 00",
            "en": "Kind regards\nYour Alpina customer service\n+41 44 555 01 00",
        },
        call_scripts={
            "de": "1. Begrüssen: «Alpina Kundendienst, Sie sprechen mit …»\n2. Seriennummer (Typenschild"
            " an der Türinnenseite) und Kaufdatum aufnehmen.\n3. Garantie: 2 Jahre ab Kaufdatum.\n"
            "4. Techniker-Einsatz nur nach Rücksprache mit dem 2nd Level.",
            "en": "1. Greet: 'Alpina customer service, you are speaking with ...'\n2. Take the serial"
            " number (rating plate inside the door) and the purchase date.\n3. Warranty: 2 years from"
            " purchase.\n4. Technician visits only after checking with 2nd level.",
        },
    ),
    tenants.TenantInput(
        slug="lumiere",
        name="Lumière Énergie SA",
        languages=["fr", "it", "en"],
        default_language="fr",
        timezone="Europe/Paris",
        currency="EUR",
        ticket_prefix="LUM",
        channels=[
            (ChannelKind.EMAIL, "support@lumiere.example"),
            (ChannelKind.PHONE, "+33155550100"),
            (ChannelKind.CHAT, "lumiere-demo-chat"),
        ],
        greetings={
            "fr": "Bonjour, service client de Lumière Énergie, que puis-je faire pour vous ?",
            "it": "Buongiorno, servizio clienti di Lumière Énergie, come posso aiutarla?",
            "en": "Hello, Lumière Énergie customer service, how can I help?",
        },
        signatures={
            "fr": "Cordialement,\nLe service client Lumière Énergie",
            "it": "Cordiali saluti,\nIl servizio clienti Lumière Énergie",
        },
        call_scripts={
            "fr": "1. Saluer et demander le numéro de contrat.\n2. Vérifier l'adresse de fourniture"
            " d'énergie.\n3. Panne : consulter la carte des coupures avant d'escalader.",
            "it": "1. Salutare e chiedere il numero di contratto.\n2. Verificare l'indirizzo di"
            " fornitura.\n3. Guasto: consultare la mappa delle interruzioni prima di inoltrare.",
        },
    ),
]

# Contacts as the demo's first morning brought them in: (tenant, channel key, name, e-mail, subject, body).
CONTACTS = [
    (
        "alpina",
        "demo-1",
        "Hans Muster",
        "hans.muster@example.com",
        "Geschirrspüler startet nicht",
        "Guten Tag, mein Geschirrspüler GS-450 startet seit gestern nicht mehr. Die Anzeige blinkt rot.",
    ),
    (
        "alpina",
        "demo-2",
        "Emily Clarke",
        "emily.clarke@example.com",
        "Invoice shows the wrong amount",
        "Hello, my last invoice charges the extended warranty twice. Could you please correct it?",
    ),
    (
        "lumiere",
        "demo-3",
        "Camille Bernard",
        "camille.bernard@example.com",
        "Facture trop élevée",
        "Bonjour, ma facture de novembre est deux fois plus élevée que d'habitude. Pouvez-vous vérifier ?",
    ),
    (
        "lumiere",
        "demo-4",
        "Marco Conti",
        "marco.conti@example.com",
        "Interruzione di corrente",
        "Buongiorno, da stamattina non abbiamo corrente in via Roma 12 a Nizza. È un guasto noto?",
    ),
]


# (client, name, language, text, status afterwards, tags)
MACROS = [
    (
        "alpina",
        "Sicherung prüfen",
        "de",
        "Grüezi {contact_name}\n\nBitte prüfen Sie zuerst die Sicherung des Geräts im Sicherungskasten. "
        "Meldet sich das Gerät danach nicht, antworten Sie einfach auf diese Nachricht ({ticket_number}).",
        "pending_customer",
        ["sicherung"],
    ),
    (
        "alpina",
        "Check the fuse",
        "en",
        "Hello {contact_name}\n\nPlease check the appliance's fuse in your fuse box first. If it still does "
        "not work, simply reply to this message ({ticket_number}).",
        "pending_customer",
        ["fuse"],
    ),
    (
        "lumiere",
        "Facture : vérification",
        "fr",
        "Bonjour {contact_name},\n\nNous avons vérifié votre facture : le montant correspond au relevé de "
        "votre compteur. Le détail figure dans votre espace client.",
        "resolved",
        ["facture"],
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
    DemoUser("technik@alpina.example", "Marco Keller", Role.CLIENT_EXPERT, tenant="alpina", locale="de"),
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


def tenants_by_slug() -> dict[str, Tenant]:
    with tenancy.system_scope():
        return {
            t.slug: t
            for t in db.session.scalars(select(Tenant).where(Tenant.slug.in_(["alpina", "lumiere"])))
        }


def load() -> list[DemoUser]:
    """Create what is missing; the caller commits."""
    with tenancy.system_scope():
        by_slug: dict[str, Tenant] = {}
        for data in TENANTS:
            tenant = db.session.scalar(select(Tenant).where(Tenant.slug == data.slug))
            by_slug[data.slug] = tenant or tenants.create_tenant(data)
            if tenant is not None:  # a demo loaded before a channel was added gets it now
                for kind, address in data.channels:
                    tenants.add_channel(tenant.id, kind, address)
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
        for slug, name, language, body, status, tags in MACROS:
            exists = db.session.scalar(
                select(Macro).where(
                    Macro.tenant_id == by_slug[slug].id, Macro.name == name, Macro.language == language
                )
            )
            if exists is None:
                macros.create(
                    macros.MacroInput(
                        by_slug[slug].id, name, language, body, set_status=status, add_tags=tags
                    )
                )
        demo_knowledge.load(by_slug)
        for spec in USERS:
            if spec.role is Role.AGENT:
                user = db.session.scalar(select(User).where(User.email == spec.email))
                if user is not None and db.session.get(AgentPresence, user.id) is None:
                    routing.set_presence(user, Presence.AVAILABLE)
        for slug, key, name, email, subject, body in CONTACTS:
            intake.receive(
                by_slug[slug].id,
                intake.InboundContact(
                    channel=Channel.WEBFORM,
                    external_id=key,
                    subject=subject,
                    body=body,
                    name=name,
                    email=email,
                ),
            )
        db.session.flush()
    return USERS
