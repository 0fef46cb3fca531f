"""The knowledge loop, end to end in the demo: Alpina's expert resolves the escalated ticket and
turns the answer into an article, adds the English text and publishes it; Anna is told in her
feed and confirms she read it; the next ticket with the same question, in English, gets the
article suggested and Anna inserts its answer; once the expert made it public, the help center finds it."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import signed_in

pytestmark = pytest.mark.browser

ANSWER_DE = (
    "Die Anzeige blinkt rot, wenn die Kindersicherung aktiv ist. Halten Sie die Start-Taste "
    "3 Sekunden gedrückt, bis die Anzeige grün leuchtet."
)
TITLE_EN = "Dishwasher does not start: display flashes red"
ANSWER_EN = (
    "The display flashes red when the child lock is on. Hold the start button for 3 seconds "
    "until the display turns green."
)


def test_an_experts_answer_becomes_an_article_the_desk_uses_in_another_language(browser, live_server) -> None:
    from playwright.sync_api import expect

    expert, page = signed_in(browser, live_server, "it@alpina.example", "de-CH")
    page.goto("/portal/")
    # The demo's own escalation, among the ones its generated history left open.
    page.locator("#escalations tr", has_text="Geschirrspüler startet nicht").locator("a").first.click()
    expect(page.locator("h1")).to_have_text("Geschirrspüler startet nicht")
    expect(page.locator("#handoff")).to_contain_text("Sieb gereinigt")
    page.fill("#answer", ANSWER_DE)
    page.locator("#resolve-form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/kb/\d+$"))
    expect(page.locator("#kb-status")).to_have_text(re.compile(r"Draft|Entwurf"))
    expect(page.locator("#kb-body")).to_contain_text("Kindersicherung")
    article_url = page.url

    page.locator("nav.tabs a.missing").first.click()
    page.fill("#title", TITLE_EN)
    page.fill("#body", ANSWER_EN)
    page.locator("form.card button[type=submit].btn-primary").click()
    expect(page.locator("#kb-body")).to_contain_text("child lock")
    page.select_option("#visibility", "public")  # drafts from tickets start internal
    page.locator("form[action$='/properties'] button[type=submit]").click()
    page.locator("#kb-approve").click()
    expect(page.locator("#kb-status")).to_have_text(re.compile(r"Published|Veröffentlicht"))
    expert.close()

    agent, page = signed_in(browser, live_server, "anna@firstline.example", "en-GB")
    page.goto("/kb/feed?unread=1")
    entry = page.locator("#kb-feed li", has_text="Geschirrspüler startet nicht")
    expect(entry).to_be_visible()
    entry.locator("button[type=submit]").click()
    expect(
        page.locator("#kb-feed li", has_text="Geschirrspüler startet nicht").locator(".badge-ok")
    ).to_be_visible()

    customer = browser.new_context(base_url=live_server, locale="en-GB")
    form = customer.new_page()
    form.goto("/t/alpina/contact")
    form.fill("#name", "Oliver Grant")
    form.fill("#email", "oliver.grant@example.com")
    form.fill("#subject", "Dishwasher will not start")
    form.fill(
        "#message", "Hello, my new dishwasher does not start and the display flashes red. What can I do?"
    )
    form.click("button[type=submit].btn-primary")
    form.wait_for_url(re.compile(r".*/contact/thanks/.*"))
    number = re.search(r"ALPINA-\d+", form.locator("main").inner_text()).group(0)
    customer.close()

    page.goto("/agent/")
    page.locator("table.inbox a", has_text=number).click()
    suggestion = page.locator("#kb-suggestions li.kb-suggestion", has_text=TITLE_EN)
    expect(suggestion).to_be_visible()
    suggestion.locator("button.kb-insert").click()
    expect(page.locator("#body")).to_have_value(re.compile("child lock"))
    page.locator("form[action$='/reply'] button[name=then][value=resolve]").click()
    expect(page.locator("#kb-suggestions")).to_contain_text(TITLE_EN)
    expect(page.locator(".ticket-meta .status.status-resolved")).to_be_visible()
    agent.close()

    visitor = browser.new_context(base_url=live_server, locale="en-GB")
    help_page = visitor.new_page()
    help_page.goto("/t/alpina/help")
    help_page.locator("input[type=search]").first.fill("display flashes red")
    help_page.locator("input[type=search]").first.press("Enter")
    result = help_page.locator("a", has_text=TITLE_EN)
    expect(result).to_be_visible()
    result.first.click()
    expect(help_page.locator("main")).to_contain_text("child lock")
    visitor.close()
    assert article_url
