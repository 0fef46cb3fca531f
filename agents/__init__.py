"""Provider agents: skills, tenant assignments, shifts and (with the tickets issue) the workspace."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from agents import models, services  # noqa: F401
    from core.auth.roles import register_assignment_lookup

    register_assignment_lookup(services.assigned_tenant_ids)
