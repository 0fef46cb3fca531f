"""A customer writes through Alpina's web form in German; an agent takes it from the inbox with
the keyboard, sees the client's greeting, answers in the client's name and resolves it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import signed_in

pytestmark = pytest.mark.browser
SHOTS = Path("test-results")


def test_web_form_ticket_is_answered_and_resolved_at_first_contact(browser, live_server) -> None:
    customer = browser.new_context(base_url=live_server, locale="de-CH")
    form = customer.new_page()
    form.goto("/t/alpina/contact")
    assert form.locator("html").get_attribute("lang") == "de"
    form.fill("#name", "Vreni Keller")
    form.fill("#email", "vreni.keller@example.com")
    form.select_option("#category", "fault")
    form.fill("#subject", "Backofen heizt nicht mehr")
    form.fill(
        "#message", "Grüezi, unser Backofen BO-700 heizt seit heute Morgen nicht mehr. Was können wir tun?"
    )
    form.click("button[type=submit].btn-primary")
    form.wait_for_url(re.compile(r".*/contact/thanks/.*"))
    number = re.search(r"ALPINA-\d+", form.locator("main").inner_text()).group(0)
    customer.close()

    agent, page = signed_in(browser, live_server, "anna@firstline.example", "en-GB")
    page.goto("/agent/")
    assert number in page.locator("table.inbox").inner_text()
    # Keyboard: j selects the rows in order until ours has focus, Enter opens it.
    rows = page.locator("table.inbox tbody tr")
    index = next(i for i in range(rows.count()) if number in rows.nth(i).inner_text())
    for _ in range(index + 1):
        page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url("**/agent/tickets/*")
    assert "Backofen heizt nicht mehr" in page.locator("h1").inner_text()
    # Anna's profile is German; the client context shows Alpina's greeting in the ticket's language.
    assert (
        "Grüezi, hier ist der Kundendienst von Alpina Haushaltgeräte."
        in page.locator(".context-panel").inner_text()
    )
    page.keyboard.press("r")
    page.locator("#body").fill("Grüezi Frau Keller, bitte prüfen Sie die Sicherung F3 im Sicherungskasten.")
    page.locator("button[name=then][value=resolve]").click()
    page.wait_for_url("**/agent/tickets/*")
    assert "Sicherung F3" in page.locator(".timeline").inner_text()
    assert page.locator(".ticket-meta .status").get_attribute("class").endswith("status-resolved")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "ticket-resolved.png"), full_page=True)
    agent.close()
