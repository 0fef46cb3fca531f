"""Small factories: a two-tenant world with a user of every role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from agents import services as agents
from agents.models import AgentShift
from channels import mailboxes
from channels.chat_models import ChatSession
from channels.models import Mailbox
from core import jobs, tenancy
from core.auth import services as auth
from core.auth.models import User
from core.auth.roles import Role
from core.extensions import db
from core.models_base import utcnow
from escalations import rota
from escalations import routing as escalation_routing
from escalations import services as escalations
from escalations.models import Escalation, EscalationRule, OnCallOverride, OnCallSlot, Team, TeamMember
from knowledge import categories as kb_categories
from knowledge import editing as kb_editing
from knowledge import feed as kb_feed
from knowledge import files as kb_files
from knowledge import lifecycle as kb_lifecycle
from knowledge import proposals as kb_proposals
from knowledge.models import Article, ArticleChange, ArticleFile, ArticleProposal, KbCategory
from sla import calendars as sla_calendars
from sla import policies as sla_policies
from sla.models import BusinessCalendar, CalendarHoliday, SlaPolicy
from tenants import services as tenants
from tenants.models import ChannelKind, Tenant
from tickets import attachments, calls, intake, macros, organizations
from tickets import services as tickets
from tickets.models import Attachment, Call, Channel, Contact, InboundRecord, Macro, Organization, Ticket

PASSWORD = "password-123"
ALPHA_PHONE = "+41440000001"
ALPHA_FAX = "+41440000009"
BETA_PHONE = "+33100000002"  # noqa: S105


def make_tenant(
    slug: str,
    *,
    languages: list[str] | None = None,
    timezone: str = "Europe/Zurich",
    currency: str = "CHF",
    email: str | None = None,
    phones: tuple[tuple[ChannelKind, str], ...] = (),
) -> Tenant:
    languages = languages or ["de", "en"]
    return tenants.create_tenant(
        tenants.TenantInput(
            slug=slug,
            name=slug.title() + " AG",
            languages=languages,
            default_language=languages[0],
            timezone=timezone,
            currency=currency,
            ticket_prefix=slug.upper()[:12],
            channels=[
                (ChannelKind.EMAIL, email or f"support@{slug}.example"),
                (ChannelKind.CHAT, chat_key(slug)),
                *phones,
            ],
        )
    )


def chat_key(slug: str) -> str:
    """The public widget key the test tenants get."""
    return f"{slug}-chat-key"


def make_user(
    email: str,
    role: Role,
    *,
    tenant: Tenant | None = None,
    assigned: tuple[Tenant, ...] = (),
    locale: str | None = None,
) -> User:
    user = auth.create_user(
        email=email,
        name=email.split("@")[0].title(),
        role=role,
        password=PASSWORD,
        tenant_id=tenant.id if tenant else None,
        locale=locale,
    )
    for item in assigned:
        agents.assign(user, item.id)
    return user


def make_ticket(
    tenant: Tenant,
    subject: str = "Printer on fire",
    body: str = "It burns, please help quickly.",
    email: str = "customer@example.com",
    key: str | None = None,
    language: str | None = None,
    name: str = "Chris Customer",
) -> Ticket:
    """A ticket as the web form makes it: through the intake, processed (inline) after commit."""
    record = intake.receive(
        tenant.id,
        intake.InboundContact(
            channel=Channel.WEBFORM,
            external_id=key or f"{tenant.slug}-{subject}",
            subject=subject,
            body=body,
            name=name,
            email=email,
            language=language or tenant.default_language,
        ),
    )
    jobs.commit()
    return db.session.get_one(Ticket, record.ticket_id)


@dataclass
class World:
    alpha: Tenant
    beta: Tenant
    admin: User
    supervisor: User
    agent_alpha: User
    agent_both: User
    alpha_admin: User
    alpha_expert: User
    beta_admin: User
    beta_expert: User
    alpha_ticket: Ticket
    beta_ticket: Ticket
    beta_call: Call
    beta_contact: Contact
    beta_organization: Organization
    beta_macro: Macro
    beta_attachment: Attachment
    beta_inbound: InboundRecord
    beta_mailbox: Mailbox
    beta_chat: ChatSession
    beta_article: Article
    beta_article_file: ArticleFile
    beta_proposal: ArticleProposal
    beta_change: ArticleChange
    beta_category: KbCategory
    beta_team: Team
    beta_slot: OnCallSlot
    beta_override: OnCallOverride
    beta_agent: User  # serves beta only
    beta_shift: AgentShift  # of beta_agent: no supervisor of alpha's may see or change it
    beta_rule: EscalationRule
    beta_escalation: Escalation
    beta_calendar: BusinessCalendar
    beta_holiday: CalendarHoliday
    beta_policy: SlaPolicy


# A complete handoff packet (escalations.handoff): what the desk writes when it escalates.
PACKET = {
    "summary": "The customer's invoice shows the wrong amount.",
    "reported": "Invoice 2024-117 charges 240 instead of 120.",
    "tried": "Checked the order: one item, 120. Resent the invoice: same amount.",
    "urgency": "medium",
    "impact": "one",
    "availability": "Weekdays 9-17 by e-mail.",
}


def make_escalation(
    ticket: Ticket,
    agent: User,
    team: Team,
    *,
    tell_customer: bool = False,
    now: datetime | None = None,
    **packet: object,
) -> Escalation:
    """`ticket` handed to `team` by `agent` through the one escalation service."""
    return escalations.escalate(
        ticket, agent, team.id, {**PACKET, **packet}, tell_customer=tell_customer, now=now
    )


def build_world() -> World:
    with tenancy.system_scope():
        alpha = make_tenant("alpha", phones=((ChannelKind.PHONE, ALPHA_PHONE), (ChannelKind.FAX, ALPHA_FAX)))
        beta = make_tenant(
            "beta",
            languages=["fr", "it", "en"],
            timezone="Europe/Paris",
            currency="EUR",
            phones=((ChannelKind.PHONE, BETA_PHONE),),
        )
        world = World(
            alpha=alpha,
            beta=beta,
            admin=make_user("admin@provider.example", Role.PROVIDER_ADMIN),
            supervisor=make_user("supervisor@provider.example", Role.SUPERVISOR, assigned=(alpha,)),
            agent_alpha=make_user("agent.alpha@provider.example", Role.AGENT, assigned=(alpha,)),
            agent_both=make_user("agent.both@provider.example", Role.AGENT, assigned=(alpha, beta)),
            alpha_admin=make_user("admin@alpha.example", Role.CLIENT_ADMIN, tenant=alpha),
            alpha_expert=make_user("expert@alpha.example", Role.CLIENT_EXPERT, tenant=alpha),
            beta_admin=make_user("admin@beta.example", Role.CLIENT_ADMIN, tenant=beta, locale="fr"),
            beta_expert=make_user("expert@beta.example", Role.CLIENT_EXPERT, tenant=beta),
            alpha_ticket=None,  # type: ignore[arg-type]
            beta_ticket=None,  # type: ignore[arg-type]
            beta_call=None,  # type: ignore[arg-type]
            beta_contact=None,  # type: ignore[arg-type]
            beta_organization=None,  # type: ignore[arg-type]
            beta_macro=None,  # type: ignore[arg-type]
            beta_attachment=None,  # type: ignore[arg-type]
            beta_inbound=None,  # type: ignore[arg-type]
            beta_mailbox=None,  # type: ignore[arg-type]
            beta_chat=None,  # type: ignore[arg-type]
            beta_article=None,  # type: ignore[arg-type]
            beta_article_file=None,  # type: ignore[arg-type]
            beta_proposal=None,  # type: ignore[arg-type]
            beta_change=None,  # type: ignore[arg-type]
            beta_category=None,  # type: ignore[arg-type]
            beta_team=None,  # type: ignore[arg-type]
            beta_slot=None,  # type: ignore[arg-type]
            beta_override=None,  # type: ignore[arg-type]
            beta_agent=make_user("agent.beta@provider.example", Role.AGENT, assigned=(beta,)),
            beta_shift=None,  # type: ignore[arg-type]
            beta_rule=None,  # type: ignore[arg-type]
            beta_escalation=None,  # type: ignore[arg-type]
            beta_calendar=None,  # type: ignore[arg-type]
            beta_holiday=None,  # type: ignore[arg-type]
            beta_policy=None,  # type: ignore[arg-type]
        )
        tomorrow = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
        world.beta_shift = AgentShift(
            user_id=world.beta_agent.id, starts_at=tomorrow, ends_at=tomorrow + timedelta(hours=8)
        )
        db.session.add(world.beta_shift)
        jobs.commit()
        world.alpha_ticket = make_ticket(alpha, email="anna.kunde@example.com")
        world.beta_ticket = make_ticket(
            beta,
            subject="Facture incorrecte",
            body="Bonjour, ma facture est fausse.",
            email="client@example.fr",
        )
        world.beta_call = calls.apply_event(
            beta.id, calls.CallEvent("call.ringing", "beta-call-1", "+33611223344", BETA_PHONE)
        )
        world.beta_contact = db.session.get_one(Contact, world.beta_ticket.contact_id)
        world.beta_organization = organizations.create(
            beta.id, organizations.OrganizationInput(name="Durand SARL")
        )
        world.beta_macro = macros.create(
            macros.MacroInput(tenant_id=beta.id, name="Merci", language="fr", body="Merci {contact_name} !")
        )
        world.beta_inbound = db.session.scalar(
            select(InboundRecord).where(InboundRecord.ticket_id == world.beta_ticket.id)
        )
        world.beta_attachment = attachments.store(
            beta.id, attachments.Upload("facture.pdf", "application/pdf", b"%PDF-1.4 facture")
        )
        world.beta_attachment.message_id = tickets.messages_of(world.beta_ticket)[0].id
        world.beta_mailbox = mailboxes.create(
            beta.id, host="imap.beta.example", port=993, use_ssl=True, username="support", password="pw"
        )
        world.beta_mailbox.enabled = False  # for the cross-tenant routes; nothing to poll there
        # A chat of beta's (stored as the widget stores it; nobody is online in this world).
        world.beta_chat = ChatSession(
            tenant_id=beta.id, visitor_name="Jeanne", language="fr", topic="Compteur", status="queued"
        )
        db.session.add(world.beta_chat)
        _beta_knowledge(world)
        _beta_team(world)
        _beta_escalation(world)
        _beta_sla(world)
        jobs.commit()
    return world


def _beta_knowledge(world: World) -> None:
    """A published, public article of beta's with a file, a category, a proposal and a feed entry."""
    world.beta_category = kb_categories.save(world.beta.id, {"fr": "Factures"}, None)
    world.beta_article = kb_editing.create(
        kb_editing.ArticleInput(
            tenant_id=world.beta.id,
            language="fr",
            title="Corriger une facture",
            body="Envoyez-nous la facture.",
            category_id=world.beta_category.id,
            visibility="public",
        ),
        world.beta_expert,
    )
    kb_lifecycle.approve(world.beta_article, world.beta_expert)
    world.beta_article_file = kb_files.add(
        world.beta_article, attachments.Upload("plan.png", "image/png", b"\x89PNG beta"), world.beta_expert
    )
    world.beta_proposal = kb_proposals.propose(
        world.beta_article, "fr", title="Corriger une facture", body="Mieux.", note="", actor=world.agent_both
    )
    world.beta_change = kb_feed.entries(world.agent_both, [world.beta.id])[0].change


def make_team(
    tenant: Tenant,
    name: str,
    members: tuple[User, ...] = (),
    *,
    level: int = 2,
    ack_minutes: int = 60,
    resolve_minutes: int = 24 * 60,
    timezone: str | None = None,
    email: str | None = None,
    webhook_url: str | None = None,
    calendar_id: int | None = None,
) -> Team:
    """A team stored as is, past the service's checks: tests point webhooks at loopback
    receivers, which `escalations.teams.save_team` (rightly) refuses."""
    team = Team(
        tenant_id=tenant.id,
        name=name,
        level=level,
        ack_minutes=ack_minutes,
        resolve_minutes=resolve_minutes,
        email=email,
        webhook_url=webhook_url,
        timezone=timezone or tenant.timezone,
        calendar_id=calendar_id,
    )
    db.session.add(team)
    db.session.flush()
    for user in members:
        db.session.add(TeamMember(tenant_id=tenant.id, team_id=team.id, user_id=user.id))
    db.session.flush()
    return team


def _beta_team(world: World) -> None:
    """Beta's accounting team with its expert, a weekly slot and an override."""
    world.beta_team = make_team(
        world.beta, "Comptabilité", members=(world.beta_expert,), email="compta@beta.example"
    )
    world.beta_slot = rota.add_slot(
        world.beta_team, user_id=world.beta_expert.id, weekday=0, start_minute=18 * 60, end_minute=8 * 60
    )
    world.beta_override = rota.add_override(
        world.beta_team,
        user_id=world.beta_expert.id,
        starts_local=datetime(2030, 1, 1, 8, 0),
        ends_local=datetime(2030, 1, 2, 8, 0),
        note="Remplacement",
    )


def _beta_escalation(world: World) -> None:
    """A rule routing invoices to beta's team, and beta's ticket escalated there."""
    world.beta_rule = escalation_routing.save_rule(
        world.beta.id, escalation_routing.RuleInput(team_id=world.beta_team.id, keywords=["facture"])
    )
    world.beta_escalation = make_escalation(world.beta_ticket, world.agent_both, world.beta_team)


def _beta_sla(world: World) -> None:
    """A business calendar of beta's with a holiday, and a policy counting in it (for one of
    beta's organisations only, so that the other tests' tickets keep the 24/7 defaults)."""
    world.beta_calendar = sla_calendars.create(
        sla_calendars.CalendarInput(
            tenant_id=world.beta.id,
            name="Bureau",
            timezone="Europe/Paris",
            hours={str(day): "09:00-17:00" for day in range(5)},
            holiday_country="FR",
        )
    )
    sla_calendars.add_holidays(world.beta_calendar, [(date(2026, 12, 24), "Réveillon")])
    world.beta_holiday = sla_calendars.holidays_of(world.beta_calendar)[0]
    world.beta_policy = sla_policies.create(
        sla_policies.PolicyInput(
            tenant_id=world.beta.id,
            name="Standard",
            organization_id=world.beta_organization.id,
            calendar_id=world.beta_calendar.id,
            targets={"first_response": {"normal": 120}},
        )
    )
