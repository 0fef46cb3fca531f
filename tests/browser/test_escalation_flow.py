"""An escalation end to end in the demo: Alpina's admin sets up a team (with Nina, the expert) and
the English text the customer gets; a customer writes in English through the web form; the desk
escalates with the handoff packet; Nina, whose portal is German, finds it in her queue with its
clocks, acknowledges, answers the customer and resolves; the customer's mails arrive in English.

The first test drives the agent's handoff form (`/agent/tickets/<id>/escalate`); the second hands
the ticket over through the escalation service in a separate process and walks the portal side."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.browser.conftest import ROOT, LiveMail, signed_in

pytestmark = pytest.mark.browser

NOTICE_EN = "Dear {contact_name}, our specialists are now looking into {ticket_number}."
PACKET = {
    "summary": "The dryer stops after ten minutes with error E21.",
    "reported": "Dryer TR 500 stops after 10 minutes, display shows E21.",
    "tried": "Cleaned the lint filter and the condenser; the error comes back.",
    "availability": "Weekdays after 17:00 by e-mail.",
}


def _wait_for(sink, predicate, timeout: float = 20.0):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in sink.messages if predicate(m)]
        if found:
            return found[-1]
        time.sleep(0.2)
    pytest.fail(f"no such mail arrived; got {[m['Subject'] for m in sink.messages]}")


def _body(mail) -> str:  # noqa: ANN001
    return mail.get_body(("plain",)).get_content()


def _set_up_team(browser, live_server: str, name: str) -> int:  # noqa: ANN001
    """As Alpina's admin: a second-level team with Nina in it, and the English notice."""
    from playwright.sync_api import expect

    admin, page = signed_in(browser, live_server, "admin@alpina.example", "de-CH")
    page.goto("/portal/teams/new")
    page.fill("#name", name)
    page.select_option("#level", "2")
    page.fill("#ack_minutes", "30")
    page.fill("#resolve_minutes", "480")
    page.get_by_label(re.compile("Nina Huber")).check()
    page.locator("#team-form button[type=submit]").click()
    page.wait_for_url("**/portal/teams")
    link = page.locator("#teams a", has_text=name)
    expect(link).to_be_visible()
    team_id = int(link.get_attribute("href").rsplit("/", 1)[-1])
    page.goto("/portal/notices")
    page.fill("#notice-en", NOTICE_EN)
    page.locator("#notices-form button[type=submit]").click()
    expect(page.locator("#notice-en")).to_have_value(NOTICE_EN)
    admin.close()
    return team_id


def _customer_writes(browser, live_server: str, name: str, email: str, subject: str) -> str:  # noqa: ANN001
    customer = browser.new_context(base_url=live_server, locale="en-GB")
    form = customer.new_page()
    form.goto("/t/alpina/contact")
    form.fill("#name", name)
    form.fill("#email", email)
    form.fill("#subject", subject)
    form.fill("#message", "Hello, my dryer stops after ten minutes and shows E21. What can I do?")
    form.click("button[type=submit].btn-primary")
    form.wait_for_url(re.compile(r".*/contact/thanks/.*"))
    number = re.search(r"ALPINA-\d+", form.locator("main").inner_text()).group(0)
    customer.close()
    return number


def _expert_resolves(browser, live_server: str, live_mail: LiveMail, number: str, email: str) -> None:  # noqa: ANN001
    """Nina (German portal) acknowledges, answers the English customer, and resolves."""
    from playwright.sync_api import expect

    expert, page = signed_in(browser, live_server, "it@alpina.example", "de-CH")
    page.goto("/portal/")
    row = page.locator("#escalations tr", has_text=number)
    expect(row.locator(".resolve-due time")).to_be_visible()
    expect(row.locator(".ack-due")).to_contain_text(re.compile(r"\d"))
    page.locator("#escalations a", has_text=number).click()
    expect(page.locator("#handoff")).to_contain_text("error E21")
    expect(page.locator("#handoff")).to_contain_text("lint filter")
    expect(page.locator("#ack-clock")).to_be_visible()
    page.locator("#acknowledge-form button[type=submit]").click()
    expect(page.locator("#escalation-status")).to_have_text(re.compile("Acknowledged|Bestätigt|Quittiert"))
    expect(page.locator("#ack-clock")).to_have_count(0)

    page.locator("#answer-details summary").click()
    page.fill(
        "#message", "Please check that the exhaust hose is not kinked; E21 means the air flow is blocked."
    )
    page.locator("#answer-form button[type=submit]").click()
    expect(page.locator("#timeline")).to_contain_text("exhaust hose")
    answer = _wait_for(live_mail.sink, lambda m: m["To"] == email and "exhaust hose" in _body(m))
    assert number in answer["Subject"]
    assert "support@alpina.example" in answer["From"]

    page.fill("#answer", "The exhaust hose was kinked; with a straight hose the dryer runs through.")
    page.locator("#resolve-form input[name=to_article]").uncheck()
    page.locator("#resolve-form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/portal/$"))
    expect(page.locator("#closed-escalations")).to_contain_text(number)
    expect(page.locator("#escalations")).not_to_contain_text(number)
    expert.close()
    _wait_for(live_mail.sink, lambda m: m["To"] == email and "straight hose" in _body(m))


def test_the_desk_escalates_with_the_handoff_form_and_the_expert_resolves(
    browser, live_server, live_mail
) -> None:
    from playwright.sync_api import expect

    team_id = _set_up_team(browser, live_server, "Trockner-Team")
    email = "grace.hall@example.co.uk"
    number = _customer_writes(browser, live_server, "Grace Hall", email, "Dryer stops with E21")

    agent, page = signed_in(browser, live_server, "anna@firstline.example", "de-CH")
    page.goto("/agent/")
    page.locator("table.inbox a", has_text=number).click()
    page.goto(page.url.rstrip("/") + "/escalate")
    for name, value in PACKET.items():
        page.fill(f"#{name}", value)
    page.select_option("#urgency", "high")
    page.select_option("#impact", "one")
    page.select_option("#team_id", str(team_id))
    page.locator("[name=tell_customer]").check()
    page.locator("#send-escalation").click()
    expect(page.locator(".ticket-meta .status")).to_have_class(re.compile("status-escalated"))
    agent.close()

    notice = _wait_for(live_mail.sink, lambda m: m["To"] == email and "our specialists" in _body(m))
    assert f"Dear Grace Hall, our specialists are now looking into {number}." in _body(notice)
    _expert_resolves(browser, live_server, live_mail, number, email)


SEED = """
import json
import sys
from sqlalchemy import select
from core import create_app, jobs, tenancy
from core.auth.models import User
from core.extensions import db
from escalations import services
from tenants.models import Tenant
from tickets import services as tickets

app = create_app()
number, team_id, packet = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
with app.test_request_context(), tenancy.system_scope():
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "alpina"))
    agent = db.session.scalar(select(User).where(User.email == "anna@firstline.example"))
    ticket = tickets.find_by_number(tenant.id, number)
    services.escalate(ticket, agent, team_id, packet, tell_customer=True)
    jobs.commit()
"""


def _escalate_in_the_server(live_instance: Path, live_mail: LiveMail, number: str, team_id: int) -> None:
    """The desk's escalation through the one service, against the live server's database."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "MIGRATE_DATABASE_URL", "REDIS_URL", "SMTP_HOST")
    }
    env.update(
        FIRSTLINE_INSTANCE=str(live_instance),
        SMTP_HOST=live_mail.sink.host,
        SMTP_PORT=str(live_mail.sink.port),
    )
    packet = {**PACKET, "urgency": "critical", "impact": "one"}
    subprocess.run(
        [sys.executable, "-c", SEED, number.rsplit("-", 1)[-1], str(team_id), json.dumps(packet)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def test_the_expert_works_an_escalation_from_the_queue_to_the_customer(
    browser, live_server, live_mail, live_instance
) -> None:
    from playwright.sync_api import expect

    team_id = _set_up_team(browser, live_server, "Trockner-Pikett")
    email = "henry.ford@example.co.uk"
    number = _customer_writes(browser, live_server, "Henry Ford", email, "Dryer error E21 again")
    _escalate_in_the_server(live_instance, live_mail, number, team_id)
    notice = _wait_for(live_mail.sink, lambda m: m["To"] == email and "our specialists" in _body(m))
    assert f"Dear Henry Ford, our specialists are now looking into {number}." in _body(notice)

    expert, page = signed_in(browser, live_server, "it@alpina.example", "de-CH")
    page.goto("/portal/")
    expect(page.locator("#escalations tr.priority-urgent", has_text=number)).to_be_visible()
    expert.close()
    _expert_resolves(browser, live_server, live_mail, number, email)
