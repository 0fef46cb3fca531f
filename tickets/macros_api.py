"""Macros (canned replies) over the JSON API: agents read them, supervisors and admins write them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask import Blueprint
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, Field

from core.api import Schema, dump, endpoint
from core.auth.roles import Role
from tickets import macros
from tickets import services as tickets
from tickets.api import STAFF, listed, tenant_filter, tenant_in_scope
from tickets.models import Macro

bp = Blueprint("macros_api", __name__, url_prefix="/api/v1")
EDITORS = (Role.SUPERVISOR, Role.PROVIDER_ADMIN)
FollowUpStatus = Literal["pending_customer", "resolved"]


class MacroOut(BaseModel):
    id: int
    tenant_id: int
    name: str
    language: str
    body: str
    set_status: str | None
    add_tags: list[str]
    created_at: datetime
    updated_at: datetime


class MacroIn(Schema):
    tenant_id: int
    name: str = Field(min_length=1, max_length=120)
    language: str = Field(min_length=2, max_length=8)
    body: str = Field(min_length=1, max_length=50000)
    set_status: FollowUpStatus | None = None
    add_tags: list[str] = Field(default_factory=list, max_length=100)


class MacroPatch(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    language: str | None = Field(default=None, min_length=2, max_length=8)
    body: str | None = Field(default=None, min_length=1, max_length=50000)
    set_status: FollowUpStatus | None = None
    add_tags: list[str] | None = Field(default=None, max_length=100)


class RenderedMacroOut(BaseModel):
    id: int
    name: str
    language: str
    text: str
    set_status: str | None
    add_tags: list[str]


class Deleted(BaseModel):
    deleted: bool


@endpoint(
    bp,
    "/macros",
    methods=["GET"],
    summary=_l("Macros of the clients you serve, by client, name and language"),
    tag="macros",
    response=MacroOut,
    roles=STAFF,
    query={"tenant_id": "one client"},
)
def list_macros() -> dict[str, Any]:
    return listed(macros.listing(tenant_filter()), lambda m: dump(MacroOut, m))


@endpoint(
    bp,
    "/macros",
    methods=["POST"],
    summary=_l("Create a macro for a client in one of its languages"),
    tag="macros",
    body=MacroIn,
    response=MacroOut,
    roles=EDITORS,
    status=201,
)
def create_macro(body: MacroIn) -> dict[str, Any]:
    tenant = tenant_in_scope(body.tenant_id)
    macro = macros.create(
        macros.MacroInput(
            tenant_id=tenant.id,
            name=body.name,
            language=body.language,
            body=body.body,
            set_status=body.set_status,
            add_tags=body.add_tags,
        )
    )
    return dump(MacroOut, macro)


@endpoint(
    bp,
    "/macros/<int:macro_id>",
    methods=["GET"],
    summary=_l("One macro"),
    tag="macros",
    response=MacroOut,
    roles=STAFF,
)
def get_macro(macro_id: int) -> dict[str, Any]:
    return dump(MacroOut, macros.get(macro_id))


@endpoint(
    bp,
    "/macros/<int:macro_id>",
    methods=["PATCH"],
    summary=_l("Change a macro"),
    tag="macros",
    body=MacroPatch,
    response=MacroOut,
    roles=EDITORS,
)
def patch_macro(macro_id: int, body: MacroPatch) -> dict[str, Any]:
    macro = macros.get(macro_id)
    given = body.model_fields_set
    current = {name: getattr(macro, name) for name in ("name", "language", "body", "set_status", "add_tags")}
    current.update({name: getattr(body, name) for name in given})
    data = macros.MacroInput(
        tenant_id=macro.tenant_id,
        name=current["name"] or "",
        language=current["language"] or "",
        body=current["body"] or "",
        set_status=current["set_status"],
        add_tags=list(current["add_tags"] or []),
    )
    return dump(MacroOut, macros.update(macro, data))


@endpoint(
    bp,
    "/macros/<int:macro_id>",
    methods=["DELETE"],
    summary=_l("Delete a macro"),
    tag="macros",
    response=Deleted,
    roles=EDITORS,
)
def delete_macro(macro_id: int) -> dict[str, Any]:
    macros.delete(macros.get(macro_id))
    return {"deleted": True}


@endpoint(
    bp,
    "/tickets/<int:ticket_id>/macros",
    methods=["GET"],
    summary=_l("The macros for a ticket, in its language, with the placeholders filled in"),
    tag="macros",
    response=RenderedMacroOut,
    roles=STAFF,
)
def ticket_macros(ticket_id: int) -> dict[str, Any]:
    ticket = tickets.get_ticket(ticket_id)
    values = macros.values_for(ticket, current_user.name)

    def rendered(macro: Macro) -> dict[str, Any]:
        return RenderedMacroOut(
            id=macro.id,
            name=macro.name,
            language=macro.language,
            text=macros.render(macro, values),
            set_status=macro.set_status,
            add_tags=list(macro.add_tags or []),
        ).model_dump(mode="json")

    return listed(macros.for_ticket(ticket), rendered)
