"""The admission gate: a process works on `WEB_CONCURRENT_REQUESTS` requests at once, streams aside."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import Flask

from core import admission, create_app
from tests.conftest import TEST_SETTINGS


@pytest.fixture
def gated() -> Iterator[tuple[Flask, threading.Event, threading.Event]]:
    app = create_app({**TEST_SETTINGS, "WEB_CONCURRENT_REQUESTS": 1, "WEB_ADMISSION_SECONDS": 0.3})
    inside, leave = threading.Event(), threading.Event()

    def slow() -> str:
        inside.set()
        leave.wait(10)
        return "done"

    @admission.streaming
    def stream() -> str:
        return "streaming"

    app.add_url_rule("/_slow", view_func=slow)
    app.add_url_rule("/_stream", view_func=stream)
    yield app, inside, leave
    leave.set()


def test_a_request_waits_for_a_place_and_is_answered_503_when_none_comes(gated) -> None:
    app, inside, leave = gated
    holder = threading.Thread(target=lambda: app.test_client().get("/_slow"))
    holder.start()
    assert inside.wait(5)
    refused = app.test_client().get("/api/v1/tickets", headers={"Accept": "application/json"})
    assert refused.status_code == 503
    assert refused.get_json()["error"]["code"] == "unavailable"
    # A stream does not count against the gate.
    assert app.test_client().get("/_stream").get_data(as_text=True) == "streaming"
    leave.set()
    holder.join(5)
    assert app.test_client().get("/healthz").status_code == 200


def test_the_chat_streams_are_exempt(app: Flask) -> None:
    assert app.config["WEB_CONCURRENT_REQUESTS"] > 0
    for endpoint in ("chat.events", "agent.chat_events"):
        assert getattr(app.view_functions[endpoint], "_firstline_streaming", False), endpoint
