"""Escalations: the client's teams and departments, routing to them, the handoff packet, delivery
(portal, e-mail, webhook), on-call, and work coming back down to the desk."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from escalations import models  # noqa: F401
