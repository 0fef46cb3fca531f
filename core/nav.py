"""What the layout shows: navigation entries and home-page panels that domain packages register.

This keeps the dependency one-way: `core` renders the layout, domain packages add to it from
their `init_app`, and core never imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from core.auth.roles import Role


@dataclass(frozen=True)
class NavItem:
    label: object  # a lazy string, rendered in the request's language
    endpoint: str
    roles: frozenset[Role]
    order: int = 100


@dataclass(frozen=True)
class HomePanel:
    template: str
    roles: frozenset[Role]
    order: int = 100


_nav: list[NavItem] = []
_panels: list[HomePanel] = []
_tenant_choices: list[Callable[[], list[tuple[int, str]]]] = []


def _add(items: list, item: object) -> None:  # type: ignore[type-arg]
    if item not in items:
        items.append(item)
        items.sort(key=lambda entry: entry.order)


def add_nav(label: object, endpoint: str, roles: Iterable[Role], order: int = 100) -> None:
    _add(_nav, NavItem(label, endpoint, frozenset(roles), order))


def add_home_panel(template: str, roles: Iterable[Role], order: int = 100) -> None:
    _add(_panels, HomePanel(template, frozenset(roles), order))


def nav_items(role: str) -> list[NavItem]:
    return [item for item in _nav if role in item.roles]


def home_panels(role: str) -> list[HomePanel]:
    return [panel for panel in _panels if role in panel.roles]


def register_tenant_choices(provider: Callable[[], list[tuple[int, str]]]) -> None:
    _tenant_choices[:] = [provider]


def tenant_choices() -> list[tuple[int, str]]:
    """(id, name) of the tenants in the current scope, for filters."""
    return _tenant_choices[0]() if _tenant_choices else []
