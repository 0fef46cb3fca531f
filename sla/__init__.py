"""Service levels: business calendars, SLA policies, the clocks and the breach sweep."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from sla import models  # noqa: F401
