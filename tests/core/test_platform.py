"""The sample nginx configuration matches the app: the unbuffered location catches exactly the
event streams (a pattern that drifts from the routes silently buffers live chat)."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask

NGINX = Path(__file__).resolve().parents[2] / "platform" / "nginx" / "firstline.conf"


def _stream_pattern() -> re.Pattern[str]:
    text = NGINX.read_text()
    match = re.search(r"location ~ (\S+) \{\n\s+proxy_pass [^\n]+\n\s+proxy_buffering off;", text)
    assert match, "the unbuffered stream location is missing"
    return re.compile(match.group(1))


def test_the_unbuffered_location_catches_every_event_stream_and_nothing_else(app: Flask) -> None:
    pattern = _stream_pattern()
    streams = {
        "/chat/abc123/s/tok-en_9/events": True,
        "/agent/chats/events": True,
        "/chat/abc123/s/tok/messages": False,
        "/agent/chats/5": False,
        "/agent/": False,
        "/api/v1/tickets": False,
    }
    for path, streamed in streams.items():
        assert bool(pattern.match(path)) is streamed, path
    adapter = app.url_map.bind("firstline.test")
    for path, streamed in streams.items():
        if streamed:
            endpoint, _args = adapter.match(path)
            assert endpoint.endswith("events"), (path, endpoint)
