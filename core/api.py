"""JSON API conventions for `/api/v1`: one way to declare an endpoint, parse input and fail.

An endpoint is declared with `@endpoint(...)`, which authenticates (bearer tokens only: the API
is CSRF-exempt, so a session cookie must never authorize it), allow-lists the body through a
pydantic model with `extra="forbid"`, and records what the OpenAPI document needs, so the
document is generated from the code. Every error has the shape
`{"error": {"code", "message", "fields"}}`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from core.auth.roles import Role
from core.errors import ServiceError

API_PREFIX = "/api/v1"


class Schema(BaseModel):
    """Base for request bodies: unknown fields are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ApiError(ServiceError):
    def __init__(
        self,
        status: int,
        code: str,
        message: object,
        fields: Mapping[str, object] | None = None,
    ):
        super().__init__(message, fields)
        self.status = status
        self.code = code


def error_response(
    status: int, code: str, message: object, fields: Mapping[str, object] | None = None
) -> Response:
    body = {
        "error": {
            "code": code,
            "message": str(message),
            "fields": {k: str(v) for k, v in (fields or {}).items()},
        }
    }
    response = jsonify(body)
    response.status_code = status
    return response


def is_api_request() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


# --- validation messages in the caller's language ---------------------------------------------

_TYPE_MESSAGES = {
    "missing": _l("This field is required."),
    "extra_forbidden": _l("This field is not accepted."),
    "string_type": _l("Must be a text."),
    "int_type": _l("Must be a whole number."),
    "int_parsing": _l("Must be a whole number."),
    "int_from_float": _l("Must be a whole number."),
    "float_type": _l("Must be a number."),
    "float_parsing": _l("Must be a number."),
    "bool_type": _l("Must be true or false."),
    "bool_parsing": _l("Must be true or false."),
    "list_type": _l("Must be a list."),
    "dict_type": _l("Must be an object."),
    "model_type": _l("Must be an object."),
    "model_attributes_type": _l("Must be an object."),
    "datetime_type": _l("Must be a date and time (ISO 8601)."),
    "datetime_parsing": _l("Must be a date and time (ISO 8601)."),
    "datetime_from_date_parsing": _l("Must be a date and time (ISO 8601)."),
    "date_type": _l("Must be a date (YYYY-MM-DD)."),
    "date_parsing": _l("Must be a date (YYYY-MM-DD)."),
}


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in _TYPE_MESSAGES:
        return str(_TYPE_MESSAGES[kind])
    if kind == "string_too_short":
        n = int(ctx.get("min_length", 1))
        return ngettext("Must be at least %(num)d character.", "Must be at least %(num)d characters.", n)
    if kind == "string_too_long":
        n = int(ctx.get("max_length", 1))
        return ngettext("Must be at most %(num)d character.", "Must be at most %(num)d characters.", n)
    if kind in {"greater_than_equal", "greater_than"}:
        return _("Must be at least %(limit)s.", limit=ctx.get("ge", ctx.get("gt")))
    if kind in {"less_than_equal", "less_than"}:
        return _("Must be at most %(limit)s.", limit=ctx.get("le", ctx.get("lt")))
    if kind in {"literal_error", "enum"}:
        return _("Must be one of: %(choices)s.", choices=ctx.get("expected", ""))
    if kind == "value_error" and "email" in str(error.get("msg", "")).lower():
        return _("Must be a valid e-mail address.")
    return _("Invalid value.")


def field_errors(exc: PydanticValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "body"
        fields.setdefault(name, _message(error))
    return fields


def validate(schema: type[BaseModel], data: object) -> Any:
    try:
        return schema.model_validate(data)
    except PydanticValidationError as exc:
        raise ApiError(422, "validation_failed", _("Some fields are not valid."), field_errors(exc)) from None


def parse_body(schema: type[BaseModel]) -> Any:
    if (
        request.content_length is not None
        and request.content_length > current_app.config["API_MAX_JSON_BYTES"]
    ):
        raise ApiError(413, "payload_too_large", _("The request body is too large."))
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", _("Send the body as application/json."))
    raw = request.get_data(cache=True)
    if len(raw) > current_app.config["API_MAX_JSON_BYTES"]:
        raise ApiError(413, "payload_too_large", _("The request body is too large."))
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", _("The request body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", _("The request body must be a JSON object."))
    return validate(schema, data)


# --- cursor pagination ------------------------------------------------------------------------


def encode_cursor(value: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        value = None
    if not isinstance(value, dict):
        raise ApiError(400, "invalid_cursor", _("The cursor is not valid."), {"cursor": _("Invalid value.")})
    return value


def page_params(default: int = 50, maximum: int = 200) -> tuple[int, dict[str, Any] | None]:
    raw = request.args.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ApiError(
            400,
            "invalid_limit",
            _("The limit is not valid."),
            {"limit": _("Must be between 1 and %(max)d.", max=maximum)},
        )
    return int(raw), decode_cursor(request.args.get("cursor"))


def cursor_id(cursor: Mapping[str, Any] | None) -> int | None:
    """The id a keyset cursor points after; a tampered cursor is a 400, not a 500."""
    if cursor is None:
        return None
    value = cursor.get("id")
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError(400, "invalid_cursor", _("The cursor is not valid."), {"cursor": _("Invalid value.")})
    return value


def dump(model: type[BaseModel], obj: object) -> dict[str, Any]:
    """Serialize through the response model, so the document and the answer cannot drift."""
    return model.model_validate(obj, from_attributes=True).model_dump(mode="json")


def page(
    items: Sequence[Any],
    limit: int,
    cursor_of: Callable[[Any], Mapping[str, Any]],
    serialize: Callable[[Any], Any],
) -> dict[str, Any]:
    """`items` was fetched with limit+1 rows: the extra row only tells that there is more."""
    more = len(items) > limit
    shown = list(items[:limit])
    return {
        "data": [serialize(item) for item in shown],
        "next_cursor": encode_cursor(cursor_of(shown[-1])) if more and shown else None,
    }


# --- endpoint declaration and the OpenAPI document --------------------------------------------


@dataclass
class EndpointSpec:
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    auth: bool = True
    roles: tuple[Role, ...] = ()
    paginated: bool = False
    status: int = 200
    query: dict[str, str] = field(default_factory=dict)


def endpoint(
    bp: Any,
    rule: str,
    *,
    methods: Sequence[str],
    summary: str,
    tag: str,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    auth: bool = True,
    roles: Sequence[Role] = (),
    paginated: bool = False,
    status: int = 200,
    query: Mapping[str, str] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    spec = EndpointSpec(
        summary, tag, body, response, auth, tuple(roles), paginated, status, dict(query or {})
    )

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def view(**kwargs: Any) -> Any:
            if spec.auth and not current_user.is_authenticated:
                raise ApiError(401, "unauthorized", _("A valid bearer token is required."))
            if spec.roles and current_user.role not in spec.roles:
                raise ApiError(403, "forbidden", _("You are not allowed to do this."))
            if spec.body is not None:
                kwargs["body"] = parse_body(spec.body)
            result = fn(**kwargs)
            if isinstance(result, Response):
                return result
            response_ = jsonify(result)
            response_.status_code = spec.status
            return response_

        view._openapi = spec  # type: ignore[attr-defined]
        bp.add_url_rule(rule, view_func=view, methods=list(methods))
        return view

    return register


_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}


def _path(rule: str) -> str:
    """Flask's `/tenants/<int:tenant_id>` as OpenAPI's `/tenants/{tenant_id}`."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def openapi_document(app: Flask) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": _ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}

    def ref(model: type[BaseModel]) -> dict[str, str]:
        full = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in full.pop("$defs", {}).items():
            schemas[name] = sub
        schemas[model.__name__] = full
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(API_PREFIX):
            continue
        spec: EndpointSpec | None = getattr(app.view_functions[rule.endpoint], "_openapi", None)
        if spec is None:
            continue
        path = _path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation: dict[str, Any] = {
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "summary": spec.summary,
                "tags": [spec.tag],
                "parameters": [
                    {
                        "name": arg,
                        "in": "path",
                        "required": True,
                        "schema": {
                            "type": "integer"
                            if rule._converters[arg].__class__.__name__ == "IntegerConverter"
                            else "string"
                        },
                    }  # noqa: SLF001
                    for arg in rule.arguments
                ],
                "responses": {
                    str(spec.status): {
                        "description": "OK",
                        **(
                            {"content": {"application/json": {"schema": ref(spec.response)}}}
                            if spec.response
                            else {}
                        ),
                    },
                    "4XX": {"description": "Client error", "content": error},
                },
            }
            for name, description in spec.query.items():
                operation["parameters"].append(
                    {
                        "name": name,
                        "in": "query",
                        "required": False,
                        "description": description,
                        "schema": {"type": "string"},
                    }
                )
            if spec.paginated:
                operation["parameters"] += [
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 200},
                    },
                    {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
                ]
            if spec.body is not None:
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": ref(spec.body)}},
                }
            operation["security"] = [{"bearer": []}] if spec.auth else []
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Firstline API", "version": "1"},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
