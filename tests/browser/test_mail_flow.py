"""A customer mails Alpina's support address through the demo's own SMTP listener (smtplib); the
mail becomes a German ticket with an acknowledgement; Anna answers it in the browser; the answer
arrives at a real SMTP server as a threaded reply in Alpina's name; the customer's answer to it
threads back onto the same ticket, with the quoted history trimmed."""

from __future__ import annotations

import re
import smtplib
import time
import uuid
from email.message import EmailMessage

import pytest

from tests.browser.conftest import signed_in

pytestmark = pytest.mark.browser

CUSTOMER = "peter.keller@example.ch"


def _send(port: int, message: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(message)


def _wait_for(sink, predicate, timeout: float = 20.0):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in sink.messages if predicate(m)]
        if found:
            return found[-1]
        time.sleep(0.2)
    pytest.fail(f"no such mail arrived; got {[m['Subject'] for m in sink.messages]}")


def test_mail_is_answered_in_the_clients_name_and_the_answer_threads_back(
    browser, live_server, live_mail
) -> None:
    from playwright.sync_api import expect

    question_id = f"<{uuid.uuid4().hex}@example.ch>"
    question = EmailMessage()
    question["From"] = f"Peter Keller <{CUSTOMER}>"
    question["To"] = "Alpina Kundendienst <support@alpina.example>"
    question["Subject"] = "Waschmaschine schleudert nicht mehr"
    question["Message-ID"] = question_id
    question.set_content(
        "Guten Tag\n\nUnsere Waschmaschine WA 800 schleudert seit gestern nicht mehr, "
        "das Wasser bleibt in der Trommel stehen.\n\nFreundliche Grüsse\nPeter Keller"
    )
    _send(live_mail.listen_port, question)

    ack = _wait_for(live_mail.sink, lambda m: m["To"] == CUSTOMER and m["In-Reply-To"] == question_id)
    number = re.search(r"ALPINA-\d+", ack["Subject"]).group(0)
    assert "support@alpina.example" in ack["From"]

    agent, page = signed_in(browser, live_server, "anna@firstline.example", "de-CH")
    page.goto("/agent/")
    page.locator("table.inbox a", has_text=number).click()
    expect(page.locator("h1")).to_have_text("Waschmaschine schleudert nicht mehr")
    expect(page.locator(".ticket-meta")).to_contain_text("E-Mail")
    expect(page.locator(".timeline")).to_contain_text(CUSTOMER)
    page.locator("#body").fill(
        "Grüezi Herr Keller\n\nBitte reinigen Sie das Flusensieb unten rechts an der Front."
    )
    page.locator("form[action$='/reply'] button[type=submit].btn-primary").click()
    expect(page.locator(".timeline .msg-reply")).to_contain_text("Flusensieb")

    reply = _wait_for(live_mail.sink, lambda m: m["To"] == CUSTOMER and "Flusensieb" in str(m))
    assert reply["In-Reply-To"] == question_id
    assert question_id in reply["References"]
    assert number in reply["Subject"]
    assert "support@alpina.example" in reply["From"]
    assert "support@alpina.example" in reply["Reply-To"]
    assert reply["X-Loop"].startswith("firstline ")
    assert reply.get_body(("html",)) is not None

    answer = EmailMessage()
    answer["From"] = f"Peter Keller <{CUSTOMER}>"
    answer["To"] = "support@alpina.example"
    answer["Subject"] = f"Re: {reply['Subject']}"
    answer["Message-ID"] = f"<{uuid.uuid4().hex}@example.ch>"
    answer["In-Reply-To"] = reply["Message-ID"]
    answer["References"] = f"{question_id} {reply['Message-ID']}"
    answer.set_content(
        "Das Sieb war voller Flusen, jetzt schleudert sie wieder. Vielen Dank!\n\n"
        "Am 23.11.2026 um 10:02 schrieb Alpina Haushaltgeräte AG <support@alpina.example>:\n"
        "> Grüezi Herr Keller\n> Bitte reinigen Sie das Flusensieb unten rechts an der Front."
    )
    _send(live_mail.listen_port, answer)

    inbound = page.locator(".timeline .msg-inbound")
    deadline = time.monotonic() + 20
    while inbound.count() < 2 and time.monotonic() < deadline:
        time.sleep(0.3)
        page.reload()
    expect(inbound).to_have_count(2)
    latest = inbound.nth(1).locator(".msg-body").first
    expect(latest).to_have_text("Das Sieb war voller Flusen, jetzt schleudert sie wieder. Vielen Dank!")
    agent.close()
