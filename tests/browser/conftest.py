"""A real server started the way `make run` starts it, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import SmtpServer, _Inbox, free_port

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]


def _chromium_missing() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        return "Debian's chromium is not installed (apt-get install chromium); browser tests skipped"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    return None


@pytest.fixture(scope="session")
def live_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The live server's instance folder (FIRSTLINE_INSTANCE): its SQLite database and server log."""
    return tmp_path_factory.mktemp("live-instance")


@dataclass
class LiveMail:
    """The live server's mail: its SMTP listener, and a real SMTP server its outbox sends to."""

    listen_port: int
    sink: SmtpServer


@pytest.fixture(scope="session")
def live_mail() -> Iterator[LiveMail]:
    from aiosmtpd.controller import Controller

    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield LiveMail(free_port(), SmtpServer("127.0.0.1", port, inbox))
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def live_server(live_instance: Path, live_mail: LiveMail) -> Iterator[str]:
    """`flask db upgrade`, `flask demo load`, `flask serve`: the demo, in a fresh instance folder,
    its SMTP listener on a free port and its outgoing mail sent to `live_mail.sink`."""
    reason = _chromium_missing()
    if reason:
        pytest.skip(reason)
    instance = live_instance
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "MIGRATE_DATABASE_URL", "REDIS_URL", "SMTP_HOST")
    }
    env.update(
        FIRSTLINE_INSTANCE=str(instance),
        ARGON2_TIME_COST="1",
        ARGON2_MEMORY_COST="1024",
        SMTP_LISTEN=f"127.0.0.1:{live_mail.listen_port}",
        SMTP_HOST=live_mail.sink.host,
        SMTP_PORT=str(live_mail.sink.port),
        # Every browser test signs in from 127.0.0.1 against this one server: the per-IP sign-in
        # limit (tested on its own in tests/core/test_auth.py) would otherwise turn them away.
        RATELIMIT_LOGIN="1000 per minute",
    )
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    for command in (["db", "upgrade"], ["demo", "load"]):
        subprocess.run(flask + command, cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    log = (instance / "server.log").open("w")
    server = subprocess.Popen(
        flask + ["serve", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)  # noqa: S310
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("the embedded server did not start: " + (instance / "server.log").read_text())
    try:
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="session")
def browser(live_server: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: object, live_server: str) -> Iterator[object]:
    context = browser.new_context(base_url=live_server, locale="en-US")  # type: ignore[attr-defined]
    tab = context.new_page()
    yield tab
    context.close()


def signed_in(browser: object, live_server: str, email: str, locale: str) -> tuple[object, object]:
    """A new browser context signed in as a demo user: (context, page), the page on the home page."""
    context = browser.new_context(base_url=live_server, locale=locale)  # type: ignore[attr-defined]
    tab = context.new_page()
    tab.goto("/login")
    tab.fill("#email", email)
    tab.fill("#password", "firstline-demo")
    tab.click("button[type=submit].btn-primary")
    tab.wait_for_url("**/")
    return context, tab
