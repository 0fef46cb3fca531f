"""A customer calls Lumière's number; the telephony system (simulated here with signed webhooks)
pops the call up for Claire, who sees Lumière's French greeting and call script, makes a ticket
from the call, logs it and resolves it at first contact."""

from __future__ import annotations

import json
import re
import sqlite3
import urllib.request
import uuid
from pathlib import Path

import pytest

from channels import signing
from demo.data import TENANTS
from tests.browser.conftest import signed_in

pytestmark = pytest.mark.browser
SHOTS = Path("test-results")

LUMIERE = next(t for t in TENANTS if t.slug == "lumiere")
LUMIERE_PHONE = "+33155550100"
CALLER = "+33612345678"
GREETING = LUMIERE.greetings["fr"]
SCRIPT_LINES = LUMIERE.call_scripts["fr"].splitlines()


def _database(instance: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{instance / 'firstline.db'}?mode=ro", uri=True)


def _webhook_secret(instance: Path) -> str:
    """The demo gives every tenant a random secret; the telephony system would be told it."""
    with _database(instance) as db:
        (secret,) = db.execute("SELECT webhook_secret FROM tenants WHERE slug = 'lumiere'").fetchone()
    return secret


def _telephony(base: str, secret: str, event: str, call_id: str, **extra: object) -> dict:
    body = json.dumps(
        {"event": event, "call_id": call_id, "from": "+33 6 12 34 56 78", "to": LUMIERE_PHONE, **extra}
    ).encode()
    request = urllib.request.Request(  # noqa: S310 (the live server on 127.0.0.1)
        base + "/api/v1/hooks/telephony",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", signing.HEADER: signing.sign(secret, body)},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200
        return json.loads(response.read())


def test_french_phone_call_is_taken_logged_and_resolved_at_first_contact(
    browser, live_server, live_instance
) -> None:
    from playwright.sync_api import expect

    secret = _webhook_secret(live_instance)
    call_id = f"pbx-{uuid.uuid4().hex}"

    # Claire (French profile, serves Lumière) signs in and opens the screen pop from the main menu.
    agent, page = signed_in(browser, live_server, "claire@firstline.example", "fr-FR")
    assert page.locator("html").get_attribute("lang") == "fr"
    page.locator("nav.mainnav a[href$='/agent/calls']").click()
    page.wait_for_url("**/agent/calls")

    # The phone rings: the page picks the call up by itself (calls.js polls).
    ringing = _telephony(live_server, secret, "call.ringing", call_id)
    assert ringing["status"] == "ringing"
    pop = page.locator("#calls section.call", has_text=CALLER)
    expect(pop).to_be_visible(timeout=15_000)
    expect(pop).to_have_class(re.compile(r"\bcall-ringing\b"))
    expect(pop.locator("h2")).to_contain_text("Lumière Énergie SA")
    expect(pop).to_contain_text(LUMIERE_PHONE)
    # An unknown caller: the client's default language.
    expect(pop).to_contain_text(re.compile("français", re.IGNORECASE))
    expect(pop.locator(".script").first).to_have_text(GREETING)
    script = pop.locator(".script").nth(1)
    for line in SCRIPT_LINES:
        expect(script).to_contain_text(line)
    expect(pop.locator(".fallback")).to_have_count(0)

    # Claire picks up.
    answered = _telephony(
        live_server, secret, "call.answered", call_id, agent_email="claire@firstline.example"
    )
    assert answered["status"] == "answered"
    expect(pop).to_have_class(re.compile(r"\bcall-answered\b"), timeout=15_000)
    expect(pop.locator(".status")).to_have_text("Décroché")

    # A ticket from the call, in French, assigned to her. The page stops refreshing only while a
    # field has focus (calls.js), so the form is sent with Enter from the subject field.
    expect(pop.locator("button[type=submit].btn-primary")).to_have_text(
        "Nouveau ticket à partir de cet appel"
    )
    pop.locator("textarea[name=notes]").fill(
        "Le client n'a plus de courant depuis ce matin, 12 rue de la Paroisse à Versailles."
    )
    pop.locator("input[name=subject]").fill("Coupure de courant à Versailles")
    pop.locator("input[name=subject]").press("Enter")
    page.wait_for_url(re.compile(r".*/agent/tickets/\d+$"))
    ticket_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("h1")).to_have_text("Coupure de courant à Versailles")
    meta = page.locator(".ticket-meta")
    expect(meta).to_contain_text("Téléphone")
    expect(meta).to_contain_text(re.compile("français", re.IGNORECASE))
    expect(meta).to_contain_text("Attribué à Claire Dubois")
    expect(page.locator(".timeline")).to_contain_text("12 rue de la Paroisse")
    number = re.search(r"LUM-\d+", page.locator(".ticket-head").inner_text()).group(0)

    # The client context beside the ticket: Lumière's greeting and script in French, no fallback.
    panel = page.locator(".context-panel .client-card")
    expect(panel).to_contain_text(GREETING)
    for line in SCRIPT_LINES:
        expect(panel).to_contain_text(line)
    expect(panel.locator(".fallback")).to_have_count(0)
    expect(page.locator("#body")).to_have_value(re.compile("^" + re.escape(GREETING)))
    expect(page.locator("#c-phone")).to_have_value(CALLER)

    # Log the call: the caller's number is filled in from the contact.
    page.locator("#log-call summary").click()
    expect(page.locator("#call-caller")).to_have_value(CALLER)
    page.locator("#call-dialled").fill(LUMIERE_PHONE)
    page.locator("#call-direction").select_option("inbound")
    page.locator("#call-duration").fill("6:45")
    page.locator("#call-outcome").select_option("solved")
    page.locator("#call-notes").fill("Disjoncteur général réarmé avec le client, le courant est revenu.")
    page.locator("#log-call button[type=submit]").click()
    call_log = page.locator(".timeline .msg-call_log")
    expect(call_log).to_be_visible()
    expect(page.locator(".flashes")).to_contain_text("Appel enregistré.")
    expect(call_log.locator(".call-facts")).to_contain_text(f"{CALLER} → {LUMIERE_PHONE}, 6:45 min")
    expect(call_log.locator(".call-facts")).to_contain_text("Résolu au téléphone")
    expect(call_log.locator(".msg-body")).to_have_text(
        "Disjoncteur général réarmé avec le client, le courant est revenu."
    )

    # Answer in the client's name and resolve while the customer is still on the line.
    page.locator("#body").fill(
        GREETING + "\n\nLe disjoncteur général a été réarmé ; le courant est rétabli. Bonne journée !"
    )
    page.locator("button[name=then][value=resolve]").click()
    expect(page.locator(".ticket-meta .status")).to_have_class(re.compile(r"\bstatus-resolved\b"))
    expect(page.locator(".ticket-meta .status")).to_have_text("Résolu")
    expect(page.locator(".flashes")).to_contain_text(
        "Réponse enregistrée. Le client n'a pas d'adresse e-mail"
    )
    expect(page.locator(".timeline .msg-reply")).to_contain_text("le courant est rétabli")
    expect(page.locator("#fcr")).to_have_text("Résolu au premier contact")

    # The call ends; it leaves the screen pop.
    ended = _telephony(live_server, secret, "call.ended", call_id, duration_seconds=405)
    assert ended["status"] == "ended"
    page.goto("/agent/calls")
    expect(page.locator("#calls section.call", has_text=CALLER)).to_have_count(0)

    # The resolved ticket no longer waits in the inbox; it is there under the "resolved" filter.
    page.goto("/agent/?status=resolved")
    expect(page.locator("table.inbox")).to_contain_text(number)

    # The workspace does not show the first-contact-resolution flag; the database has it.
    with _database(live_instance) as db:
        row = db.execute(
            "SELECT status, channel, language, first_contact_resolution, level, time_spent_seconds"
            " FROM tickets WHERE id = ?",
            (ticket_id,),
        ).fetchone()
        call = db.execute(
            "SELECT status, duration_seconds, ticket_id FROM calls WHERE external_id = ?", (call_id,)
        ).fetchone()
    assert row == ("resolved", "phone", "fr", 1, 1, 405)
    assert call == ("ended", 405, ticket_id)

    page.goto(f"/agent/tickets/{ticket_id}")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "phone-ticket-resolved.png"), full_page=True)
    agent.close()
