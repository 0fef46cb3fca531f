"""The request boundary: who is asking, which tenants they may touch, and one commit at the end.

Every request starts with no tenancy scope (fail closed), gets the signed-in user's scope, and
ends with a single commit when the response is a success, or a rollback otherwise, so a 4xx
never leaves a partial write behind. Jobs enqueued by the request are dispatched after that
commit.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, Response, g, render_template, request
from flask_babel import gettext as _
from flask_login import AnonymousUserMixin, current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from core import audit, jobs, tenancy
from core.api import ApiError, error_response, is_api_request
from core.auth import services as auth
from core.errors import ServiceError
from core.extensions import db, limiter

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    503: "unavailable",
}


def _http_messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        401: _("Please sign in."),
        403: _("You are not allowed to do this."),
        404: _("Not found."),
        405: _("This method is not allowed here."),
        413: _("The request body is too large."),
        415: _("This content type is not supported."),
        429: _("Too many requests; please wait a moment and try again."),
        503: _("The service is busy. Please try again in a moment."),
    }


def enter_tenant(tenant_id: int, *, locale: str | None = None, timezone: str | None = None) -> None:
    """Narrow an anonymous request to one tenant (public pages, webhooks) once it is known;
    a public page also speaks the tenant's language and shows its time zone."""
    tenancy.set_scope(tenancy.tenants([tenant_id]))
    g.tenant_locale = locale
    g.tenant_timezone = timezone


def signed_in(user: Any) -> None:
    """After a sign-in, the rest of the request acts as that user."""
    tenancy.set_scope(auth.scope_for(user))
    audit.set_actor(audit.Actor(user.id, user.email, request.remote_addr))


def _begin() -> None:
    # The user is resolved afresh for every request, even if an app context is reused.
    g.pop("_login_user", None)
    g._tenancy_token = tenancy.set_scope(None)
    g._actor_token = audit.set_actor(audit.Actor(None, "anonymous", request.remote_addr))
    if is_api_request():
        _authenticate_bearer()
    if current_user.is_authenticated:
        signed_in(current_user)


def _authenticate_bearer() -> None:
    g._login_user = AnonymousUserMixin()
    header = request.headers.get("Authorization", "")
    if not header:
        return
    scheme, _sep, raw = header.partition(" ")
    found = auth.user_for_token(raw.strip()) if scheme.lower() == "bearer" else None
    if found is None:
        raise ApiError(401, "invalid_token", _("The bearer token is not valid."))
    g._login_user, g.api_token = found


def _finish(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not g.get("embeddable"):
        # Only the public contact form may be framed by a client's site.
        response.headers.setdefault("X-Frame-Options", "DENY")
    if response.status_code < 400:
        jobs.commit()
    else:
        db.session.rollback()
        if response.status_code == 429:
            _retry_after(response)
    return response


def _retry_after(response: Response) -> None:
    """When the breached limit's window ends, in seconds (the rate-limit headers are off)."""
    breached = limiter.current_limit
    if breached is not None and "Retry-After" not in response.headers:
        response.headers["Retry-After"] = str(max(1, breached.reset_at - int(time.time())))


def _end(exc: BaseException | None) -> None:
    for name, reset in (("_tenancy_token", tenancy.reset_scope), ("_actor_token", audit.reset_actor)):
        token = g.pop(name, None)
        if token is not None:
            reset(token)


def _render_error(
    status: int, code: str, message: object, fields: dict[str, object] | None = None
) -> tuple[object, int]:
    if is_api_request():
        return error_response(status, code, message, fields), status
    return render_template("errors/error.html", status=status, message=str(message)), status


def _service_error(exc: ServiceError) -> tuple[object, int]:
    return _render_error(exc.status, exc.code, exc.message, exc.fields)


def _http_error(exc: HTTPException) -> tuple[object, int]:
    status = exc.code or 500
    message = _http_messages().get(status, exc.description or "")
    return _render_error(status, HTTP_CODES.get(status, "error"), message)


def _csrf_error(exc: CSRFError) -> tuple[object, int]:
    return _render_error(
        400,
        "csrf_failed",
        _("The form has expired or was not sent from this site. Go back, reload the page and try again."),
    )


def _tenancy_error(exc: tenancy.TenancyError) -> tuple[object, int]:
    # Fail closed and say nothing about what exists elsewhere.
    log.error("tenancy refused %s %s: %s", request.method, request.path, exc)
    return _render_error(404, "not_found", _("Not found."))


def _unexpected(exc: Exception) -> tuple[object, int]:
    log.exception("unhandled error on %s %s", request.method, request.path)
    db.session.rollback()
    return _render_error(500, "internal_error", _("Something went wrong on our side. It has been logged."))


def init_app(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_finish)
    app.teardown_request(_end)
    app.register_error_handler(ServiceError, _service_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(tenancy.TenancyError, _tenancy_error)
    app.register_error_handler(Exception, _unexpected)
