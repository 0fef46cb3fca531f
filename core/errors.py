"""Errors that services raise and both the HTML views and the JSON API turn into 4xx answers."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l


class ServiceError(Exception):
    status = 400
    code = "bad_request"
    default_message = _l("The request could not be processed.")

    def __init__(self, message: object | None = None, fields: Mapping[str, object] | None = None):
        self.message = message if message is not None else self.default_message
        self.fields = dict(fields or {})
        super().__init__(str(self.message))


class ValidationFailed(ServiceError):
    status = 422
    code = "validation_failed"
    default_message = _l("Some fields are not valid.")


class NotFound(ServiceError):
    status = 404
    code = "not_found"
    default_message = _l("Not found.")


class PermissionDenied(ServiceError):
    status = 403
    code = "forbidden"
    default_message = _l("You are not allowed to do this.")


class Conflict(ServiceError):
    status = 409
    code = "conflict"
    default_message = _l("This conflicts with the current state; reload and try again.")
