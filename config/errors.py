"""Errors a service raises that carry their HTTP meaning (Stripe-style). Only
``config.exception_handler`` turns them into JSON; dashboard views catch ``ParleyError``."""

from __future__ import annotations


class ParleyError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.retry_after = retry_after


class Unauthenticated(ParleyError):
    """Credentials that were sent but no longer work, with the reason (the API answers 401)."""

    status_code = 401
    code = "unauthenticated"


class RoleForbidden(ParleyError):
    status_code = 403
    code = "forbidden"


class Conflict(ParleyError):
    status_code = 409
    code = "conflict"


class RateLimited(ParleyError):
    """Too many requests (the API answers 429 with ``Retry-After``)."""

    status_code = 429
    code = "rate_limited"
