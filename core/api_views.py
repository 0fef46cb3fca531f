"""The API's own description."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app
from flask_babel import lazy_gettext as _l

from core.api import endpoint, openapi_document

bp = Blueprint("api_meta", __name__, url_prefix="/api/v1")


@endpoint(bp, "/openapi.json", methods=["GET"], summary=_l("This OpenAPI document"), tag="meta", auth=False)
def openapi() -> dict[str, Any]:
    return openapi_document(current_app)
