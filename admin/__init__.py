"""Provider administration that belongs to no single domain: platform health."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from admin import api, views
    from core import nav
    from core.auth.roles import Role

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    nav.add_nav(_l("Platform health"), "health.page", [Role.PROVIDER_ADMIN], order=88)
