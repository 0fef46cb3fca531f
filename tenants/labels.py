"""Translatable names for tenant statuses, channel kinds and escalation states."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATUS_LABELS = {"trial": _l("Trial"), "active": _l("Active"), "suspended": _l("Suspended")}
CHANNEL_LABELS = {
    "email": _l("E-mail"),
    "phone": _l("Phone"),
    "fax": _l("Fax"),
    "webform": _l("Web form"),
    "chat": _l("Live chat"),
}


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def channel_label(kind: str) -> str:
    return str(CHANNEL_LABELS.get(kind, kind))


# The portal's names for an escalation's state (escalations.models.EscalationStatus).
ESCALATION_STATUS_LABELS = {
    "open": _l("Waiting to be acknowledged"),
    "acknowledged": _l("Acknowledged"),
    "returned": _l("Returned to the desk"),
    "forwarded": _l("Escalated further"),
    "resolved": _l("Resolved"),
}


def escalation_status_label(status: str) -> str:
    return str(ESCALATION_STATUS_LABELS.get(status, status))
