"""Translatable names for the knowledge base's statuses, visibilities and feed entries."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from tickets.labels import label

__all__ = ["CHANGE_KIND", "PROPOSAL_STATUS", "STATUS", "VISIBILITY", "label"]

STATUS = {
    "draft": _l("Draft"),
    "review": _l("In review"),
    "published": _l("Published"),
    "archived": _l("Archived"),
}
VISIBILITY = {"public": _l("Public (help center)"), "internal": _l("Internal (desk and client staff)")}
CHANGE_KIND = {"published": _l("New article"), "updated": _l("Changed"), "archived": _l("Withdrawn")}
PROPOSAL_STATUS = {"open": _l("Open"), "accepted": _l("Accepted"), "rejected": _l("Rejected")}
