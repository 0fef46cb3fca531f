"""The handoff packet: what a specialist needs to act without calling the desk back.

It is required, field by field: an escalation without it is refused, because an incomplete one
costs the client a round trip and the customer a day.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.errors import ValidationFailed
from core.extensions import db
from knowledge.models import Article
from tickets.models import Ticket

TEXT_FIELDS = ("summary", "reported", "tried", "availability")
MAX_TEXT = 5000
URGENCY = {
    "low": _l("Low: it can wait for the next working day"),
    "medium": _l("Medium: today"),
    "high": _l("High: within hours"),
    "critical": _l("Critical: work is stopped"),
}
IMPACT = {
    "one": _l("One person"),
    "several": _l("Several people"),
    "organisation": _l("The customer's whole organisation"),
    "many": _l("Many customers"),
}
LABELS = {
    "summary": _l("Summary"),
    "reported": _l("What the customer reported"),
    "tried": _l("What the first level already tried"),
    "articles": _l("Knowledge-base articles consulted"),
    "urgency": _l("Urgency"),
    "impact": _l("Impact"),
    "availability": _l("Customer availability"),
}


def missing_message() -> str:
    return _(
        "The handoff is incomplete: fill in every field, so the specialists can act without asking back."
    )


def clean(ticket: Ticket, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The packet from form or API input, or ValidationFailed naming each missing field."""
    errors: dict[str, str] = {}
    packet: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = str(raw.get(name) or "").strip()
        if not value:
            errors[name] = _("Required.")
        elif len(value) > MAX_TEXT:
            errors[name] = _("At most %(count)d characters.", count=MAX_TEXT)
        packet[name] = value
    for name, choices in (("urgency", URGENCY), ("impact", IMPACT)):
        value = str(raw.get(name) or "")
        if value not in choices:
            errors[name] = _("Choose one.")
        packet[name] = value
    packet["articles"] = _articles(ticket, raw.get("articles") or [])
    if errors:
        raise ValidationFailed(message=missing_message(), fields=errors)
    return packet


def _articles(ticket: Ticket, raw: Any) -> list[int]:
    """Article ids of the ticket's own client; anything else is dropped silently (a stale form)."""
    if isinstance(raw, str):
        raw = raw.split(",")
    ids = {int(item) for item in raw if str(item).strip().isdigit()}
    if not ids:
        return []
    return sorted(
        db.session.scalars(
            select(Article.id).where(Article.tenant_id == ticket.tenant_id, Article.id.in_(ids))
        )
    )


def as_text(packet: dict[str, Any], titles: dict[int, str], language: str) -> str:
    """The packet as plain text in `language`: the handoff message and the team's e-mail."""
    with force_locale(language):
        lines = []
        for name in ("summary", "reported", "tried"):
            lines += [f"{LABELS[name]}:", packet.get(name, ""), ""]
        if packet.get("articles"):
            lines.append(f"{LABELS['articles']}:")
            lines += [
                f"- {titles.get(article_id, '#' + str(article_id))}" for article_id in packet["articles"]
            ]
            lines.append("")
        lines.append(f"{LABELS['urgency']}: {URGENCY.get(packet.get('urgency', ''), '')}")
        lines.append(f"{LABELS['impact']}: {IMPACT.get(packet.get('impact', ''), '')}")
        lines.append(f"{LABELS['availability']}: {packet.get('availability', '')}")
        return "\n".join(str(line) for line in lines)
