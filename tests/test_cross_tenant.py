"""Every route, tried by users of one tenant with the ids of the other: nothing crosses.

A new route whose URL takes a parameter this test does not know fails here until someone adds
the other tenant's value for it, so no route escapes the check.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from billing import invoices, plans
from billing.invoice_run import run_month
from billing.models import Invoice
from billing.periods import previous_month
from core import jobs, tenancy
from core.extensions import db
from core.models_base import utcnow
from core.outbox import OutboxMessage
from tests.conftest import api_as, csrf_token, sign_in
from tests.factories import World, chat_key
from tickets import satisfaction
from tickets import services as tickets
from tickets.models import Status

# Public by design: anyone may open a client's public page by its slug.
PUBLIC_ENDPOINTS = {
    "tenants.public_home",
    "webform.contact",
    "webform.thanks",
    "webform.embed",
    "static",
    "auth.reset_password",
    # The invitation link, like the reset link, is a signed token for anyone holding it.
    "auth.accept_invitation",
    "api_meta.openapi",
    # Anyone holding a client's public widget key may load the widget and start a chat.
    "chat.loader",
    "chat.config",
    "chat.start",
    "chat.leave_message",
    # The help center shows a client's public, published articles to anyone (tested on its own:
    # another client's article or file under this client's slug is a 404).
    "help.home",
    "help.search",
    "help.article",
    "help.vote",
    "help.file",
    # The satisfaction survey's pages: anyone holding the mailed token may rate (tested below:
    # another client's token under this client's slug is a 404).
    "rating.page",
    "rating.rate",
}

ALPHA_SIDE = [
    "agent.alpha@provider.example",
    "supervisor@provider.example",
    "admin@alpha.example",
    "expert@alpha.example",
]


def foreign_values(world: World) -> dict[str, object]:
    return {
        "tenant_id": world.beta.id,
        "slug": world.beta.slug,
        "ticket_id": world.beta_ticket.id,
        "call_id": world.beta_call.id,
        "contact_id": world.beta_contact.id,
        "organization_id": world.beta_organization.id,
        "macro_id": world.beta_macro.id,
        "attachment_id": world.beta_attachment.id,
        "record_id": world.beta_inbound.id,
        "mailbox_id": world.beta_mailbox.id,
        "chat_id": world.beta_chat.id,
        # A visitor of alpha's widget presenting a token of one of beta's chats.
        "key": chat_key(world.alpha.slug),
        "token": world.beta_chat.token,
        "article_id": world.beta_article.id,
        "language": "fr",
        "number": 1,
        "file_id": world.beta_article_file.id,
        "proposal_id": world.beta_proposal.id,
        "decision": "accept",
        "change_id": world.beta_change.id,
        "category_id": world.beta_category.id,
        "team_id": world.beta_team.id,
        "slot_id": world.beta_slot.id,
        "override_id": world.beta_override.id,
        # Shifts are provider-level; one of an agent who serves beta only is foreign to alpha's side.
        "shift_id": world.beta_shift.id,
        "rule_id": world.beta_rule.id,
        "escalation_id": world.beta_escalation.id,
        "calendar_id": world.beta_calendar.id,
        "holiday_id": world.beta_holiday.id,
        "policy_id": world.beta_policy.id,
        # Staff administration: an agent who serves beta only (a supervisor of alpha's does not
        # see them; agents and client staff are refused the pages).
        "user_id": world.beta_agent.id,
        # Platform health's retry buttons are the provider admin's only.
        "job_id": "beta-job",
        "outbox_id": beta_outbox_id(world),
        "delivery_id": 1,
        # Client administration (/admin/tenants) is for provider admins only: every other role
        # is refused before any id is looked at, so any export id will do.
        "export_id": 1,
        "invoice_id": _beta_invoice(world).id,
        # Any month that is over: the client is named in the query (FOREIGN_QUERIES).
        "month": f"{previous_month(utcnow().date()):%Y-%m}",
    }


# Routes that name the client in the query string rather than in the path (the reports, like
# their filters): they are tried with the other tenant's id there.
FOREIGN_QUERIES = {"monthly_reports.view", "monthly_reports.pdf", "reports_api.monthly_report"}


def _query(rule, world: World) -> str:
    return f"?tenant={world.beta.id}" if rule.endpoint in FOREIGN_QUERIES else ""


def beta_outbox_id(world: World) -> int:
    """The acknowledgement mailed to beta's customer."""
    with tenancy.only(world.beta.id):
        return db.session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.tenant_id == world.beta.id)
        ).first()


def _beta_invoice(world: World) -> Invoice:
    """A finalized invoice of beta's (built once per world): not a draft, so that the portal's
    404 for alpha's client admin is the tenancy's doing."""
    if getattr(world, "beta_invoice", None) is None:
        with tenancy.system_scope():
            plans.save_plan(world.beta, plans.PlanInput(name="Standard", contract_start="2025-01-01"))
            result = run_month(date(2025, 11, 1), [world.beta.id])
            invoice = db.session.get_one(Invoice, result.created[0])
            invoices.finalize(invoice)
            jobs.commit()
        world.beta_invoice = invoice  # type: ignore[attr-defined]
    return world.beta_invoice  # type: ignore[attr-defined]


# Valid bodies, so that what answers is the tenancy check and not the input validation.
SAMPLE_BODIES = {
    "tickets_api.patch_ticket": {"priority": "high"},
    "tickets_api.add_message": {"kind": "note", "body": "crossing over"},
    "tickets_api.add_time": {"seconds": 60, "note": "crossing over"},
    "tickets_api.timer": {"action": "start"},
    "contacts_api.patch_contact": {"name": "Crossing Over"},
    # The URL names the other tenant's contact; `into` may be any id.
    "contacts_api.merge_contact": {"into": 1},
    "contacts_api.patch_organization": {"name": "Crossing Over"},
    "calls_api.log_call": {
        "caller": "+41790000000",
        "dialled": "+41440000001",
        "duration_seconds": 60,
        "outcome": "solved",
    },
    "macros_api.patch_macro": {"name": "Crossing over"},
    "kb_api.put_translation": {"title": "Crossing over", "body": "Crossing over", "base_revision": 1},
    "kb_api.restore_version": {"base_revision": 1},
    "escalations_api.escalate": {
        "team_id": 1,
        "summary": "Crossing over",
        "reported": "Crossing over",
        "tried": "Crossing over",
        "urgency": "low",
        "impact": "one",
        "availability": "Crossing over",
    },
    "portal_api.note": {"body": "crossing over"},
    "portal_api.answer": {"body": "crossing over"},
    "portal_api.resolve": {"answer": "crossing over"},
    "portal_api.return_to_desk": {"instructions": "crossing over"},
    "portal_api.forward": {
        "team_id": 1,
        "summary": "crossing over",
        "reported": "crossing over",
        "tried": "crossing over",
        "urgency": "low",
        "impact": "one",
        "availability": "crossing over",
    },
}


def _rules(app: Flask, api: bool) -> list:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in PUBLIC_ENDPOINTS and rule.rule.startswith("/api/") == api and rule.arguments
    ]


def _url(rule, values: dict[str, object]) -> str:
    missing = set(rule.arguments) - set(values)
    assert not missing, f"{rule.rule}: add the other tenant's value for {missing} to foreign_values()"
    url = rule.rule
    for name in rule.arguments:
        url = re.sub(rf"<(?:\w+:)?{name}>", str(values[name]), url)
    return url


@pytest.mark.parametrize("email", ALPHA_SIDE)
def test_html_routes_refuse_the_other_tenants_ids(
    app: Flask, client: FlaskClient, world: World, email: str
) -> None:
    sign_in(client, email)
    token = csrf_token(client, "/profile")
    for rule in _rules(app, api=False):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"csrf_token": token, "body": "crossing over", "status": "resolved", "name": "X"}
            url = _url(rule, foreign_values(world)) + _query(rule, world)
            response = client.open(url, method=method, data=data)
            assert response.status_code in (403, 404), (
                f"{method} {rule.rule} as {email}: {response.status_code}"
            )


@pytest.mark.parametrize("email", ALPHA_SIDE)
def test_api_routes_refuse_the_other_tenants_ids(
    app: Flask, client: FlaskClient, world: World, email: str
) -> None:
    api = api_as(client, email)
    for rule in _rules(app, api=True):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            body = SAMPLE_BODIES.get(rule.endpoint, {})
            url = _url(rule, foreign_values(world)) + _query(rule, world)
            response = getattr(api, method.lower())(url, json=body)
            assert response.status_code in (403, 404), (
                f"{method} {rule.rule} as {email}: {response.status_code}"
            )


def test_own_tenant_is_reachable_so_the_404s_above_mean_something(client: FlaskClient, world: World) -> None:
    api = api_as(client, "admin@alpha.example")
    assert api.get(f"/api/v1/tenants/{world.alpha.id}").status_code == 200
    assert api.get(f"/api/v1/tenants/{world.beta.id}").status_code == 404
    assert [t["slug"] for t in api.get("/api/v1/tenants").get_json()["data"]] == ["alpha"]


def test_lists_show_only_the_callers_tenants(client: FlaskClient, world: World) -> None:
    sign_in(client, "agent.alpha@provider.example")
    page = client.get("/tenants").get_data(as_text=True)
    assert "Alpha AG" in page
    assert "Beta AG" not in page


def test_client_users_do_not_see_the_provider_pages(client: FlaskClient, world: World) -> None:
    sign_in(client, "admin@alpha.example")
    assert client.get("/tenants").status_code == 403
    assert client.get("/admin/audit").status_code == 403


def test_audit_log_is_for_provider_admins(client: FlaskClient, world: World) -> None:
    sign_in(client, "agent.both@provider.example")
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/agents").status_code == 403
    assert client.get("/admin/health").status_code == 403
    client.post("/logout", data={})
    fresh = client.application.test_client()
    sign_in(fresh, "admin@provider.example")
    page = fresh.get("/admin/audit?action=tenant.").get_data(as_text=True)
    assert "tenant.created" in page


def test_own_files_and_inbound_records_are_reachable(client: FlaskClient, world: World) -> None:
    sign_in(client, "agent.both@provider.example")
    download = client.get(f"/agent/attachments/{world.beta_attachment.id}")
    assert download.status_code == 200
    assert download.data == b"%PDF-1.4 facture"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in download.headers["Content-Security-Policy"]
    client.post("/logout", data={"csrf_token": csrf_token(client, "/profile")})
    sign_in(client, "admin@provider.example")
    assert client.get("/agent/inbound?status=all").status_code == 200
    assert client.get(f"/agent/clients/{world.beta.id}/email").status_code == 200


@pytest.mark.parametrize("email", [*ALPHA_SIDE, "agent.both@provider.example", "admin@beta.example"])
def test_client_administration_is_for_provider_admins_only(
    app: Flask, client: FlaskClient, world: World, email: str
) -> None:
    sign_in(client, email)
    token = csrf_token(client, "/profile")
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin_tenants.")]
    assert rules
    for rule in rules:
        for tenant in (world.alpha, world.beta):
            values = {**foreign_values(world), "tenant_id": tenant.id}
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(
                    _url(rule, values), method=method, data={"csrf_token": token, "confirm": tenant.slug}
                )
                assert response.status_code == 403, f"{method} {rule.rule} as {email}: {response.status_code}"


REPORT_PAGES = (
    "/admin/reports/?tenant={id}",
    "/admin/reports/?tenant={id}&export=clients",
    "/admin/reports/live?tenant={id}",
    "/admin/reports/live?tenant={id}&export=queue",
    "/portal/reports/?tenant={id}",
    "/portal/reports/?tenant={id}&export=kpis",
)


@pytest.mark.parametrize("email", ALPHA_SIDE)
def test_report_pages_refuse_the_other_tenant(client: FlaskClient, world: World, email: str) -> None:
    """The dashboards take the client from the query string: another client's is refused (403
    for roles without reports, 404, or 422 in the filter form) and never shows its data."""
    sign_in(client, email)
    for page in REPORT_PAGES:
        response = client.get(page.format(id=world.beta.id))
        assert response.status_code in (403, 404, 422), f"{page} as {email}: {response.status_code}"
        body = response.get_data(as_text=True)
        assert "Beta AG" not in body
        assert "text/csv" not in response.headers["Content-Type"]


def test_report_pages_show_the_own_client(client: FlaskClient, world: World) -> None:
    sign_in(client, "admin@alpha.example")
    own = client.get(f"/portal/reports/?tenant={world.alpha.id}")
    assert own.status_code == 200
    assert "Alpha AG" in own.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/profile")})
    sign_in(client, "supervisor@provider.example")
    page = client.get("/admin/reports/")
    assert page.status_code == 200
    assert "Beta AG" not in page.get_data(as_text=True)


@pytest.mark.parametrize("email", ALPHA_SIDE)
def test_reports_never_answer_about_the_other_tenant(client: FlaskClient, world: World, email: str) -> None:
    """The reports' pages and API without an id in the path, asked about beta by alpha's side."""
    sign_in(client, email)
    assert client.get(f"/portal/reports/monthly?tenant={world.beta.id}").status_code in (403, 404)
    api = api_as(client.application.test_client(), email)
    metrics = api.get(f"/api/v1/reports/metrics?preset=30d&tenant={world.beta.id}")
    assert metrics.status_code in (403, 422), f"{email}: {metrics.status_code}"
    month = foreign_values(world)["month"]
    assert api.get(f"/api/v1/reports/monthly/{month}?tenant={world.beta.id}").status_code in (403, 404)


def test_own_reports_are_reachable_so_the_refusals_above_mean_something(
    client: FlaskClient, world: World
) -> None:
    month = foreign_values(world)["month"]
    sign_in(client, "admin@alpha.example")
    assert client.get("/portal/reports/monthly").status_code == 200
    assert client.get(f"/portal/reports/monthly/{month}").status_code == 200
    api = api_as(client.application.test_client(), "admin@alpha.example")
    found = api.get("/api/v1/reports/metrics?preset=30d").get_json()
    assert list(found["by_tenant"]) in ([], [str(world.alpha.id)])
    assert api.get(f"/api/v1/reports/monthly/{month}").status_code == 200


def test_a_survey_token_answers_only_under_its_own_clients_slug(
    app: Flask, client: FlaskClient, world: World
) -> None:
    with tenancy.only(world.beta.id):
        tickets.set_status(world.beta_ticket, Status.RESOLVED)
        jobs.commit()
        token = satisfaction.survey_of(world.beta_ticket).token
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("rating.")]
    assert {rule.endpoint for rule in rules} == {"rating.page", "rating.rate"}
    values = {"slug": world.alpha.slug, "token": token, "rating": 5}
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path = _url(rule, values)
            data = {"csrf_token": csrf_token(client, f"/t/{world.alpha.slug}/help"), "rating": "5"}
            response = client.open(path, method=method, data=data)
            assert response.status_code == 404, f"{method} {path}: {response.status_code}"
    with tenancy.only(world.beta.id):
        assert satisfaction.survey_of(world.beta_ticket).answered_at is None
    assert client.get(f"/t/{world.beta.slug}/rate/{token}/5").status_code == 200
