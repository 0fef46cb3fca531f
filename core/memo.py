"""Settings read once while a batch that changes none of them runs.

A job that processes many intake records of one tenant in one transaction (`tickets.intake`)
would read the tenant's SLA policies, business calendar and sender address again for every new
ticket. Inside `batch()`, the readers that go through `read` load each value once; outside it,
`read` always loads, so a request that edits a policy and then opens a ticket sees its edit.
A value the batch itself may change is kept up to date by the code that changes it (the
addresses a bounce marks as failing, `channels.mail_inbound`; the contacts it creates,
`tickets.contacts`). Keys name the tenant, as every cache key does.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")
_values: ContextVar[dict[Hashable, Any] | None] = ContextVar("firstline_memo", default=None)


@contextmanager
def batch() -> Iterator[None]:
    """Values read inside are kept until the block ends (the batch's own writes never touch them)."""
    token = _values.set({})
    try:
        yield
    finally:
        _values.reset(token)


def read(key: Hashable, load: Callable[[], T]) -> T:
    values = _values.get()
    if values is None:
        return load()
    if key not in values:
        values[key] = load()
    return values[key]  # type: ignore[no-any-return]


def remember(key: Hashable, value: Any) -> None:
    """Keep `value` for `key` inside a batch (a row the batch created, or several loaded with
    one query ahead of their readers); nothing outside one."""
    values = _values.get()
    if values is not None:
        values[key] = value


def forget() -> None:
    """Drop everything kept so far: after a rollback, a kept row may no longer exist."""
    values = _values.get()
    if values is not None:
        values.clear()


def active() -> bool:
    """Whether a batch keeps what is read (ahead-of-time loading is only worth it then)."""
    return _values.get() is not None
