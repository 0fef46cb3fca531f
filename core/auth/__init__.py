"""Sign-in, sessions, profiles, API tokens and roles."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from core.extensions import login_manager


def init_app(app: Flask) -> None:
    from core.auth import services, views

    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"
    # Cookie sessions are signed, not stored: "strong" drops a session whose
    # user agent / IP fingerprint changed instead of letting it continue.
    login_manager.session_protection = "strong"
    login_manager.user_loader(services.load_user)
    app.register_blueprint(views.bp)
