"""The five roles and the tenant scope each one gets."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l


class Role(StrEnum):
    PROVIDER_ADMIN = "provider_admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    CLIENT_ADMIN = "client_admin"
    CLIENT_EXPERT = "client_expert"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])

    @property
    def is_provider_staff(self) -> bool:
        return self in PROVIDER_ROLES

    @property
    def is_client_staff(self) -> bool:
        return self in CLIENT_ROLES


ROLE_LABELS = {
    Role.PROVIDER_ADMIN: _l("Provider admin"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.AGENT: _l("Agent"),
    Role.CLIENT_ADMIN: _l("Client admin"),
    Role.CLIENT_EXPERT: _l("Client expert"),
}
PROVIDER_ROLES = frozenset({Role.PROVIDER_ADMIN, Role.SUPERVISOR, Role.AGENT})
CLIENT_ROLES = frozenset({Role.CLIENT_ADMIN, Role.CLIENT_EXPERT})

# Provider staff other than admins see the tenants they are assigned to; the `agents` package
# owns those assignments and registers the lookup here, so that core imports no domain package.
AssignmentLookup = Callable[[int], Iterable[int]]
# The same as a column: a user id column -> the user's tenant ids, comma-separated (a correlated
# scalar subquery), so the request's user and its scope load with one query.
AssignmentColumn = Callable[[Any], Any]
_assignment_lookup: list[AssignmentLookup] = []
_assignment_column: list[AssignmentColumn] = []


def register_assignment_lookup(lookup: AssignmentLookup, column: AssignmentColumn | None = None) -> None:
    _assignment_lookup[:] = [lookup]
    _assignment_column[:] = [column] if column is not None else []


def assigned_tenants_column(user_id: Any) -> Any:
    """The registered column for `user_id`, or None if the domain gave none."""
    return _assignment_column[0](user_id) if _assignment_column else None


def parse_tenant_list(value: str | None) -> frozenset[int]:
    return frozenset(int(part) for part in value.split(",") if part) if value else frozenset()


def assigned_tenant_ids(user_id: int) -> frozenset[int]:
    if not _assignment_lookup:
        return frozenset()
    return frozenset(_assignment_lookup[0](user_id))
