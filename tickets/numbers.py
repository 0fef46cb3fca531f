"""Ticket numbers: one counter row per tenant, taken one at a time or reserved for a batch.

The counter's row lock, taken by the statement that increments it and held to the commit,
serializes everyone who opens tickets of the tenant, so numbers have no gaps from races. A batch
of the intake (`tickets.intake`) that may open many tickets reserves their numbers with one
statement and gives back what it did not use before it commits: still no gaps, since nobody
else can take a number while the batch holds the lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import update

from core.database import insert_on_conflict
from core.extensions import db
from tickets.models import TicketCounter

FIRST_NUMBER = 1001  # a tenant's first ticket


class _Block:
    """Numbers reserved and not handed out yet: `next` up to `last`."""

    def __init__(self, size: int) -> None:
        self.size, self.next, self.last = size, 0, -1


_blocks: ContextVar[dict[int, _Block] | None] = ContextVar("firstline_ticket_numbers", default=None)


def _take(tenant_id: int, count: int) -> int:
    """Increment the counter by `count` (creating it at the first ticket); the new last number."""
    statement = (
        insert_on_conflict(TicketCounter, tenant_id)
        .values(tenant_id=tenant_id, last_number=FIRST_NUMBER + count - 1)
        .on_conflict_do_update(
            index_elements=[TicketCounter.tenant_id],
            set_={"last_number": TicketCounter.last_number + count},
        )
        .returning(TicketCounter.last_number)
    )
    return int(db.session.execute(statement).scalar_one())


def next_number(tenant_id: int) -> int:
    """The next ticket number of a tenant: one statement, or none inside `reserved`."""
    blocks = _blocks.get()
    block = blocks.get(tenant_id) if blocks is not None else None
    if block is None:
        return _take(tenant_id, 1)
    if block.next > block.last:
        block.last = _take(tenant_id, block.size)
        block.next = block.last - block.size + 1
    block.next += 1
    return block.next - 1


@contextmanager
def reserved(tenant_id: int, count: int) -> Iterator[None]:
    """Inside, the tenant's first `next_number` takes `count` numbers at once and the next ones
    are handed out from them; when the block ends without an error, those not handed out are
    given back (one more statement). When it fails, the caller rolls back, counter included."""
    blocks = dict(_blocks.get() or {})
    block = blocks[tenant_id] = _Block(max(count, 1))
    token = _blocks.set(blocks)
    try:
        yield
        unused = block.last - block.next + 1
        if unused > 0:
            db.session.execute(
                update(TicketCounter)
                .where(TicketCounter.tenant_id == tenant_id)
                .values(last_number=TicketCounter.last_number - unused)
                .execution_options(autoflush=False, synchronize_session=False)
            )
    finally:
        _blocks.reset(token)
