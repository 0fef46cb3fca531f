"""Each client's knowledge base: articles, their translations and history, search, the public
help center, and the loop between the client's experts and the first-level desk."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from core import nav


def init_app(app: Flask) -> None:
    from core.auth.roles import CLIENT_ROLES, PROVIDER_ROLES, Role
    from knowledge import api, cli, feed, gaps_views, help_views, io_views, labels, models, views  # noqa: F401

    app.register_blueprint(views.bp)
    app.register_blueprint(help_views.bp)
    app.register_blueprint(gaps_views.bp)
    app.register_blueprint(io_views.bp)
    app.register_blueprint(api.bp)
    app.cli.add_command(cli.group)
    nav.add_nav(_l("Knowledge base"), "kb.index", [*PROVIDER_ROLES, *CLIENT_ROLES], order=40)
    nav.add_nav(_l("Content gaps"), "kb_gaps.page", gaps_views.READERS, order=45)
    nav.add_home_panel("knowledge/_home_panel.html", [Role.AGENT, Role.SUPERVISOR], order=5)
    app.jinja_env.globals.update(
        kb_unread_count=lambda: feed.unread_count(current_user),
        kb_status_label=lambda key: labels.label(labels.STATUS, key),
        kb_visibility_label=lambda key: labels.label(labels.VISIBILITY, key),
        kb_change_label=lambda key: labels.label(labels.CHANGE_KIND, key),
    )
