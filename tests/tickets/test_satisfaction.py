"""The satisfaction survey: mailed once when a ticket is resolved, in the ticket's language and
the client's name; one click rates, the page takes a comment; the answer shows on the ticket."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from flask import Flask, template_rendered
from flask.testing import FlaskClient
from flask_babel import get_locale
from sqlalchemy import select

from core import jobs, tenancy
from core.extensions import db
from core.models_base import utcnow
from core.outbox import OutboxMessage
from tests.conftest import api_as, csrf_token, sign_in
from tests.factories import World, make_ticket
from tickets import satisfaction
from tickets import services as tickets
from tickets.models import Contact, SatisfactionSurvey, Status, Ticket

LINK_RE = re.compile(r"(https?://\S+/t/(\w+)/rate/([\w-]+)/(\d))")


def _resolve(ticket: Ticket, now=None) -> None:
    with tenancy.only(ticket.tenant_id):
        tickets.set_status(ticket, Status.RESOLVED, now=now)
        jobs.commit()


def _survey_mails(tenant_id: int) -> list[OutboxMessage]:
    with tenancy.only(tenant_id):
        return list(
            db.session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "email", OutboxMessage.dedupe_key.like("csat:%"))
                .order_by(OutboxMessage.id)
            )
        )


def _survey(ticket: Ticket) -> SatisfactionSurvey | None:
    with tenancy.only(ticket.tenant_id):
        return satisfaction.survey_of(ticket)


def _links(text: str) -> dict[int, str]:
    """The rating links of a mail's plain text, as paths for the test client."""
    return {int(rating): urlsplit(url).path for url, _slug, _token, rating in LINK_RE.findall(text)}


@pytest.fixture
def rendered_locales(app: Flask) -> Iterator[dict[str, str]]:
    """The locale each template was rendered in (the mail is rendered inside force_locale)."""
    seen: dict[str, str] = {}

    def record(sender: Flask, template, context, **extra) -> None:
        seen[template.name] = str(get_locale())

    template_rendered.connect(record, app)
    try:
        yield seen
    finally:
        template_rendered.disconnect(record, app)


def test_resolving_mails_one_survey_in_the_tickets_language(
    world: World, smtp_to, rendered_locales: dict[str, str]
) -> None:
    ticket = world.beta_ticket
    with tenancy.only(world.beta.id):
        world.beta.signatures = {"fr": "Cordialement\nService client Beta"}
    _resolve(ticket)
    rows = _survey_mails(world.beta.id)
    assert len(rows) == 1
    mail = smtp_to.messages[-1]
    assert mail["To"] == "client@example.fr"
    assert "Beta AG" in mail["From"]
    assert "support@beta.example" in mail["From"]
    assert mail["Subject"].startswith(f"[BETA-{ticket.number}]")
    assert mail["Auto-Submitted"] == "auto-generated"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Service client Beta" in text
    assert 'lang="fr"' in html
    assert rendered_locales["tickets/email/satisfaction.txt"] == "fr"
    assert rendered_locales["tickets/email/satisfaction.html"] == "fr"
    links = _links(text)
    assert sorted(links) == [1, 2, 3, 4, 5]
    survey = _survey(ticket)
    assert survey is not None
    assert (survey.language, survey.rating, survey.answered_at) == ("fr", None, None)
    assert all(path == f"/t/beta/rate/{survey.token}/{n}" for n, path in links.items())
    assert html.count(f"/t/beta/rate/{survey.token}/") == 5


def test_one_click_records_the_rating_and_shows_the_page(client: FlaskClient, world: World) -> None:
    ticket = world.beta_ticket
    _resolve(ticket)
    links = _links(_survey_mails(world.beta.id)[0].payload["text"])
    assert client.head(links[1]).status_code == 200
    assert _survey(ticket).answered_at is None
    response = client.get(links[4])
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert 'id="rating-chosen"' in page
    assert re.search(r'id="rating-4"\s+checked', page)
    assert not re.search(r'id="rating-5"\s+checked', page)
    assert 'name="comment"' in page
    assert "Beta AG" in page
    survey = _survey(ticket)
    assert survey.rating == 4
    assert survey.answered_at is not None
    with tenancy.only(world.beta.id):
        rated = [e for e in tickets.history_of(ticket) if e.kind == "satisfaction"]
    assert len(rated) == 1
    assert rated[0].data["rating"] == 4
    assert rated[0].actor_label == "Chris Customer"


def test_a_second_click_changes_the_rating_and_a_reload_changes_nothing(
    client: FlaskClient, world: World
) -> None:
    ticket = world.beta_ticket
    _resolve(ticket)
    links = _links(_survey_mails(world.beta.id)[0].payload["text"])
    client.get(links[2])
    first = _survey(ticket).answered_at
    assert client.get(links[5]).status_code == 200
    assert client.get(links[5]).status_code == 200
    survey = _survey(ticket)
    assert survey.rating == 5
    assert survey.answered_at >= first
    with tenancy.only(world.beta.id):
        rated = [e.data["rating"] for e in tickets.history_of(ticket) if e.kind == "satisfaction"]
    assert rated == [2, 5]


def test_the_comment_is_posted_with_the_form(client: FlaskClient, world: World) -> None:
    ticket = world.beta_ticket
    _resolve(ticket)
    links = _links(_survey_mails(world.beta.id)[0].payload["text"])
    client.get(links[3])
    page_path = links[3].rsplit("/", 1)[0]
    token = csrf_token(client, page_path)
    response = client.post(
        page_path, data={"csrf_token": token, "rating": "4", "comment": "Très rapide, merci."}
    )
    assert response.status_code == 302
    page = client.get(page_path).get_data(as_text=True)
    assert "Très rapide, merci." in page
    assert re.search(r'id="rating-4"\s+checked', page)
    survey = _survey(ticket)
    assert (survey.rating, survey.comment) == (4, "Très rapide, merci.")


def test_a_page_without_rating_asks_for_one(client: FlaskClient, world: World) -> None:
    _resolve(world.beta_ticket)
    survey = _survey(world.beta_ticket)
    path = f"/t/beta/rate/{survey.token}"
    page = client.get(path).get_data(as_text=True)
    assert 'id="rating-chosen"' not in page
    assert not re.search(r'id="rating-\d"\s+checked', page)
    response = client.post(path, data={"csrf_token": csrf_token(client, path), "comment": "Bof."})
    assert response.status_code == 422
    assert 'id="rating-error"' in response.get_data(as_text=True)
    assert _survey(world.beta_ticket).answered_at is None


def test_the_comment_form_needs_its_csrf_token(client: FlaskClient, world: World) -> None:
    _resolve(world.beta_ticket)
    survey = _survey(world.beta_ticket)
    response = client.post(f"/t/beta/rate/{survey.token}", data={"rating": "1", "comment": "x"})
    assert response.status_code == 400
    assert _survey(world.beta_ticket).answered_at is None


def test_a_too_long_comment_is_refused_with_its_message(client: FlaskClient, world: World) -> None:
    _resolve(world.beta_ticket)
    survey = _survey(world.beta_ticket)
    path = f"/t/beta/rate/{survey.token}"
    data = {"csrf_token": csrf_token(client, path), "rating": "2", "comment": "x" * 2001}
    response = client.post(path, data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="comment-error"' in page
    assert re.search(r'id="rating-2"\s+checked', page)
    assert _survey(world.beta_ticket).answered_at is None


@pytest.mark.parametrize("rating", ["0", "6", "99", "x", "-1"])
def test_a_rating_outside_one_to_five_is_a_404(client: FlaskClient, world: World, rating: str) -> None:
    _resolve(world.beta_ticket)
    survey = _survey(world.beta_ticket)
    assert client.get(f"/t/beta/rate/{survey.token}/{rating}").status_code == 404
    assert _survey(world.beta_ticket).answered_at is None


def test_unknown_tokens_and_other_clients_slugs_are_404_pages(client: FlaskClient, world: World) -> None:
    _resolve(world.beta_ticket)
    survey = _survey(world.beta_ticket)
    for path in (
        f"/t/alpha/rate/{survey.token}/5",
        f"/t/alpha/rate/{survey.token}",
        "/t/beta/rate/not-a-token/5",
        f"/t/beta/rate/{'x' * 300}/5",
        f"/t/nobody/rate/{survey.token}/5",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "<html" in response.get_data(as_text=True)
    assert _survey(world.beta_ticket).answered_at is None


def test_no_survey_when_the_client_switched_it_off(world: World) -> None:
    with tenancy.only(world.beta.id):
        world.beta.csat_enabled = False
    _resolve(world.beta_ticket)
    assert _survey(world.beta_ticket) is None
    assert _survey_mails(world.beta.id) == []


def test_no_survey_without_a_working_address(world: World) -> None:
    with tenancy.system_scope():
        phone_only = make_ticket(world.alpha, subject="Kein Mail", email="nomail@example.com", key="nomail")
        bouncing = make_ticket(world.alpha, subject="Bounce", email="bounce@example.com", key="bounce")
        db.session.get_one(Contact, phone_only.contact_id).email = None
        db.session.get_one(Contact, bouncing.contact_id).email_failing_since = utcnow()
        jobs.commit()
    _resolve(phone_only)
    _resolve(bouncing)
    assert _survey(phone_only) is None
    assert _survey(bouncing) is None
    assert _survey_mails(world.alpha.id) == []


def test_no_survey_for_a_merged_duplicate(world: World) -> None:
    with tenancy.system_scope():
        other = make_ticket(world.alpha, subject="Noch einmal", email="anna.kunde@example.com", key="dup")
        other.merged_into_id = world.alpha_ticket.id
        jobs.commit()
    _resolve(other)
    assert _survey(other) is None


def test_reopened_and_resolved_again_asks_again_only_until_answered(
    client: FlaskClient, world: World
) -> None:
    ticket = world.alpha_ticket
    now = utcnow()
    _resolve(ticket, now)
    with tenancy.only(world.alpha.id):
        tickets.set_status(ticket, Status.OPEN)
    _resolve(ticket, now + timedelta(hours=1))
    mails = _survey_mails(world.alpha.id)
    assert len(mails) == 2
    assert _links(mails[0].payload["text"]) == _links(mails[1].payload["text"])
    client.get(_links(mails[1].payload["text"])[1])
    with tenancy.only(world.alpha.id):
        tickets.set_status(ticket, Status.OPEN)
    _resolve(ticket, now + timedelta(hours=2))
    assert len(_survey_mails(world.alpha.id)) == 2
    with tenancy.only(world.alpha.id):
        assert db.session.query(SatisfactionSurvey).filter_by(ticket_id=ticket.id).count() == 1
    assert _survey(ticket).rating == 1


def test_the_answer_shows_on_the_ticket_page_and_in_the_api(client: FlaskClient, world: World) -> None:
    ticket = world.beta_ticket
    _resolve(ticket)
    api = api_as(client, "agent.both@provider.example")
    assert api.get(f"/api/v1/tickets/{ticket.id}").get_json()["satisfaction"] is None
    sign_in(client, "agent.both@provider.example")
    page = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    assert 'id="satisfaction-pending"' in page
    with tenancy.only(world.beta.id):
        satisfaction.answer(_survey(ticket), 2, "La facture était toujours fausse.", utcnow())
        jobs.commit()
    page = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    assert "2/5: Dissatisfied" in page
    assert "La facture était toujours fausse." in page
    assert 'id="satisfaction-pending"' not in page
    body = api.get(f"/api/v1/tickets/{ticket.id}").get_json()["satisfaction"]
    assert (body["rating"], body["comment"]) == (2, "La facture était toujours fausse.")
    assert body["answered_at"]
    listed = api.get(f"/api/v1/tickets?tenant_id={world.beta.id}").get_json()["data"]
    assert next(t for t in listed if t["id"] == ticket.id)["satisfaction"]["rating"] == 2
    contact_tickets = api.get(f"/api/v1/contacts/{ticket.contact_id}/tickets").get_json()["data"]
    assert contact_tickets[0]["satisfaction"]["rating"] == 2


def test_the_openapi_document_describes_the_rating(client: FlaskClient, world: World) -> None:
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert "satisfaction" in schemas["TicketOut"]["properties"]
    assert set(schemas["SatisfactionOut"]["properties"]) == {"rating", "comment", "answered_at"}


def test_the_client_portal_shows_the_answer_on_the_escalated_ticket(
    client: FlaskClient, world: World
) -> None:
    ticket = world.beta_ticket
    _resolve(ticket)
    with tenancy.only(world.beta.id):
        satisfaction.answer(_survey(ticket), 5, None, utcnow())
        jobs.commit()
    sign_in(client, "expert@beta.example")
    page = client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert 'id="satisfaction-rating"' in page
    assert "5/5" in page


def test_the_answer_is_validated_by_the_service(world: World) -> None:
    from core.errors import ValidationFailed

    _resolve(world.beta_ticket)
    survey = _survey(world.beta_ticket)
    with tenancy.only(world.beta.id):
        for rating, comment, field in ((0, None, "rating"), (6, None, "rating"), (3, "x" * 2001, "comment")):
            with pytest.raises(ValidationFailed) as failed:
                satisfaction.answer(survey, rating, comment, utcnow())
            assert field in failed.value.fields


def test_the_client_admin_switches_the_survey_and_the_report(client: FlaskClient, world: World) -> None:
    sign_in(client, "admin@beta.example")
    page = client.get("/portal/notices").get_data(as_text=True)
    assert re.search(r'id="csat-enabled"\s+checked', page)
    token = csrf_token(client, "/portal/notices")
    response = client.post("/portal/feedback", data={"csrf_token": token, "monthly_report": "on"})
    assert response.status_code == 302
    with tenancy.only(world.beta.id):
        db.session.refresh(world.beta)
        assert (world.beta.csat_enabled, world.beta.monthly_report) == (False, True)
    _resolve(world.beta_ticket)
    assert _survey(world.beta_ticket) is None


def test_the_provider_admin_switches_them_on_the_clients_page(client: FlaskClient, world: World) -> None:
    sign_in(client, "admin@provider.example")
    page = client.get(f"/admin/tenants/{world.alpha.id}").get_data(as_text=True)
    assert 'id="feedback-form"' in page
    token = csrf_token(client, f"/admin/tenants/{world.alpha.id}")
    response = client.post(f"/admin/tenants/{world.alpha.id}/feedback", data={"csrf_token": token})
    assert response.status_code == 302
    with tenancy.only(world.alpha.id):
        db.session.refresh(world.alpha)
        assert (world.alpha.csat_enabled, world.alpha.monthly_report) == (False, False)
    response = client.post(
        f"/admin/tenants/{world.alpha.id}/feedback",
        data={"csrf_token": token, "csat_enabled": "on", "monthly_report": "on"},
    )
    with tenancy.only(world.alpha.id):
        db.session.refresh(world.alpha)
        assert (world.alpha.csat_enabled, world.alpha.monthly_report) == (True, True)
