"""The five roles and the tenant scope each one gets."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum

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
_assignment_lookup: list[AssignmentLookup] = []


def register_assignment_lookup(lookup: AssignmentLookup) -> None:
    _assignment_lookup[:] = [lookup]


def assigned_tenant_ids(user_id: int) -> frozenset[int]:
    if not _assignment_lookup:
        return frozenset()
    return frozenset(_assignment_lookup[0](user_id))
