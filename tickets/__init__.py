"""Tickets: the lifecycle, contacts, the one intake every channel calls, and the tickets API."""

from __future__ import annotations

from flask import Blueprint, Flask


def init_app(app: Flask) -> None:
    from tickets import api, intake, labels, models  # noqa: F401  (models and jobs register here)

    app.register_blueprint(api.bp)
    # The e-mail templates (acknowledgements) live in tickets/templates.
    app.register_blueprint(Blueprint("tickets", __name__, template_folder="templates"))
    app.jinja_env.globals.update(
        ticket_status_label=lambda key: labels.label(labels.STATUS, key),
        priority_label=lambda key: labels.label(labels.PRIORITY, key),
        category_label=lambda key: labels.label(labels.CATEGORY, key),
        ticket_channel_label=lambda key: labels.label(labels.CHANNEL, key),
        message_kind_label=lambda key: labels.label(labels.MESSAGE_KIND, key),
        event_label=lambda key: labels.label(labels.EVENT, key),
        call_status_label=lambda key: labels.label(labels.CALL_STATUS, key),
        outcome_label=lambda key: labels.label(labels.OUTCOME, key),
        outcomes=labels.OUTCOME,
    )
