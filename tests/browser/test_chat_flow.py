"""A customer opens Alpina's support page, starts a live chat in German from the widget; Anna
(signed in to the console in another browser) sees it waiting, accepts it and answers; the
customer sees the answer; Anna ends the chat and lands on the ticket holding the transcript."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
SHOTS = Path("test-results")


def test_visitor_chats_with_an_agent_who_answers_and_ends_it(browser, live_server, live_instance) -> None:
    from playwright.sync_api import expect

    # Anna serves Alpina in German and is available (the demo sets her so).
    agent = browser.new_context(base_url=live_server, locale="de-CH")
    console = agent.new_page()
    console.goto("/login")
    console.fill("#email", "anna@firstline.example")
    console.fill("#password", "firstline-demo")
    console.click("button[type=submit].btn-primary")
    console.wait_for_url("**/")
    console.locator("nav.mainnav a[href$='/agent/chats']").click()
    console.wait_for_url("**/agent/chats")

    # The customer, on Alpina's page with the one-line widget script.
    customer = browser.new_context(base_url=live_server, locale="de-CH")
    site = customer.new_page()
    site.goto("/t/alpina/")
    site.locator("#flc-launcher").click()
    expect(site.locator("#flc-name")).to_be_visible()
    expect(site.locator("#flc-language")).to_have_value("de")
    site.fill("#flc-name", "Heidi Brunner")
    site.fill("#flc-email", "heidi.brunner@example.com")
    site.fill("#flc-topic", "Backofen heizt nicht")
    site.locator("#flc-start").click()
    expect(site.locator("#flc-input")).to_be_visible()
    expect(site.locator("#flc-log li.flc-system")).to_have_count(1)

    # The chat appears in Anna's queue by itself (server-sent events), and she accepts it.
    waiting = console.locator("#chat-queue li", has_text="Heidi Brunner")
    expect(waiting).to_be_visible(timeout=15_000)
    expect(waiting).to_contain_text("Backofen heizt nicht")
    waiting.locator("button[type=submit]").click()
    console.wait_for_url(re.compile(r".*/agent/chats/\d+$"))
    expect(console.locator(".context-panel .client-card")).to_contain_text("Alpina Haushaltgeräte AG")
    expect(console.locator(".context-panel .client-card")).to_contain_text("Grüezi")

    # The customer writes (markup stays text), Anna sees it live and answers.
    site.fill("#flc-input", "Der Ofen bleibt kalt <b>seit gestern</b>.")
    site.locator("#flc-input").press("Enter")
    line = console.locator("#chat-log li.chat-visitor", has_text="seit gestern")
    expect(line).to_be_visible(timeout=15_000)
    expect(line.locator(".msg-body")).to_have_text("Der Ofen bleibt kalt <b>seit gestern</b>.")
    expect(console.locator("#chat-log b")).to_have_count(0)
    console.fill("#chat-body", "Bitte prüfen Sie, ob die Kindersicherung aktiv ist.")
    console.locator("#chat-body").press("Enter")
    expect(site.locator("#flc-log li.flc-agent", has_text="Kindersicherung")).to_be_visible(timeout=15_000)
    expect(site.locator("#flc-log li.flc-agent .flc-name")).to_have_text("Anna Meier")

    # Anna ends the chat: the customer is told, the ticket holds the transcript.
    console.locator("#end-chat").click()
    console.wait_for_url(re.compile(r".*/agent/tickets/\d+$"))
    transcript = console.locator(".timeline .msg-chat_transcript")
    expect(transcript).to_contain_text("Heidi Brunner: Der Ofen bleibt kalt <b>seit gestern</b>.")
    expect(transcript).to_contain_text("Anna Meier: Bitte prüfen Sie, ob die Kindersicherung aktiv ist.")
    expect(site.locator("#flc-notice")).to_be_visible(timeout=15_000)
    expect(site.locator("#flc-send-transcript")).to_be_visible()

    ticket_id = int(console.url.rsplit("/", 1)[1])
    with sqlite3.connect(f"file:{live_instance / 'firstline.db'}?mode=ro", uri=True) as db:
        ticket = db.execute(
            "SELECT channel, language, subject, assignee_id IS NOT NULL FROM tickets WHERE id = ?",
            (ticket_id,),
        ).fetchone()
        chat = db.execute(
            "SELECT status, ended_by FROM chat_sessions WHERE ticket_id = ?", (ticket_id,)
        ).fetchone()
        kinds = [k for (k,) in db.execute("SELECT kind FROM messages WHERE ticket_id = ?", (ticket_id,))]
    assert ticket == ("chat", "de", "Backofen heizt nicht", 1)
    assert chat == ("ended", "agent")
    assert "chat_transcript" in kinds

    SHOTS.mkdir(exist_ok=True)
    site.screenshot(path=str(SHOTS / "chat-widget-ended.png"))
    console.screenshot(path=str(SHOTS / "chat-ticket-transcript.png"), full_page=True)
    customer.close()
    agent.close()
