"""Translatable names for ticket statuses, priorities, categories, channels and message kinds."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

STATUS = {
    "new": _l("New"),
    "open": _l("Open"),
    "pending_customer": _l("Waiting for customer"),
    "escalated": _l("Escalated"),
    "resolved": _l("Resolved"),
    "closed": _l("Closed"),
}
PRIORITY = {"low": _l("Low"), "normal": _l("Normal"), "high": _l("High"), "urgent": _l("Urgent")}
CATEGORY = {
    "usage_question": _l("Usage question"),
    "fault": _l("Hardware or software fault"),
    "product_question": _l("Product question"),
    "complaint_return": _l("Complaint or return"),
    "outage": _l("Outage"),
    "billing_payment": _l("Billing or payment"),
    "order": _l("Order"),
    "delivery_status": _l("Delivery status"),
    "other": _l("Other"),
}
CHANNEL = {
    "email": _l("E-mail"),
    "phone": _l("Phone"),
    "fax": _l("Fax"),
    "webform": _l("Web form"),
    "chat": _l("Live chat"),
    "api": _l("API"),
}
MESSAGE_KIND = {
    "inbound": _l("Customer"),
    "reply": _l("Reply"),
    "note": _l("Internal note"),
    "call_log": _l("Call"),
    "chat_transcript": _l("Chat transcript"),
    "fax": _l("Fax"),
    "handoff": _l("Escalation handoff"),
    "system": _l("System"),
}
CALL_STATUS = {"ringing": _l("Ringing"), "answered": _l("Answered"), "ended": _l("Ended")}
OUTCOME = {
    "solved": _l("Solved on the phone"),
    "callback": _l("Call back"),
    "escalate": _l("To be escalated"),
    "information": _l("Information given"),
    "no_answer": _l("No answer"),
}
EVENT = {
    "created": _l("created"),
    "status": _l("status changed"),
    "assigned": _l("assigned"),
    "note": _l("note added"),
    "reply": _l("reply sent"),
    "contact_updated": _l("contact updated"),
    "call_logged": _l("call logged"),
    "priority": _l("priority changed"),
    "category": _l("category changed"),
    "tags": _l("tags changed"),
    "parent": _l("parent ticket changed"),
    "time": _l("time booked"),
    "auto_assigned": _l("assigned automatically"),
    "merged_into": _l("merged into another ticket"),
    "merged_from": _l("another ticket merged in"),
    "contact_merged": _l("duplicate contact merged"),
    "auto_reply": _l("automatic reply received"),
    "bounce": _l("mail to the customer bounced"),
    "chat_transcript": _l("chat transcript stored"),
    "kb_article": _l("answer from the knowledge base used"),
    "escalated": _l("escalated to a team"),
    "escalation_acknowledged": _l("escalation acknowledged"),
    "escalation_returned": _l("returned to the first level"),
    "team_mail": _l("the team answered by e-mail"),
    "sla_warning": _l("SLA target close"),
    "sla_breach": _l("SLA target missed"),
    "satisfaction_sent": _l("satisfaction survey sent"),
    "satisfaction": _l("customer rated the help"),
}
INBOUND_STATUS = {
    "received": _l("Waiting"),
    "processed": _l("Ticket"),
    "failed": _l("Failed"),
    "ignored": _l("Ignored"),
    "all": _l("All"),
}
INBOUND_OUTCOME = {
    "new_ticket": _l("new ticket"),
    "threaded": _l("added to its ticket"),
    "follow_up": _l("follow-up to a closed ticket"),
    "bounce": _l("bounce, added to its ticket"),
    "bounce_unmatched": _l("bounce for no known ticket"),
    "loop": _l("our own mail came back"),
}
# The satisfaction survey's scale (tickets.satisfaction), by its value.
RATING = {
    1: _l("Very dissatisfied"),
    2: _l("Dissatisfied"),
    3: _l("Neither satisfied nor dissatisfied"),
    4: _l("Satisfied"),
    5: _l("Very satisfied"),
}
PRESENCE = {"available": _l("Available"), "busy": _l("Busy"), "offline": _l("Offline")}
TIME_SOURCE = {"manual": _l("by hand"), "timer": _l("timer"), "call": _l("call")}


# Translated labels per (locale, table, key): the inbox shows hundreds per page, and each
# lookup through gettext costs more than the rest of the row.
_translated: dict[tuple[str, int, str], str] = {}


def label(table: dict[str, object], key: str | None) -> str:
    memo = (str(get_locale()), id(table), key or "")
    text = _translated.get(memo)
    if text is None:
        text = _translated[memo] = str(table.get(key or "", key or ""))
    return text
