"""How many ordinary requests one web process works on at once.

Gunicorn's `gthread` worker gives every connection it reads a request from a thread of its own.
When a burst of requests arrives, every one of them starts at once and they all take turns at the
interpreter lock: each database or Redis round trip then waits for the lock again behind the
others, a request that takes 3 ms of CPU holds its pooled connection for a quarter of a second,
and the process spends its time switching threads instead of working. More requests at once in
one process buy nothing on CPU-bound work (the lock lets one run) and cost hand-offs; more
processes are what use more cores. bench/chat.py (200 chats, 2 cores, 200 posts a second) saw
runs with 8 at once fall behind and stay behind (median delivery 0.2-0.9 s, a third more CPU per
line); with 2, every run kept up (15 runs: median 4.4-8.8 ms, p95 8.5-26 ms, 4.0-5.5 ms of web
CPU per line), with 4 too but at a higher p95 (13-79 ms) (README, "Benchmarks").

So at most `WEB_CONCURRENT_REQUESTS` (2) requests of a process run at once; the others wait for
a place, in order, without taking the lock. The cost: a request that waits on something slow
(a report of a large client, a mailbox check against a slow IMAP server) holds one of the two
places while it waits, so a node runs several processes (`WEB_CONCURRENCY`, 2 x cores + 1).
Server-sent-event streams are marked `streaming` and do not count: they wait for minutes and work
for microseconds (and in production run on the stream server, platform/gunicorn.streams.conf.py).
A request that waits longer than `WEB_ADMISSION_SECONDS` is answered 503, so a stuck process says
so instead of queueing without end. 0 turns the gate off.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, g, request
from flask_babel import gettext as _
from werkzeug.exceptions import ServiceUnavailable

View = TypeVar("View", bound=Callable[..., Any])
_STREAMING = "_firstline_streaming"


def streaming(view: View) -> View:
    """Mark a view whose response is a long-lived stream (it does not count against the gate)."""
    setattr(view, _STREAMING, True)
    return view


def init_app(app: Flask) -> None:
    """Before every other request hook (the user's lookup runs inside the gate)."""
    limit = int(app.config.get("WEB_CONCURRENT_REQUESTS") or 0)
    if limit <= 0:
        return
    gate = threading.BoundedSemaphore(limit)
    patience = float(app.config.get("WEB_ADMISSION_SECONDS") or 30)

    @app.before_request
    def _admit() -> None:
        view = app.view_functions.get(request.endpoint or "")
        if view is None or getattr(view, _STREAMING, False):
            return
        if not gate.acquire(timeout=patience):
            raise ServiceUnavailable(_("The service is busy. Please try again in a moment."))
        g._firstline_admitted = True

    @app.teardown_request
    def _leave(exc: BaseException | None) -> None:
        if g.pop("_firstline_admitted", False):
            gate.release()
