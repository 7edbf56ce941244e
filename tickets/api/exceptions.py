"""One error format for every API error:

    {"error": {"code": "not_found", "message": "No such ticket.", "fields": {}}}

`code` is stable and machine-readable; `message` is for people; `fields` maps input fields to
their problems (empty when the error is not about a field)."""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class UnprocessableRequest(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request cannot be processed."
    default_code = "unprocessable"


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _as_messages(detail: Any) -> Any:
    """DRF error details as plain strings (lists and dicts kept as they are)."""
    if isinstance(detail, dict):
        return {str(key): _as_messages(value) for key, value in detail.items()}
    if isinstance(detail, list | tuple):
        return [_as_messages(item) for item in detail]
    return str(detail)


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _flatten(value)]
    if isinstance(detail, list | tuple):
        return [m for item in detail for m in _flatten(item)]
    return [str(detail)]


def _from_django_validation(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        detail: Any = {field: [str(m) for e in errors for m in e.messages] for field, errors in exc.error_dict.items()}
    else:
        detail = list(exc.messages)
    api_exc = exceptions.ValidationError(detail)
    errors = [e for es in exc.error_dict.values() for e in es] if hasattr(exc, "error_dict") else exc.error_list
    codes = {e.code for e in errors if e.code}
    if len(codes) == 1:  # one specific reason, e.g. invalid_transition
        api_exc.error_code = codes.pop()  # type: ignore[attr-defined]
    return api_exc


def _validation_response(exc: exceptions.ValidationError) -> tuple[str, str, dict[str, Any]]:
    detail = exc.detail
    code = getattr(exc, "error_code", None) or "invalid"
    if isinstance(detail, dict):
        fields = _as_messages(detail)
        non_field = fields.pop("non_field_errors", None)
        if non_field:
            return code, " ".join(_flatten(non_field)), fields
        names = ", ".join(fields)
        problems = _flatten(fields)
        message = f"{names}: {problems[0]}" if len(problems) == 1 else f"Some fields are not valid: {names}."
        return code, message, fields
    return code, " ".join(_flatten(detail)) or "The request is not valid.", {}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = _from_django_validation(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

    if isinstance(exc, exceptions.ValidationError):
        response = drf_exception_handler(exc, context)
        assert response is not None
        code, message, fields = _validation_response(exc)
        response.data = error_body(code, message, fields)
        return response

    response = drf_exception_handler(exc, context)
    if response is None:
        # An unexpected failure: log it with its traceback, answer in the same format.
        logger.exception("Unhandled error in the API", exc_info=exc)
        set_rollback()
        return Response(
            error_body("server_error", "Something went wrong on our side; it has been logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    assert isinstance(exc, exceptions.APIException)
    code = exc.get_codes()
    if not isinstance(code, str):
        code = exc.default_code
    message = " ".join(_flatten(exc.detail))
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        message = f"Too many requests; try again in {math.ceil(exc.wait)} seconds."
    response.data = error_body(code, message)
    return response
