"""Provider agents: skills, tenant assignments, shifts and (with the tickets issue) the workspace."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from agents import (  # noqa: F401
        chat_views,
        contacts_views,
        escalate_views,
        mail_views,
        models,
        routing,
        services,
        supervision_views,
        views,
    )
    from core import nav
    from core.auth.roles import PROVIDER_ROLES, Role, register_assignment_lookup

    register_assignment_lookup(services.assigned_tenant_ids)
    app.register_blueprint(views.bp)
    app.jinja_env.filters["format_placeholder"] = lambda name: "{" + name + "}"
    nav.add_nav(_l("Inbox"), "agent.inbox", PROVIDER_ROLES, order=10)
    nav.add_nav(_l("Calls"), "agent.calls_page", PROVIDER_ROLES, order=15)
    nav.add_nav(_l("Chats"), "agent.chats", PROVIDER_ROLES, order=14)
    nav.add_nav(_l("Contacts"), "agent.contacts_page", PROVIDER_ROLES, order=16)
    nav.add_nav(_l("Macros"), "agent.macros_page", PROVIDER_ROLES, order=17)
    nav.add_nav(_l("Routing"), "agent.routing_board", (Role.SUPERVISOR, Role.PROVIDER_ADMIN), order=18)
    nav.add_nav(_l("Inbound"), "agent.inbound_page", (Role.SUPERVISOR, Role.PROVIDER_ADMIN), order=19)
