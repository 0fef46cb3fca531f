"""Service levels: business calendars, SLA policies, the clocks and the breach sweep."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from core import nav


def init_app(app: Flask) -> None:
    from core.auth.roles import Role
    from sla import board_views, labels, models, sweep, views  # noqa: F401

    app.register_blueprint(views.bp)
    nav.add_nav(_l("SLA board"), "sla.board", [Role.SUPERVISOR, Role.PROVIDER_ADMIN], order=25)
    nav.add_nav(_l("SLA settings"), "sla.settings", [*views.EDITORS], order=85)
    app.jinja_env.globals.update(
        sla_clock_label=lambda key: labels.label(labels.CLOCK, key),
    )
