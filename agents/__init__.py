"""Provider agents: skills, tenant assignments, shifts and coverage, and the workspace."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from agents import (  # noqa: F401
        admin_views,
        chat_views,
        contacts_views,
        coverage_sweep,
        escalate_views,
        mail_views,
        models,
        routing,
        services,
        shifts,
        staffing_views,
        supervision_views,
        views,
    )
    from core import nav
    from core.auth.roles import PROVIDER_ROLES, Role, register_assignment_lookup

    register_assignment_lookup(services.assigned_tenant_ids, services.assigned_tenants_column)
    app.register_blueprint(views.bp)
    app.register_blueprint(admin_views.bp)
    app.jinja_env.filters["format_placeholder"] = lambda name: "{" + name + "}"
    nav.add_nav(_l("Inbox"), "agent.inbox", PROVIDER_ROLES, order=10)
    nav.add_nav(_l("Calls"), "agent.calls_page", PROVIDER_ROLES, order=15)
    nav.add_nav(_l("Chats"), "agent.chats", PROVIDER_ROLES, order=14)
    nav.add_nav(_l("Contacts"), "agent.contacts_page", PROVIDER_ROLES, order=16)
    nav.add_nav(_l("Macros"), "agent.macros_page", PROVIDER_ROLES, order=17)
    nav.add_nav(_l("Routing"), "agent.routing_board", (Role.SUPERVISOR, Role.PROVIDER_ADMIN), order=18)
    nav.add_nav(_l("Inbound"), "agent.inbound_page", (Role.SUPERVISOR, Role.PROVIDER_ADMIN), order=19)
    nav.add_nav(_l("Shifts"), "agent.shifts_page", PROVIDER_ROLES, order=21)
    nav.add_nav(_l("Coverage"), "agent.coverage_page", (Role.SUPERVISOR, Role.PROVIDER_ADMIN), order=22)
    nav.add_nav(_l("Staff"), "staff.index", (Role.SUPERVISOR, Role.PROVIDER_ADMIN), order=80)
    nav.add_home_panel("agents/_coverage_panel.html", (Role.SUPERVISOR, Role.PROVIDER_ADMIN), order=4)
    app.jinja_env.globals.update(
        coverage_gaps=staffing_views.home_gaps, coverage_panel_hours=staffing_views.HOME_PANEL_HOURS
    )
