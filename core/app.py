"""The application factory. It wires configuration, extensions, blueprints and CLI groups;
it never touches the database."""

from __future__ import annotations

import importlib
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l
from werkzeug.middleware.proxy_fix import ProxyFix

from core import config as config_module
from core import database  # noqa: F401  (engine event listeners)
from core.api import API_PREFIX
from core.auth.roles import Role
from core.extensions import csrf, db, limiter, login_manager, migrate

DOMAIN_PACKAGES = (
    "tenants",
    "agents",
    "tickets",
    "channels",
    "knowledge",
    "sla",
    "escalations",
    "billing",
    "admin",
    "reports",
    "demo",
)


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    settings = config_module.load(**(overrides or {}))
    app = Flask("core", instance_path=str(settings["INSTANCE_PATH"]))
    app.config.update(settings)
    proxies = int(app.config.get("TRUSTED_PROXIES", 0) or 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]

    from core import admission, api_views, auth, boundary, cli, i18n, nav, views
    from core.auth import api as auth_api

    db.init_app(app)
    admission.init_app(app)
    migrate.init_app(app, db, directory=str(config_module.REPO_ROOT / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    # Only decorated views are limited (there are no default or application limits), and each
    # decorator checks its own; the extension's pass before every request found nothing to do
    # and cost a fifth of a millisecond on each (bench/chat.py).
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    i18n.init_app(app)
    boundary.init_app(app)
    auth.init_app(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(auth_api.bp)
    app.register_blueprint(api_views.bp)
    nav.add_nav(_l("Audit log"), "core.audit_log", [Role.PROVIDER_ADMIN], order=90)
    for name in DOMAIN_PACKAGES:
        importlib.import_module(name).init_app(app)
    # The API authenticates with bearer tokens only, so CSRF does not apply to it.
    for blueprint in app.blueprints.values():
        if (blueprint.url_prefix or "").startswith(API_PREFIX):
            csrf.exempt(blueprint)
    cli.init_app(app)
    return app
