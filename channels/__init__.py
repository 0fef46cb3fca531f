"""Channel adapters: each translates its transport into one call of the tickets intake."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from channels import hooks, webform
    from core.extensions import csrf

    app.register_blueprint(webform.bp)
    app.register_blueprint(hooks.bp)
    # A public form embedded on the client's own site has no session to protect: a third-party
    # iframe does not get our cookies. Spam is held off by the honeypot and the rate limit.
    csrf.exempt(webform.bp)
