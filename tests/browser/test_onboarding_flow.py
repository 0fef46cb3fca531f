"""The provider admin onboards a new client in the wizard, in a real browser (with a step back on
the way and a first KB file); the client appears in the list, its people are invited, and a
customer's mail to its new support address is in the inbox of the agent given to it."""

from __future__ import annotations

import re
import smtplib
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.browser.conftest import signed_in

pytestmark = pytest.mark.browser
SHOTS = Path("test-results")
FAQ = b"title,body,language\nWie entkalke ich den Automaten?,Im Menu Pflege den Entkalker starten.,de\n"


def _wait_for(sink, predicate, timeout: float = 20.0):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in sink.messages if predicate(m)]
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"no such mail arrived; got {[m['Subject'] for m in sink.messages]}")


def test_the_admin_onboards_a_client_and_its_agent_takes_the_first_contact_at_once(
    browser, live_server, live_mail
) -> None:
    from playwright.sync_api import expect

    admin, page = signed_in(browser, live_server, "admin@firstline.example", "en-GB")
    # Petra's profile is German: the test goes by the page's structure, not its words.
    page.locator("nav.mainnav a[href='/admin/tenants']").click()
    page.wait_for_url("**/admin/tenants")
    page.click("#new-client")

    # 1. The client
    page.fill("#f-name", "Gamma Getränke AG")
    page.fill("#f-slug", "gamma")
    page.fill("#f-ticket_prefix", "GAMMA")
    page.check("input[name=languages][value=de]")
    page.check("input[name=languages][value=en]")
    page.select_option("#f-default_language", "de")
    page.fill("#f-timezone", "Europe/Zurich")
    page.fill("#f-currency", "CHF")
    page.click("#next")
    # 2. Business hours; a step back keeps what was typed.
    expect(page.locator("input[name=step]")).to_have_value("calendar")
    page.uncheck("input[name=always_open]")
    for day in range(5):
        page.fill(f"#f-hours_{day}", "08:00-17:00")
    page.select_option("#f-holiday_country", "CH")
    page.click("#back")
    expect(page.locator("#f-name")).to_have_value("Gamma Getränke AG")
    page.click("#next")
    expect(page.locator("#f-hours_0")).to_have_value("08:00-17:00")
    page.click("#next")
    # 3. Channels: the web form and chat keys are generated.
    expect(page.locator("#f-chat_key")).to_have_value(re.compile(r"^gamma-"))
    page.fill("#f-emails", "support@gamma.example")
    page.fill("#f-phones", "+41 44 555 77 00")
    page.click("#next")
    # 4. Greetings and scripts, per language.
    page.fill("#f-greeting_de", "Gamma Getränke, grüezi!")
    page.fill("#f-call_script_de", "Begrüssen, Automatennummer erfragen.")
    page.click("#next")
    # 5. The client's admin and a team; a wrong address is refused where it was typed.
    page.fill("#f-admin_name", "Greta Gamma")
    page.fill("#f-admin_email", "greta@gamma")
    page.fill("#f-team_0_name", "Technik")
    page.fill("#f-team_0_members", "Tom Technik <tom@gamma.example>")
    page.click("#next")
    expect(page.locator("#admin_email-error")).to_be_visible()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "onboarding-people.png"), full_page=True)
    expect(page.locator("#f-admin_email")).to_have_attribute("aria-invalid", "true")
    page.fill("#f-admin_email", "greta@gamma.example")
    page.click("#next")
    # 6. The plan.
    page.fill("#f-plan_name", "Gamma Basic")
    page.fill("#f-plan_base_fee", "500")
    page.click("#next")
    # 7. A first KB import.
    page.set_input_files("#f-kb_file", files=[{"name": "faq.csv", "mimeType": "text/csv", "buffer": FAQ}])
    page.click("#next")
    # 8. The agents trained for it.
    page.locator("label", has_text="anna@firstline.example").locator("input").check()
    page.click("#next")
    # The summary, then one click creates everything.
    summary = page.locator("#wizard")
    for shown in ("Gamma Getränke AG", "support@gamma.example", "Technik", "Gamma Basic", "faq.csv", "Anna"):
        expect(summary).to_contain_text(shown)
    page.screenshot(path=str(SHOTS / "onboarding-summary.png"), full_page=True)
    page.click("#create")
    page.wait_for_url(re.compile(r".*/admin/tenants/\d+$"))
    expect(page.locator("h1")).to_contain_text("Gamma Getränke AG")
    expect(page.locator("#channels")).to_contain_text("support@gamma.example")
    page.screenshot(path=str(SHOTS / "onboarding-created.png"), full_page=True)
    page.goto("/admin/tenants")
    expect(page.locator("#clients tr[data-tenant=gamma]")).to_contain_text("Gamma Basic")
    admin.close()

    # Greta and Tom are invited, in German (the client's language).
    invited = _wait_for(live_mail.sink, lambda m: m["To"] in ("greta@gamma.example", "tom@gamma.example"))
    assert all("eingeladen" in m["Subject"] for m in invited)

    # A customer mails the new support address; Anna has the ticket in her inbox at once.
    question = EmailMessage()
    question["From"] = "Peter Keller <peter.keller@example.ch>"
    question["To"] = "Gamma Kundendienst <support@gamma.example>"
    question["Subject"] = "Automat gibt kein Wechselgeld"
    question.set_content("Grüezi, der Automat im 3. Stock gibt kein Wechselgeld mehr.")
    with smtplib.SMTP("127.0.0.1", live_mail.listen_port, timeout=10) as smtp:
        smtp.send_message(question)
    agent, inbox = signed_in(browser, live_server, "anna@firstline.example", "de-CH")
    inbox.goto("/agent/")
    deadline = time.monotonic() + 20
    while "Automat gibt kein Wechselgeld" not in inbox.locator("table.inbox").inner_text():
        assert time.monotonic() < deadline, "the ticket did not reach Anna's inbox"
        time.sleep(0.3)
        inbox.goto("/agent/")
    inbox.locator("table.inbox a", has_text="GAMMA-").first.click()
    expect(inbox.locator("h1")).to_have_text("Automat gibt kein Wechselgeld")
    expect(inbox.locator(".context-panel")).to_contain_text("Gamma Getränke, grüezi!")
    agent.close()
