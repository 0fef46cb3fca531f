"""The client admin's escalation settings in the portal: teams, routing rules (with the test box)
and the customer notices; experts get 403, another client's ids are 404."""

from __future__ import annotations

import html

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from core import jobs, tenancy
from core.extensions import db
from escalations import routing
from escalations.models import EscalationRule, Team
from escalations.teams import members_of
from sla.models import BusinessCalendar
from tests.conftest import csrf_token, sign_in
from tests.factories import World, make_escalation, make_team, make_ticket

SETTINGS_PAGES = [
    "/portal/teams",
    "/portal/teams/new",
    "/portal/rules",
    "/portal/rules/new",
    "/portal/notices",
]


def _text(response: object) -> str:
    return html.unescape(response.get_data(as_text=True))  # type: ignore[attr-defined]


def _team_form(**values: object) -> dict[str, object]:
    form: dict[str, object] = {
        "name": "Buchhaltung",
        "level": "3",
        "email": "Buchhaltung@Alpha.example",
        "webhook_url": "",
        "timezone": "Europe/Zurich",
        "calendar_id": "",
        "ack_minutes": "30",
        "resolve_minutes": "480",
        "oncall_ack_minutes": "10",
        "active": "1",
    }
    form.update(values)
    return form


def _calendar(tenant_id: int, name: str) -> BusinessCalendar:
    calendar = BusinessCalendar(tenant_id=tenant_id, name=name, timezone="Europe/Zurich", always_open=False)
    db.session.add(calendar)
    db.session.flush()
    return calendar


def _teams(world: World) -> list[Team]:
    with tenancy.only(world.alpha.id):
        stmt = select(Team).where(Team.tenant_id == world.alpha.id).order_by(Team.id)
        return list(db.session.scalars(stmt.execution_options(populate_existing=True)))


@pytest.mark.parametrize("path", SETTINGS_PAGES)
def test_experts_and_agents_may_not_open_the_settings(client: FlaskClient, world: World, path: str) -> None:
    sign_in(client, world.alpha_expert.email)
    assert client.get(path).status_code == 403
    token = csrf_token(client, "/portal/")
    assert client.post(path, data={"csrf_token": token, "name": "X"}).status_code in (403, 405)
    other = client.application.test_client()
    sign_in(other, world.agent_alpha.email)
    assert other.get(path).status_code == 403


def test_experts_may_not_edit_or_reorder_their_own_teams_rules(client: FlaskClient, world: World) -> None:
    with tenancy.only(world.alpha.id):
        team = make_team(world.alpha, "Technik", (world.alpha_expert,))
        rule = routing.save_rule(world.alpha.id, routing.RuleInput(team_id=team.id))
        db.session.commit()
    sign_in(client, world.alpha_expert.email)
    token = csrf_token(client, "/portal/")
    assert client.get(f"/portal/teams/{team.id}").status_code == 403
    assert client.post(f"/portal/rules/{rule.id}/delete", data={"csrf_token": token}).status_code == 403


def test_the_admin_finds_the_settings_in_the_navigation(client: FlaskClient, world: World) -> None:
    sign_in(client, world.alpha_admin.email)
    assert 'href="/portal/teams"' in _text(client.get("/"))
    expert = client.application.test_client()
    sign_in(expert, world.alpha_expert.email)
    assert 'href="/portal/teams"' not in _text(expert.get("/"))


def test_the_admin_creates_a_team_with_members_and_a_calendar(client: FlaskClient, world: World) -> None:
    with tenancy.only(world.alpha.id):
        office = _calendar(world.alpha.id, "Bürozeiten")
        db.session.commit()
    with tenancy.only(world.beta.id):
        foreign = _calendar(world.beta.id, "Heures de bureau")
        db.session.commit()
    sign_in(client, world.alpha_admin.email)
    page = _text(client.get("/portal/teams/new"))
    assert "Bürozeiten" in page
    assert "Heures de bureau" not in page
    assert world.alpha_expert.name in page  # a possible member
    assert world.beta_expert.email not in page
    token = csrf_token(client, "/portal/teams/new")
    response = client.post(
        "/portal/teams/new",
        data={
            "csrf_token": token,
            **_team_form(calendar_id=str(office.id)),
            "member_ids": [str(world.alpha_expert.id)],
        },
    )
    assert response.status_code == 302
    page = _text(client.get("/portal/teams"))
    assert "Team Buchhaltung created." in page
    assert "Buchhaltung" in page
    assert "Bürozeiten" in page
    assert "30 minutes" in page
    [team] = _teams(world)
    assert (team.level, team.email, team.calendar_id, team.oncall_ack_minutes) == (
        3,
        "buchhaltung@alpha.example",
        office.id,
        10,
    )
    with tenancy.only(world.alpha.id):
        assert [user.id for user in members_of(team)] == [world.alpha_expert.id]
    response = client.post(
        "/portal/teams/new",
        data={"csrf_token": token, **_team_form(name="Zweite", calendar_id=str(foreign.id))},
    )
    assert response.status_code == 422
    assert "Choose one of this client's calendars." in _text(response)


def test_an_invalid_team_comes_back_with_the_messages_and_what_was_typed(
    client: FlaskClient, world: World
) -> None:
    sign_in(client, world.alpha_admin.email)
    token = csrf_token(client, "/portal/teams/new")
    response = client.post(
        "/portal/teams/new",
        data={
            "csrf_token": token,
            **_team_form(name="", email="not-an-address", ack_minutes="soon", timezone="Mars/Olympus"),
            "member_ids": [str(world.beta_expert.id)],
        },
    )
    assert response.status_code == 422
    page = _text(response)
    for message in [
        "Give the team a name.",
        "This is not a valid e-mail address.",
        "Enter a number of minutes between 1 and",
        "Unknown time zone.",
        "Only this client's own staff can be members of its teams.",
    ]:
        assert message in page
    assert 'value="not-an-address"' in page
    assert 'value="Mars/Olympus"' in page
    assert _teams(world) == []


def test_the_admin_edits_a_team_and_names_stay_unique(client: FlaskClient, world: World) -> None:
    with tenancy.only(world.alpha.id):
        team = make_team(world.alpha, "Technik", (world.alpha_expert,))
        make_team(world.alpha, "Verkauf")
        db.session.commit()
    sign_in(client, world.alpha_admin.email)
    path = f"/portal/teams/{team.id}"
    page = _text(client.get(path))
    assert 'value="Technik"' in page
    assert f'value="{world.alpha_expert.id}" checked' in page
    token = csrf_token(client, path)
    response = client.post(path, data={"csrf_token": token, **_team_form(name="verkauf")})
    assert response.status_code == 422
    assert "This client already has a team of that name." in _text(response)
    response = client.post(
        path, data={"csrf_token": token, **_team_form(name="Technik", level="2", active="")}
    )
    assert response.status_code == 302
    edited = next(item for item in _teams(world) if item.id == team.id)
    assert (edited.active, edited.ack_minutes) == (False, 30)
    with tenancy.only(world.alpha.id):
        assert members_of(edited) == []


def test_another_clients_team_and_rule_are_not_found(client: FlaskClient, world: World) -> None:
    sign_in(client, world.alpha_admin.email)
    token = csrf_token(client, "/portal/teams")
    assert client.get(f"/portal/teams/{world.beta_team.id}").status_code == 404
    assert (
        client.post(
            f"/portal/teams/{world.beta_team.id}", data={"csrf_token": token, **_team_form()}
        ).status_code
        == 404
    )
    assert client.get(f"/portal/rules/{world.beta_rule.id}").status_code == 404
    assert (
        client.post(f"/portal/rules/{world.beta_rule.id}/delete", data={"csrf_token": token}).status_code
        == 404
    )
    assert (
        client.post(f"/portal/rules/{world.beta_rule.id}/move", data={"csrf_token": token}).status_code == 404
    )
    assert "Facturation" not in _text(client.get("/portal/teams"))
    with tenancy.only(world.beta.id):
        assert db.session.get(EscalationRule, world.beta_rule.id) is not None


def test_the_team_list_links_the_rota_and_deliveries(client: FlaskClient, world: World) -> None:
    with tenancy.only(world.alpha.id):
        team = make_team(world.alpha, "Technik")
        db.session.commit()
    sign_in(client, world.alpha_admin.email)
    page = _text(client.get("/portal/teams"))
    assert f"/portal/teams/{team.id}/rota" in page
    assert f"/portal/teams/{team.id}/deliveries" in page


# --- routing rules ------------------------------------------------------------------------------


def _rule_rows(world: World) -> list[EscalationRule]:
    with tenancy.only(world.alpha.id):
        rules = routing.rules_of(world.alpha.id)
        for rule in rules:
            db.session.refresh(rule)
        return rules


def test_the_admin_adds_edits_orders_and_deletes_rules(client: FlaskClient, world: World) -> None:
    with tenancy.only(world.alpha.id):
        technik = make_team(world.alpha, "Technik")
        buchhaltung = make_team(world.alpha, "Buchhaltung", level=3)
        db.session.commit()
    sign_in(client, world.alpha_admin.email)
    token = csrf_token(client, "/portal/rules/new")
    response = client.post(
        "/portal/rules/new",
        data={
            "csrf_token": token,
            "team_id": str(buchhaltung.id),
            "categories": ["billing_payment"],
            "priorities": ["high", "urgent"],
            "languages": ["de"],
            "keywords": "Rechnung, invoice , ",
            "active": "1",
        },
    )
    assert response.status_code == 302
    client.post("/portal/rules/new", data={"csrf_token": token, "team_id": str(technik.id), "active": "1"})
    page = _text(client.get("/portal/rules"))
    assert "Rule added." in page
    assert "Billing or payment" in page
    assert "High, Urgent" in page
    assert "Rechnung" in page
    assert "Always" in page
    first, second = _rule_rows(world)
    assert (first.team_id, first.keywords, second.team_id) == (
        buchhaltung.id,
        ["Rechnung", "invoice"],
        technik.id,
    )

    client.post(f"/portal/rules/{second.id}/move", data={"csrf_token": token, "direction": "up"})
    assert [rule.id for rule in _rule_rows(world)] == [second.id, first.id]

    path = f"/portal/rules/{first.id}"
    page = _text(client.get(path))
    assert 'value="billing_payment" checked' in page
    assert 'value="Rechnung, invoice"' in page
    response = client.post(
        path, data={"csrf_token": token, "team_id": str(technik.id), "keywords": "Mahnung"}
    )
    assert response.status_code == 302
    edited = next(rule for rule in _rule_rows(world) if rule.id == first.id)
    assert (edited.team_id, edited.keywords, edited.categories, edited.active) == (
        technik.id,
        ["Mahnung"],
        [],
        False,
    )

    response = client.post(f"/portal/rules/{first.id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    assert "Rule deleted." in _text(client.get("/portal/rules"))
    assert [rule.id for rule in _rule_rows(world)] == [second.id]


def test_an_invalid_rule_is_refused_with_what_was_chosen_kept(client: FlaskClient, world: World) -> None:
    sign_in(client, world.alpha_admin.email)
    token = csrf_token(client, "/portal/rules/new")
    response = client.post(
        "/portal/rules/new",
        data={
            "csrf_token": token,
            "team_id": str(world.beta_team.id),
            "languages": ["fr"],
            "priorities": ["high"],
            "organization_ids": [str(world.beta_organization.id)],
            "keywords": "Rechnung",
        },
    )
    assert response.status_code == 422
    page = _text(response)
    assert "Choose one of this client's teams." in page
    assert "Choose among the client's languages." in page
    assert "Choose among the client's organisations." in page
    assert 'value="high" checked' in page
    assert 'value="Rechnung"' in page
    assert _rule_rows(world) == []


def test_the_test_box_shows_which_team_the_rules_pick(client: FlaskClient, world: World) -> None:
    with tenancy.only(world.alpha.id):
        technik = make_team(world.alpha, "Technik")
        buchhaltung = make_team(world.alpha, "Buchhaltung", level=3)
        routing.save_rule(world.alpha.id, routing.RuleInput(team_id=buchhaltung.id, keywords=["Rechnung"]))
        invoice = make_ticket(world.alpha, subject="Rechnung falsch", key="rules-1")
        other = make_ticket(world.alpha, subject="Gerät defekt", key="rules-2")
        db.session.commit()
    sign_in(client, world.alpha_admin.email)
    page = _text(client.get(f"/portal/rules?number=ALPHA-{invoice.number}"))
    assert f"ALPHA-{invoice.number} would go to Buchhaltung." in page
    page = _text(client.get(f"/portal/rules?number={other.number}"))
    assert f"ALPHA-{other.number} would go to {technik.name}." in page
    page = _text(client.get(f"/portal/rules?number=BETA-{world.beta_ticket.number}"))
    assert f"Alpha AG has no ticket BETA-{world.beta_ticket.number}." in page


# --- customer notices ---------------------------------------------------------------------------


def test_the_customer_is_told_in_their_language_with_the_clients_own_text(
    client: FlaskClient, world: World, smtp_to
) -> None:
    sign_in(client, world.alpha_admin.email)
    token = csrf_token(client, "/portal/notices")
    response = client.post(
        "/portal/notices",
        data={
            "csrf_token": token,
            "text_de": "Grüezi {contact_name}, Ihr Anliegen {ticket_number} ({subject}) "
            "liegt bei unseren Fachleuten.",
            "text_en": "Hello {contact_name}, specialists now handle {ticket_number}.",
        },
    )
    assert response.status_code == 302
    assert "Grüezi {contact_name}" in _text(client.get("/portal/notices"))
    with tenancy.only(world.alpha.id):
        db.session.refresh(world.alpha)  # saved by the request, in its own session
        team = make_team(world.alpha, "Technik")
        german = make_ticket(
            world.alpha, subject="Drucker", email="de@example.ch", language="de", key="n-1", name="Urs Meier"
        )
        english = make_ticket(
            world.alpha, subject="Printer", email="en@example.com", language="en", key="n-2", name="Ann Lee"
        )
        make_escalation(german, world.agent_alpha, team, tell_customer=True)
        make_escalation(english, world.agent_alpha, team, tell_customer=True)
        jobs.commit()
    mails: dict[str, str] = {}
    for mail in smtp_to.messages:
        mails[mail["To"]] = mails.get(mail["To"], "") + mail.get_body(("plain",)).get_content()
    assert (
        f"Grüezi Urs Meier, Ihr Anliegen ALPHA-{german.number} (Drucker) liegt bei unseren Fachleuten."
        in mails["de@example.ch"]
    )
    assert f"Hello Ann Lee, specialists now handle ALPHA-{english.number}." in mails["en@example.com"]


def test_a_notice_with_an_unknown_placeholder_is_refused_and_kept(client: FlaskClient, world: World) -> None:
    sign_in(client, world.alpha_admin.email)
    token = csrf_token(client, "/portal/notices")
    response = client.post(
        "/portal/notices", data={"csrf_token": token, "text_de": "Hallo {kunde}", "text_en": "Fine."}
    )
    assert response.status_code == 422
    page = _text(response)
    assert "Unknown placeholder: {kunde}." in page
    assert "Hallo {kunde}" in page
    with tenancy.only(world.alpha.id):
        db.session.refresh(world.alpha)
        assert world.alpha.escalation_notices in ({}, None)


# --- the provider admin sets up a client's escalation paths ------------------------------------


def test_the_provider_admin_sets_up_a_clients_teams_rules_and_notices(
    client: FlaskClient, world: World
) -> None:
    sign_in(client, "admin@provider.example")
    settings = _text(client.get(f"/sla/?tenant_id={world.alpha.id}"))
    assert f'href="/portal/clients/{world.alpha.id}/teams"' in settings
    base = f"/portal/clients/{world.alpha.id}"
    teams_page = _text(client.get(f"{base}/teams"))
    assert "Alpha AG" in teams_page
    assert f'href="{base}/teams/new"' in teams_page
    assert f'href="{base}/rules"' in teams_page
    token = csrf_token(client, f"{base}/teams/new")
    created = client.post(f"{base}/teams/new", data={"csrf_token": token, **_team_form()})
    assert created.status_code == 302
    assert created.location.endswith(f"{base}/teams")
    [team] = [team for team in _teams(world) if team.name == "Buchhaltung"]
    assert team.tenant_id == world.alpha.id

    form = {"csrf_token": token, "team_id": str(team.id), "keywords": "Rechnung", "active": "1"}
    assert client.post(f"{base}/rules/new", data=form).status_code == 302
    with tenancy.only(world.alpha.id):
        assert [rule.team_id for rule in routing.rules_of(world.alpha.id)] == [team.id]
    texts = {f"text_{lang}": "" for lang in world.alpha.languages}
    texts["text_de"] = "Unsere Spezialisten kümmern sich um {ticket_number}."
    assert client.post(f"{base}/notices", data={"csrf_token": token, **texts}).status_code == 302
    with tenancy.only(world.alpha.id):
        db.session.refresh(world.alpha)
        assert world.alpha.escalation_notices["de"].startswith("Unsere Spezialisten")
    # The team's own pages (rota, deliveries) open for the provider admin too.
    assert client.get(f"/portal/teams/{team.id}/rota").status_code == 200


def test_a_team_or_rule_of_another_client_than_the_one_in_the_url_is_not_found(
    client: FlaskClient, world: World
) -> None:
    sign_in(client, "admin@provider.example")
    base = f"/portal/clients/{world.alpha.id}"
    token = csrf_token(client, f"{base}/teams")
    assert client.get(f"{base}/teams/{world.beta_team.id}").status_code == 404
    assert client.get(f"{base}/rules/{world.beta_rule.id}").status_code == 404
    deleted = client.post(f"{base}/rules/{world.beta_rule.id}/delete", data={"csrf_token": token})
    assert deleted.status_code == 404
    assert client.get("/portal/teams/new").status_code == 404  # no client chosen


def test_a_client_admin_cannot_reach_another_client_through_the_provider_urls(
    client: FlaskClient, world: World
) -> None:
    sign_in(client, world.alpha_admin.email)
    assert client.get(f"/portal/clients/{world.beta.id}/teams").status_code == 404
    assert client.get(f"/portal/clients/{world.alpha.id}/teams").status_code == 200
    supervisor = client.application.test_client()
    sign_in(supervisor, "supervisor@provider.example")
    assert supervisor.get(f"/portal/clients/{world.alpha.id}/teams").status_code == 403
