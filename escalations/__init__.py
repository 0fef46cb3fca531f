"""Escalations: the client's teams and departments, routing to them, the handoff packet, delivery
(portal, e-mail, webhook), on-call, and work coming back down to the desk."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from core import nav
    from core.auth.roles import Role
    from escalations import api, models, oncall, portal_views, problems, webhooks  # noqa: F401  (handlers, sweep)

    app.register_blueprint(api.bp)
    app.register_blueprint(portal_views.bp)
    nav.add_nav(_l("On call"), "team_portal.index", [Role.CLIENT_ADMIN, Role.CLIENT_EXPERT], order=13)
