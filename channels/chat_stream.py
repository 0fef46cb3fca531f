"""Server-sent events for the chat widget and the agent console.

A stream is a plain streaming response. It subscribes to the broker first, then loops: read
what is new *from the database* (after the last message id it sent), write it, wait for a
notification or the keepalive interval, repeat. A notification of a line carries the line and the
id of its chat's line before it (`chat_lines.add`): when that is the last line the stream sent,
the stream writes the line as it is (`quick`), without the database; on a gap, on connect and on
every keepalive poll it reads the database (`step`). The event id of every message is its database
id, so a client that reconnects (the browser does it by itself, sending `Last-Event-ID`; a page
may pass `?after=`) gets exactly what it missed. Each read runs in a short app context of its
own, so a waiting stream holds no database connection; after `CHAT_STREAM_SECONDS` the stream
ends and the client reconnects, which keeps proxies and gunicorn's workers rotating.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Response, current_app, request

from channels import chat_broker
from core import tenancy

Notes = list[dict[str, Any]]
# One step: (cursor, notifications) -> (chunks to write, new cursor, whether the stream is done).
Step = Callable[[int, Notes], tuple[list[str], int, bool]]
# What the notifications carry, without the database: (cursor, notifications) -> (chunks, new
# cursor, whether the stream is done, the notifications from the first one it cannot answer on,
# which go to the step).
Quick = Callable[[int, Notes], tuple[list[str], int, bool, Notes]]


def sse(event: str, data: dict[str, Any], event_id: int | None = None) -> str:
    """One event; JSON has no raw newlines, so one `data:` line carries it whole."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def resume_from() -> int:
    """Where a (re)connecting client stands: `Last-Event-ID`, else `?after=`, else 0."""
    for raw in (request.headers.get("Last-Event-ID", ""), request.args.get("after", "")):
        raw = raw.strip()
        if raw.isdigit():
            return int(raw)
    return 0


def stream(channels: list[str], step: Step, after: int, quick: Quick | None = None) -> Response:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    scope = tenancy.require()
    keepalive = float(app.config["CHAT_KEEPALIVE_SECONDS"])
    lifetime = float(app.config["CHAT_STREAM_SECONDS"])
    # Subscribed before the first read: nothing committed in between can slip through.
    subscription = chat_broker.broker(app).subscribe(channels)

    def generate() -> Iterator[str]:
        cursor, notes = after, [{"type": "hello"}]
        deadline = time.monotonic() + lifetime
        try:
            yield f"retry: 2000\n: {' ' * 2048}\n\n"  # padding defeats buffering in some proxies
            while True:
                rest, done = notes, False
                if quick is not None and notes:
                    chunks, cursor, done, rest = quick(cursor, notes)
                    if chunks:
                        yield "".join(chunks)  # one write to the socket
                # A keepalive poll (no notifications) reads too: it heals a lost notification.
                if not done and (rest or not notes):
                    with app.app_context(), tenancy.using(scope):
                        chunks, cursor, done = step(cursor, rest)
                    if chunks:
                        yield "".join(chunks)
                if done or time.monotonic() >= deadline:
                    return
                notes = subscription.wait(keepalive)
                if not notes:
                    yield ": keepalive\n\n"
        finally:
            subscription.close()

    response = Response(generate(), mimetype="text/event-stream")
    # A stream closed before its first chunk never runs the generator's `finally`.
    response.call_on_close(subscription.close)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
