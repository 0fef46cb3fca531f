"""The SLA clocks of a ticket: when the first answer and the resolution are due.

One place computes them, so the inbox (sorted by `Ticket.due_at`), the reports and the breach
sweeps agree. Targets are minutes per priority, set per tenant (`Tenant.sla_targets`), falling back
to the defaults below. The clocks run around the clock: business calendars come with the SLA
policies of the escalation issue and plug in here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tickets.models import Priority, Status, Ticket

DEFAULT_TARGETS: dict[str, dict[str, int]] = {
    "first_response": {
        Priority.URGENT.value: 30,
        Priority.HIGH.value: 60,
        Priority.NORMAL.value: 4 * 60,
        Priority.LOW.value: 8 * 60,
    },
    "resolution": {
        Priority.URGENT.value: 4 * 60,
        Priority.HIGH.value: 8 * 60,
        Priority.NORMAL.value: 24 * 60,
        Priority.LOW.value: 72 * 60,
    },
}
# While the ticket waits for the customer, or is done, no clock runs.
RUNNING = {Status.NEW.value, Status.OPEN.value, Status.ESCALATED.value}


def target_minutes(targets: dict[str, dict[str, int]], clock: str, priority: str) -> int:
    own = (targets or {}).get(clock, {}).get(priority)
    return int(own) if own else DEFAULT_TARGETS[clock][priority]


def start_clocks(ticket: Ticket, targets: dict[str, dict[str, int]]) -> None:
    """Due times from the ticket's creation and priority; called at intake and on a priority change."""
    ticket.first_response_due_at = ticket.created_at + timedelta(
        minutes=target_minutes(targets, "first_response", ticket.priority)
    )
    ticket.resolution_due_at = ticket.created_at + timedelta(
        minutes=target_minutes(targets, "resolution", ticket.priority)
    )
    refresh(ticket)


def refresh(ticket: Ticket) -> None:
    """Recompute the sort key after a status change or the first response."""
    if ticket.status not in RUNNING:
        ticket.due_at = None
        return
    running = [ticket.resolution_due_at]
    if ticket.first_response_at is None:
        running.append(ticket.first_response_due_at)
    present = [due for due in running if due is not None]
    ticket.due_at = min(present) if present else None


def is_overdue(ticket: Ticket, now: datetime) -> bool:
    return ticket.due_at is not None and ticket.due_at <= now
