"""Client companies (tenants): settings, channel addresses, scripts, escalation paths, portal."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from core import nav
    from core.auth.roles import PROVIDER_ROLES, Role
    from tenants import api, cli, labels, models, portal_views, services, views  # noqa: F401

    app.register_blueprint(views.bp)
    app.register_blueprint(portal_views.bp)
    app.register_blueprint(api.bp)
    app.cli.add_command(cli.group)
    nav.add_nav(_l("Clients"), "tenants.index", PROVIDER_ROLES, order=20)
    nav.add_nav(_l("Escalations"), "portal.escalations", [Role.CLIENT_ADMIN, Role.CLIENT_EXPERT], order=12)
    nav.add_home_panel(
        "tenants/_home_panel.html", [*PROVIDER_ROLES, Role.CLIENT_ADMIN, Role.CLIENT_EXPERT], order=10
    )
    nav.register_tenant_choices(services.tenant_choices)
    app.jinja_env.globals.update(
        tenant_status_label=labels.status_label,
        channel_label=labels.channel_label,
        visible_tenants=services.visible_tenants,
    )
