"""Tokens and the caller's own profile over the JSON API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, Field

from core.api import ApiError, Schema, dump, endpoint
from core.auth import services
from core.extensions import limiter

bp = Blueprint("auth_api", __name__, url_prefix="/api/v1")


class TokenIn(Schema):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=200)
    name: str = Field(default="api", max_length=100)


class TokenOut(BaseModel):
    token: str
    expires_at: str


class MeOut(BaseModel):
    id: int
    email: str
    name: str
    role: str
    tenant_id: int | None
    locale: str | None
    timezone: str | None


class MeIn(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    locale: str | None = Field(default=None, max_length=8)
    timezone: str | None = Field(default=None, max_length=64)


@endpoint(
    bp,
    "/auth/token",
    methods=["POST"],
    summary=_l("Exchange e-mail and password for a bearer token"),
    tag="auth",
    body=TokenIn,
    response=TokenOut,
    auth=False,
    status=201,
)
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"])
def create_token(body: TokenIn) -> dict[str, Any]:
    user = services.authenticate(body.email, body.password)
    if user is None:
        raise ApiError(401, "invalid_credentials", _("Wrong e-mail or password."))
    raw, token = services.issue_token(user, body.name)
    return {"token": raw, "expires_at": token.expires_at.isoformat()}


@endpoint(
    bp,
    "/auth/token",
    methods=["DELETE"],
    summary=_l("Revoke the token used for this request"),
    tag="auth",
    status=200,
)
def revoke_token() -> dict[str, Any]:
    services.revoke_token(g.api_token)
    return {"revoked": True}


@endpoint(bp, "/me", methods=["GET"], summary=_l("The signed-in user"), tag="auth", response=MeOut)
def me() -> dict[str, Any]:
    return dump(MeOut, current_user)


@endpoint(
    bp,
    "/me",
    methods=["PATCH"],
    summary=_l("Update name, language or time zone"),
    tag="auth",
    body=MeIn,
    response=MeOut,
)
def update_me(body: MeIn) -> dict[str, Any]:
    user = current_user
    services.update_profile(
        user,
        name=body.name if body.name is not None else user.name,
        locale=body.locale if "locale" in body.model_fields_set else user.locale,
        timezone=body.timezone if "timezone" in body.model_fields_set else user.timezone,
    )
    return dump(MeOut, user)
