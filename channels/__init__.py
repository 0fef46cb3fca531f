"""Channel adapters: each translates its transport into one call of the tickets intake."""

from __future__ import annotations

from flask import Flask

from core.cli import EMBEDDED


def init_app(app: Flask) -> None:
    # Importing `models`, `mail_inbound` and `mail_imap` registers the mailbox model, the e-mail
    # processor, the IMAP poll job and its sweep; `chat_ending` registers the idle sweep.
    from channels import (  # noqa: F401
        chat_ending,
        chat_models,
        chat_sessions,
        chat_views,
        cli,
        hooks,
        mail_api,
        mail_imap,
        mail_inbound,
        models,
        webform,
    )
    from core.extensions import csrf
    from tickets.labels import label

    app.jinja_env.globals["chat_status_label"] = lambda key: label(chat_sessions.STATUS_LABELS, key)

    app.register_blueprint(webform.bp)
    app.register_blueprint(hooks.bp)
    app.register_blueprint(mail_api.bp)
    app.register_blueprint(chat_views.bp)
    app.cli.add_command(cli.channels_group)
    app.extensions.setdefault(EMBEDDED, []).append(cli.start_embedded_smtp)
    # A public form embedded on the client's own site has no session to protect: a third-party
    # iframe does not get our cookies. Spam is held off by the honeypot and the rate limit.
    csrf.exempt(webform.bp)
    # The chat widget authenticates with its session token, never with a cookie.
    csrf.exempt(chat_views.bp)
