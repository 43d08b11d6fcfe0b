"""The one place errors become JSON: ``{"error": {"code", "message", "fields"?}}``.

``fields`` maps each bad field's path (``input.num_frames``) to the reasons it was refused."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_default

from .errors import ParleyError


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            path = key if not prefix else (f"{prefix}[{key}]" if isinstance(key, int) else f"{prefix}.{key}")
            if key in ("non_field_errors", "__all__"):
                path = prefix or "non_field_errors"
            for sub, messages in _flatten(value, path).items():
                out.setdefault(sub, []).extend(messages)
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out.setdefault(prefix or "non_field_errors", []).extend(str(item) for item in detail)
        else:
            for index, item in enumerate(detail):
                for sub, messages in _flatten(item, f"{prefix}[{index}]").items():
                    out.setdefault(sub, []).extend(messages)
    else:
        out.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return out


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def _invalid(fields: dict[str, list[str]]) -> Response:
    first_path, first = next(iter(fields.items()))
    message = f"{first_path}: {first[0]}" if first_path != "non_field_errors" else first[0]
    return Response(error_body("invalid", message, fields), status=status.HTTP_400_BAD_REQUEST)


def _suspicious(exc: SuspiciousOperation, context: dict[str, Any]) -> Response:
    """A 400 for what Django's request parsing refuses (more form fields or files than its limits,
    a broken multipart body), logged where Django logs it when it answers its own HTML 400."""
    if isinstance(exc, TooManyFieldsSent):
        body = error_body("too_many_fields", f"The request has more form fields than the limit of "
                          f"{settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}.")
    elif isinstance(exc, TooManyFilesSent):
        body = error_body("too_many_files", f"The request has more files than the limit of "
                          f"{settings.DATA_UPLOAD_MAX_NUMBER_FILES}; upload one file per request.")
    else:
        body = error_body("malformed_request", "The request could not be read.")
    request = context.get("request")
    logging.getLogger(f"django.security.{exc.__class__.__name__}").error(
        str(exc), extra={"status_code": 400, "request": getattr(request, "_request", request)})
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RecursionError):  # a JSON body nested deeper than the parser can follow
        return Response(error_body("malformed_request", "The JSON body is nested too deeply."), status=400)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("request_too_large", f"The request body is larger than the limit of "
                                   f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes; upload files with "
                                   f"POST /api/v1/assets (multipart)."), status=413)
    if isinstance(exc, SuspiciousOperation):
        return _suspicious(exc, context)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return _invalid(fields)
    if isinstance(exc, ObjectDoesNotExist | Http404 | exceptions.NotFound):
        return Response(error_body("not_found", "No such object."), status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, ParleyError):
        body = error_body(exc.code, exc.message)
        body["error"].update(getattr(exc, "details", None) or {})  # e.g. a budget's limit, spend and quote
        response = Response(body, status=exc.status_code)
        if exc.retry_after is not None:
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, exceptions.ValidationError):
        return _invalid(_flatten(exc.detail))
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_default(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer 500
    codes = {
        exceptions.ParseError: "malformed_request",
        exceptions.NotAuthenticated: "unauthenticated",
        exceptions.AuthenticationFailed: "unauthenticated",
        exceptions.PermissionDenied: "forbidden",
        exceptions.MethodNotAllowed: "method_not_allowed",
        exceptions.UnsupportedMediaType: "unsupported_media_type",
        exceptions.NotAcceptable: "not_acceptable",
        exceptions.Throttled: "rate_limited",
    }
    code = next((c for cls, c in codes.items() if isinstance(exc, cls)), "error")
    detail = getattr(exc, "detail", str(exc))
    if isinstance(exc, exceptions.NotAuthenticated):
        detail = "No API key was sent: send it as the header 'Authorization: Bearer <api key>'."
    response.data = error_body(code, str(detail))
    return response
