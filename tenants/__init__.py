"""Client companies (tenants): settings, channel addresses, scripts, escalation paths, portal."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from core import nav
    from core.auth.roles import PROVIDER_ROLES, Role
    from tenants import (  # noqa: F401
        admin_views,
        api,
        cli,
        labels,
        models,
        offboarding,
        onboarding_views,
        overview,
        portal_api,
        portal_settings_views,
        portal_views,
        services,
        views,
    )

    app.register_blueprint(views.bp)
    app.register_blueprint(admin_views.bp)
    app.register_blueprint(portal_views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(portal_api.bp)
    app.cli.add_command(cli.group)
    # Provider admins manage the clients (/admin/tenants); agents and supervisors see theirs.
    nav.add_nav(_l("Clients"), "tenants.index", PROVIDER_ROLES - {Role.PROVIDER_ADMIN}, order=20)
    nav.add_nav(_l("Clients"), "admin_tenants.index", [Role.PROVIDER_ADMIN], order=20)
    nav.add_nav(_l("Escalations"), "portal.escalations", [Role.CLIENT_ADMIN, Role.CLIENT_EXPERT], order=12)
    nav.add_nav(_l("Escalation paths"), "portal.teams_page", [Role.CLIENT_ADMIN], order=13)
    nav.add_home_panel(
        "tenants/_home_panel.html", [*PROVIDER_ROLES, Role.CLIENT_ADMIN, Role.CLIENT_EXPERT], order=10
    )
    nav.register_tenant_choices(services.tenant_choices)
    app.jinja_env.globals.update(
        tenant_status_label=labels.status_label,
        channel_label=labels.channel_label,
        escalation_status_label=labels.escalation_status_label,
        visible_tenants=services.visible_tenants,
        suspended_tenants=overview.suspended_tenants,
    )
