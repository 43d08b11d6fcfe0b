"""The exceptions the client raises: one class per kind of API answer, each carrying the server's
``code``, ``message`` and, for bad input, the field messages keyed by path (``input.image``)."""

from __future__ import annotations

from typing import Any

import httpx

__all__ = [
    "APIConnectionError",
    "AuthenticationError",
    "ConflictError",
    "NotFoundError",
    "ParleyError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "ValidationError",
    "WaitTimeout",
    "error_from_response",
]


class ParleyError(Exception):
    """Any failure of a call. ``status`` is the HTTP status (None when no answer came), ``code`` the
    API's error code, ``fields`` the messages per field path, ``body`` the decoded error object."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 fields: dict[str, list[str]] | None = None, body: dict[str, Any] | None = None,
                 request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.fields: dict[str, list[str]] = fields or {}
        self.body: dict[str, Any] = body or {}
        self.request_id = request_id

    def __str__(self) -> str:
        lines = [self.message]
        for path, messages in self.fields.items():
            lines.extend(f"  {path}: {m}" for m in messages if f"{path}: {m}" != self.message)
        return "\n".join(lines)


class ValidationError(ParleyError):
    """400: the request was refused; ``fields`` names each bad field (``input.image``) and why."""


class AuthenticationError(ParleyError):
    """401: no key, an unknown or revoked key."""


class PaymentRequiredError(ParleyError):
    """402: a budget or an unpaid invoice stops new live jobs; ``body`` has ``limit``, ``spend``,
    ``reserved``, ``quote`` and ``scope`` when the code is ``budget_exceeded``."""


class PermissionDeniedError(ParleyError):
    """403: the key's role may not do this."""


class NotFoundError(ParleyError):
    """404: no such object (or another tenant's, or the other mode's)."""


class ConflictError(ParleyError):
    """409: the object's state forbids it (an unfinished job's output, a job no longer cancelable,
    an idempotency key reused with another body)."""


class RateLimitError(ParleyError):
    """429 after the retries ran out; ``retry_after`` is the server's wait in seconds, if it said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(ParleyError):
    """5xx after the retries ran out."""


class APIConnectionError(ParleyError):
    """The server could not be reached (or stopped answering) after the retries ran out."""


class WaitTimeout(ParleyError):
    """A job did not reach a final status within the wait's timeout; ``job`` is its last state."""

    def __init__(self, message: str, *, job: Any = None) -> None:
        super().__init__(message, code="wait_timeout")
        self.job = job


_BY_STATUS: dict[int, type[ParleyError]] = {
    400: ValidationError, 401: AuthenticationError, 402: PaymentRequiredError, 403: PermissionDeniedError,
    404: NotFoundError, 409: ConflictError, 413: ValidationError, 429: RateLimitError,
}


def error_from_response(response: httpx.Response, *, retry_after: float | None = None) -> ParleyError:
    """The exception for an error answer, from its ``{"error": {"code", "message", "fields"}}`` body."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        error = {"message": (response.text or "")[:500] or f"HTTP {response.status_code}"}
    message = str(error.get("message") or f"HTTP {response.status_code}")
    fields = error.get("fields") if isinstance(error.get("fields"), dict) else None
    status = response.status_code
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ParleyError)
    kwargs: dict[str, Any] = {"status": status, "code": error.get("code"), "fields": fields, "body": error,
                              "request_id": response.headers.get("X-Request-Id")}
    if cls is RateLimitError:
        return RateLimitError(message, retry_after=retry_after, **kwargs)
    return cls(message, **kwargs)
