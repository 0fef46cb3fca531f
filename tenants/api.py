"""Client companies over the JSON API (read-only until the administration issue)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel
from sqlalchemy import select

from core.api import cursor_id, dump, endpoint, page, page_params
from core.extensions import db
from tenants import services
from tenants.models import Tenant

bp = Blueprint("tenants_api", __name__, url_prefix="/api/v1/tenants")


class TenantOut(BaseModel):
    id: int
    slug: str
    name: str
    status: str
    languages: list[str]
    default_language: str
    timezone: str
    currency: str
    ticket_prefix: str


@endpoint(
    bp,
    "",
    methods=["GET"],
    summary=_l("Client companies you may see"),
    tag="tenants",
    response=TenantOut,
    paginated=True,
)
def list_tenants() -> dict[str, Any]:
    limit, cursor = page_params()
    query = select(Tenant).order_by(Tenant.id).limit(limit + 1)
    after = cursor_id(cursor)
    if after is not None:
        query = query.where(Tenant.id > after)
    rows = list(db.session.scalars(query))
    return page(rows, limit, lambda t: {"id": t.id}, lambda t: dump(TenantOut, t))


@endpoint(
    bp,
    "/<int:tenant_id>",
    methods=["GET"],
    summary=_l("One client company"),
    tag="tenants",
    response=TenantOut,
)
def get_tenant(tenant_id: int) -> dict[str, Any]:
    return dump(TenantOut, services.get_tenant(tenant_id))
