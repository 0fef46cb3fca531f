"""How many ordinary requests one web process works on at once.

Gunicorn's `gthread` worker gives every connection it reads a request from a thread of its own,
and live chat needs a thread per open stream, so a chat node runs a hundred or more threads per
process (platform/SCALING.md). When a burst of requests arrives, every one of them starts at once
and they all take turns at the interpreter lock: each database or Redis round trip then waits for
the lock again behind the others, a request that takes 3 ms of CPU holds its pooled connection for
a quarter of a second, and the process spends its time switching threads instead of working.
bench/chat.py saw runs fall behind that way and stay behind (median delivery 0.3-0.9 s at 200
chats). The gate bounds how many requests contend; it does not by itself keep every run at 200
chats on 2 cores from falling behind (README, "Benchmarks").

So at most `WEB_CONCURRENT_REQUESTS` requests of a process run at once (gunicorn's own default is 8
threads); the others wait for a place, in order, without taking the lock. Server-sent-event
streams are marked `streaming` and do not count: they wait for minutes and work for microseconds.
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
