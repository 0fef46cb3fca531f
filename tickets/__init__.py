"""Tickets: the lifecycle, contacts, the one intake every channel calls, and the tickets API."""

from __future__ import annotations

from flask import Blueprint, Flask


def init_app(app: Flask) -> None:
    # Importing `models` and `intake` registers the models and jobs; `satisfaction` listens for
    # resolved tickets (the survey).
    from tickets import (  # noqa: F401
        api,
        calls_api,
        contacts_api,
        intake,
        labels,
        macros_api,
        models,
        satisfaction,
        satisfaction_views,
    )

    for blueprint in (api.bp, contacts_api.bp, calls_api.bp, macros_api.bp, satisfaction_views.bp):
        app.register_blueprint(blueprint)
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
        presence_label=lambda key: labels.label(labels.PRESENCE, key),
        time_source_label=lambda key: labels.label(labels.TIME_SOURCE, key),
        inbound_status_label=lambda key: labels.label(labels.INBOUND_STATUS, key),
        inbound_outcome_label=lambda key: labels.label(labels.INBOUND_OUTCOME, key),
        rating_label=lambda value: str(labels.RATING.get(value, value)),
    )
