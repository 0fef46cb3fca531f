"""The sign-in page in four languages and a real sign-in, in Debian's chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
SHOTS = Path("test-results")


def test_sign_in_page_in_four_languages_then_sign_in(page) -> None:
    page.goto("/login")
    assert page.locator("h1").inner_text() == "Sign in"
    for code, heading in (("de", "Anmelden"), ("fr", "Se connecter"), ("it", "Accedi"), ("en", "Sign in")):
        page.select_option("#lang-select", code)
        page.locator(".lang-switch button").click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == code
        assert page.locator("h1").inner_text() == heading
    # Keyboard only: the e-mail field has focus, Tab goes to the password, Enter submits.
    page.locator("#email").focus()
    page.keyboard.type("luca@firstline.example")
    page.keyboard.press("Tab")
    page.keyboard.type("firstline-demo")
    page.keyboard.press("Enter")
    page.wait_for_url("**/")
    # Luca's profile language is Italian; he serves both demo clients.
    assert page.locator("html").get_attribute("lang") == "it"
    body = page.locator("main").inner_text()
    assert "Alpina Haushaltgeräte AG" in body
    assert "Lumière Énergie SA" in body
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "home-agent-it.png"), full_page=True)


def test_wrong_password_shows_an_accessible_error(page) -> None:
    page.goto("/login")
    page.fill("#email", "anna@firstline.example")
    page.fill("#password", "not-the-password")
    page.click("button[type=submit].btn-primary")
    error = page.locator("#password-error")
    assert "Wrong e-mail or password." in error.inner_text()
    assert page.locator("#password").get_attribute("aria-invalid") == "true"


def test_client_admin_does_not_see_provider_pages(page) -> None:
    page.goto("/login")
    page.fill("#email", "admin@lumiere.example")
    page.fill("#password", "firstline-demo")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url("**/")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert "Alpina" not in page.locator("main").inner_text()
    response = page.goto("/tenants")
    assert response.status == 403
