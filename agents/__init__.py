"""Provider agents: skills, tenant assignments, shifts and (with the tickets issue) the workspace."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from agents import models, routing, services, views  # noqa: F401  (routing listens to tickets)
    from core import nav
    from core.auth.roles import PROVIDER_ROLES, register_assignment_lookup

    register_assignment_lookup(services.assigned_tenant_ids)
    app.register_blueprint(views.bp)
    nav.add_nav(_l("Inbox"), "agent.inbox", PROVIDER_ROLES, order=10)
    nav.add_nav(_l("Calls"), "agent.calls_page", PROVIDER_ROLES, order=15)
