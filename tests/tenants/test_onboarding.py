"""The onboarding wizard: each step checked with field errors in the admin's language, back and
forth without losing anything, and one creation, all or nothing, after which an agent takes the
new client's first contact."""

from __future__ import annotations

import html
import io
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from agents.models import AgentAssignment
from billing.models import BillingAccount, Plan
from channels import mail_inbound
from core import tenancy
from core.audit import AuditEvent
from core.auth.models import User
from core.errors import ValidationFailed
from core.extensions import db
from escalations.models import Team, TeamMember
from knowledge.models import Article, ArticleTranslation
from sla.models import BusinessCalendar, SlaPolicy
from tenants import onboarding
from tenants.models import Tenant, TenantChannel
from tenants.onboarding_draft import Onboarding, step_of
from tests.channels.mails import mail
from tests.conftest import SmtpServer, csrf_token, sign_in
from tests.factories import World
from tickets.models import InboundRecord, Ticket

DRAFT_RE = re.compile(r'name="draft" value="([^"]+)"')
FAQ = "title,body,language\nWie entkalke ich die Maschine?,Mit dem Entkalker im Menü Pflege.,de\n"

BASICS = {
    "name": "Gamma Getränke AG",
    "slug": "gamma",
    "ticket_prefix": "GAMMA",
    "languages": ["de", "en"],
    "default_language": "de",
    "timezone": "Europe/Zurich",
    "currency": "chf",
    "status": "active",
}
CALENDAR = {**{f"hours_{day}": "08:00-12:00, 13:00-17:00" for day in range(5)}, "holiday_country": "CH"}
CHANNELS = {
    "emails": "support@gamma.example\nhilfe@gamma.example",
    "phones": "+41 44 555 77 00",
    "faxes": "",
    "webform": "1",
    "webform_key": "gamma-form-key",
    "chat": "1",
    "chat_key": "gamma-chat-key",
}
TEXTS = {
    "greeting_de": "Gamma Getränke, grüezi!",
    "greeting_en": "Gamma drinks, hello!",
    "call_script_de": "Begrüssen.",
}
PEOPLE = {
    "admin_name": "Greta Gamma",
    "admin_email": "greta@gamma.example",
    "team_count": "1",
    "team_0_name": "Technik",
    "team_0_level": "2",
    "team_0_email": "technik@gamma.example",
    "team_0_members": "Tom Technik <tom@gamma.example>\nGreta Gamma <greta@gamma.example>",
}
PLAN = {"plan_name": "Gamma Basic", "plan_base_fee": "500", "plan_contract_start": "2026-01-01"}


class Wizard:
    """Walks /admin/tenants/new as a browser does: each post carries the page's draft."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token = csrf_token(client, "/profile")
        self.response = client.get("/admin/tenants/new")
        assert self.response.status_code == 200

    @property
    def page(self) -> str:
        return html.unescape(self.response.get_data(as_text=True))

    @property
    def step(self) -> str:
        return re.search(r'name="step" value="(\w+)"', self.response.get_data(as_text=True)).group(1)

    def post(self, action: str = "next", **fields: Any) -> Any:
        draft = DRAFT_RE.search(self.response.get_data(as_text=True)).group(1)
        data = {"csrf_token": self.token, "draft": draft, "step": self.step, "action": action, **fields}
        self.response = self.client.post("/admin/tenants/new", data=data, content_type="multipart/form-data")
        return self.response

    def through(self, agent_ids: list[int], kb: bytes | None = FAQ.encode()) -> None:
        for fields in (BASICS, CALENDAR, CHANNELS, TEXTS, PEOPLE, PLAN):
            assert self.post(**fields).status_code == 200, (self.step, self.page)
        upload = {"kb_file": (io.BytesIO(kb), "faq.csv")} if kb else {}
        assert self.post(**upload).status_code == 200
        assert self.post(agent_ids=[str(i) for i in agent_ids]).status_code == 200
        assert self.step == "summary"


@pytest.fixture
def wizard(client: FlaskClient, world: World) -> Wizard:
    sign_in(client, "admin@provider.example")
    return Wizard(client)


def test_each_step_refuses_bad_input_with_field_errors_in_the_admins_language(
    client: FlaskClient, world: World
) -> None:
    with tenancy.system_scope():
        db.session.get_one(User, world.admin.id).locale = "de"
        db.session.commit()
    sign_in(client, "admin@provider.example")
    wizard = Wizard(client)
    refused = wizard.post(**{**BASICS, "slug": "Not A Slug", "timezone": "Mars/Olympus", "name": ""})
    assert refused.status_code == 422
    assert wizard.step == "basics"
    assert "Verwenden Sie Kleinbuchstaben, Ziffern und Bindestriche." in wizard.page
    assert "Unbekannte Zeitzone." in wizard.page
    assert "Dieses Feld ist erforderlich." in wizard.page
    # What was typed is still there.
    assert 'value="Not A Slug"' in wizard.page
    taken = wizard.post(**{**BASICS, "slug": "alpha"})
    assert taken.status_code == 422
    assert "Dieser Kurzname ist bereits vergeben." in wizard.page


def test_later_steps_check_their_own_fields(wizard: Wizard, world: World) -> None:
    wizard.post(**BASICS)
    assert wizard.post(**{**CALENDAR, "hours_0": "17:00-08:00"}).status_code == 422
    assert "Each interval must end after it starts" in wizard.page
    wizard.post(**CALENDAR)
    assert (
        wizard.post(
            **{**CHANNELS, "emails": "support@alpha.example\nnot-an-address", "phones": "12ab"}
        ).status_code
        == 422
    )
    assert "support@alpha.example belongs to another client already." in wizard.page
    assert "12ab is not valid." in wizard.page
    wizard.post(**CHANNELS)
    wizard.post(**TEXTS)
    bad_people = {**PEOPLE, "admin_email": "admin@alpha.example", "team_0_members": "Tom without address"}
    assert wizard.post(**bad_people).status_code == 422
    assert "An account with this e-mail address exists already." in wizard.page
    assert 'Line 1: write "Name <address>".' in wizard.page
    taken = {**PEOPLE, "admin_name": "G" * 201, "team_0_members": "Eve <expert@beta.example>"}
    assert wizard.post(**taken).status_code == 422
    assert "At most 200 characters." in wizard.page
    assert "expert@beta.example: An account with this e-mail address exists already." in wizard.page
    wizard.post(**PEOPLE)
    assert wizard.post(**{**PLAN, "plan_base_fee": "-5", "plan_vat_percent": "99"}).status_code == 422
    assert "Enter an amount between 0 and" in wizard.page
    assert "Enter a VAT rate between 0 and 50" in wizard.page


def test_back_and_forth_keeps_everything_typed(wizard: Wizard) -> None:
    wizard.post(**BASICS)
    wizard.post(**CALENDAR)
    assert wizard.step == "channels"
    wizard.post("back", emails="kept@gamma.example")
    assert wizard.step == "calendar"
    assert 'value="08:00-12:00, 13:00-17:00"' in wizard.page
    wizard.post("back")
    assert wizard.step == "basics"
    assert 'value="Gamma Getränke AG"' in wizard.page
    wizard.post(**BASICS)
    wizard.post(**CALENDAR)
    assert "kept@gamma.example" in wizard.page
    wizard.post(**CHANNELS)
    wizard.post(**TEXTS)
    assert wizard.post("add_team", **PEOPLE).status_code == 200
    assert wizard.step == "people"
    assert 'name="team_1_name"' in wizard.page
    assert "Tom Technik &lt;tom@gamma.example&gt;" in wizard.response.get_data(as_text=True)


def test_a_tampered_draft_starts_over(wizard: Wizard) -> None:
    wizard.post(**BASICS)
    token = wizard.token
    response = wizard.client.post(
        "/admin/tenants/new",
        data={"csrf_token": token, "draft": "forged.draft", "step": "summary", "action": "create"},
    )
    assert response.status_code == 422
    assert 'name="step" value="basics"' in response.get_data(as_text=True)
    with tenancy.system_scope():
        assert db.session.scalar(select(Tenant).where(Tenant.slug == "gamma")) is None


def test_the_wizard_creates_a_client_an_agent_serves_at_once(
    app: Any, wizard: Wizard, world: World, smtp_to: SmtpServer
) -> None:
    wizard.through(agent_ids=[world.agent_alpha.id])
    summary = wizard.page
    for shown in (
        "Gamma Getränke AG",
        "support@gamma.example",
        "Technik",
        "Tom Technik",
        "Gamma Basic",
        "faq.csv",
    ):
        assert shown in summary
    created = wizard.post("create")
    assert created.status_code == 302
    with tenancy.system_scope():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "gamma"))
        assert created.headers["Location"].endswith(f"/admin/tenants/{tenant.id}")
        assert (tenant.ticket_prefix, tenant.currency, tenant.greetings["de"]) == (
            "GAMMA",
            "CHF",
            "Gamma Getränke, grüezi!",
        )
        channels = {
            (c.kind, c.address)
            for c in db.session.scalars(select(TenantChannel).where(TenantChannel.tenant_id == tenant.id))
        }
        assert channels == {
            ("email", "support@gamma.example"),
            ("email", "hilfe@gamma.example"),
            ("phone", "+41445557700"),
            ("webform", "gamma-form-key"),
            ("chat", "gamma-chat-key"),
        }
        calendar = db.session.scalar(select(BusinessCalendar).where(BusinessCalendar.tenant_id == tenant.id))
        assert calendar.hours["0"] == [["08:00", "12:00"], ["13:00", "17:00"]]
        assert calendar.holiday_country == "CH"
        assert (
            db.session.scalar(select(SlaPolicy.calendar_id).where(SlaPolicy.tenant_id == tenant.id))
            == calendar.id
        )
        people = {
            u.email: u.role for u in db.session.scalars(select(User).where(User.tenant_id == tenant.id))
        }
        assert people == {"greta@gamma.example": "client_admin", "tom@gamma.example": "client_expert"}
        team = db.session.scalar(select(Team).where(Team.tenant_id == tenant.id))
        assert (team.name, team.email, team.calendar_id) == ("Technik", "technik@gamma.example", calendar.id)
        assert (
            db.session.scalar(
                select(func.count()).select_from(TeamMember).where(TeamMember.team_id == team.id)
            )
            == 2
        )
        assert db.session.scalar(select(Plan.name).where(Plan.tenant_id == tenant.id)) == "Gamma Basic"
        assert (
            db.session.scalar(
                select(BillingAccount.billing_email).where(BillingAccount.tenant_id == tenant.id)
            )
            == "greta@gamma.example"
        )
        assert (
            db.session.scalar(select(AgentAssignment.user_id).where(AgentAssignment.tenant_id == tenant.id))
            == world.agent_alpha.id
        )
        article = db.session.scalar(select(Article).where(Article.tenant_id == tenant.id))
        assert article.status == "draft"
        assert (
            db.session.scalar(
                select(ArticleTranslation.title).where(ArticleTranslation.article_id == article.id)
            )
            == "Wie entkalke ich die Maschine?"
        )
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "tenant.onboarded", AuditEvent.tenant_id == tenant.id
            )
        )
        assert event.data == {"channels": 5, "teams": 1, "invited": 2, "agents": 1, "articles": 1}
    # Two invitations, in the client's language, one per person (Greta is admin and member).
    invited = sorted(m["To"] for m in smtp_to.messages if "eingeladen" in m["Subject"])
    assert invited == ["greta@gamma.example", "tom@gamma.example"]
    # A customer mails the new address; the agent assigned in the wizard has the ticket at once.
    [delivery] = mail_inbound.receive_raw(
        mail(to="support@gamma.example", subject="Automat gibt kein Wechselgeld"), None, source="test"
    )
    with tenancy.only(delivery.tenant_id):
        record = db.session.get_one(InboundRecord, delivery.record_id)
        ticket = db.session.get_one(Ticket, record.ticket_id)
    agent = app.test_client()
    sign_in(agent, "agent.alpha@provider.example")
    inbox = html.unescape(agent.get("/agent/").get_data(as_text=True))
    assert "Automat gibt kein Wechselgeld" in inbox
    assert f"GAMMA-{ticket.number}" in inbox
    assert agent.get(f"/agent/tickets/{ticket.id}").status_code == 200


def test_creation_is_all_or_nothing(wizard: Wizard, world: World) -> None:
    wizard.through(agent_ids=[], kb=b"title,body,language\nOhne Sprache,Text,xx\n")
    refused = wizard.post("create")
    assert refused.status_code == 422
    assert wizard.step == "knowledge"
    assert "Line 2" in wizard.page
    with tenancy.system_scope():
        assert db.session.scalar(select(Tenant).where(Tenant.slug == "gamma")) is None
        assert db.session.scalar(select(User).where(User.email == "greta@gamma.example")) is None
        assert tenancy_free_channel("support@gamma.example")
    # Dropping the file makes the same draft go through.
    wizard.post(kb_remove="1")
    wizard.post()
    assert wizard.post("create").status_code == 302


def tenancy_free_channel(address: str) -> bool:
    return db.session.scalar(select(TenantChannel).where(TenantChannel.address == address)) is None


def test_the_service_rolls_back_its_savepoint_when_a_team_is_refused(world: World) -> None:
    values = {**BASICS, **CALENDAR, **CHANNELS, **TEXTS, **PEOPLE, **PLAN, "always_open": ""}
    data = Onboarding.from_values(values)
    data.teams[0].email = "not an address"
    with tenancy.system_scope():
        with pytest.raises(ValidationFailed) as refused:
            onboarding.onboard(data, world.admin)
        assert "team_0_email" in refused.value.fields
        assert step_of("team_0_email") == "people"
        assert db.session.scalar(select(Tenant).where(Tenant.slug == "gamma")) is None
        assert db.session.scalar(select(User).where(User.email == "greta@gamma.example")) is None
