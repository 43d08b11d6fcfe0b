"""The errors a provider client raises, by what the job layer does about each.

The job layer decides from the *type* of error raised:

- ``ProviderUnavailable`` (timeouts, connection errors, 5xx, malformed answers): try again later.
- ``ProviderRateLimited`` (429): try again after ``retry_after`` seconds.
- ``SubmitOutcomeUnknown`` (a submit's answer timed out): the task may exist; find out before
  sending it again.
- ``ProviderAuthError`` (401/403, and 402: our account cannot pay): the fault is ours, not the
  user's; the job fails, operators are told.
- ``ProviderRejected`` (other 4xx): the provider refused the input; the job fails with its message.
- ``WebhookVerificationError``: a webhook we do not believe came from the provider.

A render that the provider itself failed is not an exception: it is a ``PollResult`` whose state
is ``failed`` (``providers.clients.results``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ProviderError(Exception):
    """Base of every error a provider client raises; carries the provider's own message."""

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        http_status: int | None = None,
        code: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.http_status = http_status
        self.code = code
        self.body = body

    def __str__(self) -> str:
        parts = [p for p in (self.provider, str(self.http_status or ""), self.code or "") if p]
        prefix = f"[{' '.join(parts)}] " if parts else ""
        return f"{prefix}{self.message}"


class ProviderUnavailable(ProviderError):
    """Transient: a timeout, a connection error, a 5xx or an unreadable answer. Retry later."""


class ProviderRateLimited(ProviderUnavailable):
    """429: retry after ``retry_after`` seconds (from the Retry-After header when given)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class SubmitOutcomeUnknown(ProviderUnavailable):
    """A submit was sent but its answer never came (a read timeout): the provider may have created
    the task. Sending it again blindly could make a second task that we pay for."""


class ProviderAuthError(ProviderError):
    """401/403: our key is wrong or lacks access; 402: our account cannot pay. Not the user's
    fault; not retried."""


class ProviderRejected(ProviderError):
    """The provider refused the request (4xx other than auth and rate limits): the job fails.

    ``fields`` maps the provider's field names to its messages where it names them.
    """

    def __init__(self, message: str, *, fields: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.fields = dict(fields or {})


class WebhookVerificationError(Exception):
    """A webhook whose signature is missing, wrong or outside the allowed time window."""
