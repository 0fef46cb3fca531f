"""Reports and dashboards: is first-level support doing its job?

Metrics come from daily rollups (`rollup`, rebuilt by the scheduler) or, for filtered questions,
straight from the raw tickets (`facts`); both are summed by one aggregator (`metrics`), so they
agree by construction and a test holds them to it.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from reports import jobs, models, rollup  # noqa: F401  (jobs, rollup: their sweeps)

    _init_dashboards(app)
    _init_monthly(app)


def _init_dashboards(app: Flask) -> None:
    """The provider's dashboard and live view (/admin/reports), the client's (/portal/reports)."""
    from flask_babel import lazy_gettext as _l

    from core import nav
    from core.auth.roles import Role
    from reports import portal_views, views

    app.register_blueprint(views.bp)
    app.register_blueprint(portal_views.bp)
    nav.add_nav(_l("Reports"), "reports_admin.index", [Role.PROVIDER_ADMIN, Role.SUPERVISOR], order=70)
    nav.add_nav(_l("Reports"), "reports_portal.index", [Role.CLIENT_ADMIN], order=15)


def _init_monthly(app: Flask) -> None:
    """The monthly client report (portal pages, mail, PDF and its sweep), the reports API and the
    `flask reports` commands."""
    from flask_babel import lazy_gettext as _l

    from core import nav
    from core.auth.roles import Role
    from reports import api, cli, monthly_views

    app.register_blueprint(monthly_views.bp)
    app.register_blueprint(api.bp)
    app.cli.add_command(cli.group)
    nav.add_nav(_l("Monthly reports"), "monthly_reports.index", [Role.CLIENT_ADMIN], order=16)
