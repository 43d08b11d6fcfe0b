"""The one interface every provider client speaks (``ProviderClient``), and the HTTP and webhook
machinery the clients share: retries with backoff, one table from answers to errors, safe JSON, the
webhook header and timestamp checks.

A client knows HTTP and its provider's wire format, never the ORM. It is given already-resolved
inputs (asset ids replaced by URLs the provider can fetch) and answers the plain dataclasses of
``providers.clients.results``; what it raises, and what the job layer does about each, is in
``providers.clients.errors``.
"""

from __future__ import annotations

import json
import os
import random
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import httpx

from .errors import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    SubmitOutcomeUnknown,
    WebhookVerificationError,
)
from .results import CancelResult, ClientConfig, PollResult, Submission, WebhookEvent

# Told of every HTTP attempt ``_request`` makes: (provider, HTTP method, seconds, outcome), the
# outcome "ok" or the kind of failure (``attempt_outcome``). ops.provider_metrics registers the
# Prometheus one; the clients themselves stay free of any metrics library.
request_observers: list[Callable[[str, str, float, str], None]] = []


class ProviderClient:
    """Base class of the provider clients. Subclasses set ``provider`` and translate the
    operations to their wire format; ``_request`` does the HTTP with timeouts, retries and error
    mapping, the same for every provider."""

    provider: str = ""
    # The payment rule (see ``map_error``): the provider's own words for "our account cannot pay".
    unpaid_message: str = ""
    unpaid_codes: tuple[str, ...] = ()

    def __init__(
        self,
        config: ClientConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        http: httpx.Client | None = None,
        pool_limits: httpx.Limits | None = None,
    ) -> None:
        """``http``: a long-lived pool shared with other clients of the same provider account
        (``providers.registry`` keeps one per provider and mode); this client then does not own
        it and ``close()`` leaves it open. Without it the client makes its own, on the process's
        one SSL context."""
        self.config = config
        self._sleep = sleep
        self._owns_http = http is None
        self._http = http if http is not None else self.new_http(transport=transport, limits=pool_limits)

    def new_http(
        self, *, transport: httpx.BaseTransport | None = None, limits: httpx.Limits | None = None
    ) -> httpx.Client:
        """An httpx client (a connection pool) with this client's timeouts and auth headers. It
        verifies TLS with ``shared_ssl_context()``: building a context loads certifi's bundle,
        about 20 ms of CPU, which must happen once per process, not once per call."""
        return httpx.Client(
            timeout=httpx.Timeout(self.config.read_timeout, connect=self.config.connect_timeout),
            transport=transport,
            verify=shared_ssl_context(),
            limits=limits or httpx.Limits(max_connections=100, max_keepalive_connections=20),
            headers=self.auth_headers(),
            follow_redirects=False,
        )

    # -- the interface -------------------------------------------------------------------
    def auth_headers(self) -> dict[str, str]:
        raise NotImplementedError

    def submit(
        self, *, model_path: str, inputs: Mapping[str, Any], webhook_url: str | None = None
    ) -> Submission:
        raise NotImplementedError

    def handle_for(self, *, model_path: str, request_id: str) -> dict[str, Any]:
        """The handle of a task known only by its id (one a webhook reported for a submit whose
        answer was lost): what ``poll``/``cancel`` need, as ``submit`` would have answered it."""
        return {"request_id": request_id}

    def status(self, *, handle: Mapping[str, Any]) -> PollResult:
        """Fetch the task's state. Where the provider's status answer also carries the output
        (WaveSpeed, DashScope), it is complete; where it does not (fal), ``video_url`` is None."""
        raise NotImplementedError

    def result(self, *, handle: Mapping[str, Any]) -> PollResult:
        """Fetch a finished task's output. By default the status answer carries it."""
        return self.status(handle=handle)

    def poll(self, *, handle: Mapping[str, Any]) -> PollResult:
        """Status, then the result once the task succeeded: what the job layer calls."""
        state = self.status(handle=handle)
        if state.state != "succeeded" or state.video_url:
            return state
        return self.result(handle=handle)

    def cancel(self, *, handle: Mapping[str, Any]) -> CancelResult:
        raise ProviderRejected("This provider cannot cancel a task.", provider=self.provider)

    def price(self, *, model_path: str, inputs: Mapping[str, Any]) -> Decimal | None:
        """The provider's own price for a task with these inputs, where it publishes a price endpoint
        (WaveSpeed); None where it does not. Used to reconcile our metering, never to charge."""
        return None

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """The job layer's one entry point for a webhook: check its signature, then read it (as
        stripe-python's ``Webhook.construct_event`` calls ``WebhookSignature.verify_header``), so
        that no body is read before it is verified."""
        self.verify_webhook(headers=headers, body=body)
        return self.parse_webhook_body(body=body, headers=headers)

    def verify_webhook(self, *, headers: Mapping[str, str], body: bytes) -> None:
        """Raise WebhookVerificationError unless the webhook is signed by the provider and fresh."""
        raise WebhookVerificationError(f"{self.provider} sends no webhooks.")

    def parse_webhook_body(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """A verified webhook -> WebhookEvent (``headers`` give what the provider signed there)."""
        raise WebhookVerificationError(f"{self.provider} sends no webhooks.")

    def close(self) -> None:
        """Close the connection pool if this client owns it (a shared pool outlives its users)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> ProviderClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- shared HTTP machinery -------------------------------------------------------------
    def _request(self, method: str, url: str, *, idempotent: bool = True, **kwargs: Any) -> httpx.Response:
        """Send with retries on connection errors, timeouts, 429 and 5xx (jittered exponential
        backoff; Retry-After honoured), then map a final non-2xx answer to a ProviderError.

        A non-idempotent call (a submit) is not re-sent after a read timeout, since the provider
        may have created the task already; connection failures (nothing was sent) still retry."""
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.TimeoutException as exc:
                if not idempotent and not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
                    self._observed(method, started, "submit_outcome_unknown")
                    raise SubmitOutcomeUnknown(
                        f"timed out waiting for {self.provider} to answer a submit", provider=self.provider
                    ) from exc
                error: ProviderError = ProviderUnavailable(
                    f"timed out calling {self.provider}: {exc.__class__.__name__}", provider=self.provider
                )
                self._observed(method, started, "timeout")
            except httpx.TransportError as exc:
                error = ProviderUnavailable(f"could not reach {self.provider}: {exc}", provider=self.provider)
                self._observed(method, started, "connect")
            else:
                if response.status_code < 400:
                    in_body = self.answer_error(response)
                    if in_body is None:
                        self._observed(method, started, "ok")
                        return response
                    error = in_body
                else:
                    error = self.map_error(response)
                self._observed(method, started, attempt_outcome(error))
            if not isinstance(error, ProviderUnavailable) or attempt >= self.config.max_retries:
                raise error
            if isinstance(error, ProviderRateLimited) and (error.retry_after or 0) > self.config.backoff_cap:
                raise error  # a long wait is the job layer's to schedule (DB state), not a sleeping worker's
            self._sleep(self._backoff(attempt, error))
            attempt += 1

    def _observed(self, method: str, started: float, outcome: str) -> None:
        for observer in request_observers:
            try:
                observer(self.provider, method, time.perf_counter() - started, outcome)
            except Exception:  # measuring must never break a provider call
                pass

    def _backoff(self, attempt: int, error: ProviderError) -> float:
        if isinstance(error, ProviderRateLimited) and error.retry_after is not None:
            return min(error.retry_after, self.config.backoff_cap)
        ceiling = min(self.config.backoff_cap, self.config.backoff_base * (2**attempt))
        return random.uniform(0, ceiling)  # "full jitter"

    def map_error(self, response: httpx.Response) -> ProviderError:
        """Map a non-2xx answer to the taxonomy, the same for every provider: 402 (or one of the
        provider's ``unpaid_codes``) is our account unable to pay, not the user's input, so it is a
        ProviderAuthError like a bad key; then 429 rate limited, 401/403 auth, 408/5xx unavailable,
        any other 4xx rejected. ``error_kind`` lets a provider name another kind from its wire
        words first (fal's retryable header, DashScope's ``Throttling`` codes)."""
        message, code, fields = self.error_message(response)
        status = response.status_code
        kwargs: dict[str, Any] = {
            "provider": self.provider,
            "http_status": status,
            "code": code,
            "body": response_body(response),
        }
        kind = self.error_kind(status=status, code=code, headers=response.headers)
        if kind is None and (status == 402 or (code is not None and code in self.unpaid_codes)):
            unpaid = self.unpaid_message or f"The {self.provider} account cannot pay for this"
            return ProviderAuthError(f"{unpaid}: {message}", **kwargs)
        kind = kind or _kind_for_status(status)
        if issubclass(kind, ProviderRateLimited):
            return kind(message, retry_after=parse_retry_after(response.headers), **kwargs)
        if issubclass(kind, ProviderRejected):
            return kind(message, fields=fields, **kwargs)
        return kind(message, **kwargs)

    def error_kind(
        self, *, status: int, code: str | None, headers: Mapping[str, str]
    ) -> type[ProviderError] | None:
        """The error class a provider's wire words call for, or None for the common table."""
        return None

    def error_message(self, response: httpx.Response) -> tuple[str, str | None, dict[str, str]]:
        """(message, code, field messages) of an error answer: what ``read_error`` finds in its
        body, else the start of its text."""
        message, code, fields = self.read_error(response_body(response), response.headers)
        return (message or response.text[:500] or response.reason_phrase, code, fields)

    def read_error(self, body: Any, headers: Mapping[str, str]) -> tuple[str, str | None, dict[str, str]]:
        """(message, code, field messages) from an error answer's decoded body (JSON, or text when
        it is not JSON); an empty message when the body names none."""
        return ("", None, {})

    def answer_error(self, response: httpx.Response) -> ProviderError | None:
        """An error carried inside a 2xx/3xx answer, or None. Some providers answer HTTP 200 with
        the real status in the body (WaveSpeed's envelope ``code``); a subclass returns the mapped
        error here so that ``_request`` retries and raises it exactly like an HTTP error."""
        return None

    def _json(self, response: httpx.Response) -> Any:
        return json_answer(response, provider=self.provider)

    def _task_id(self, value: Any, *, name: str, response: httpx.Response, body: Any) -> str:
        """The task id a submit answered (in the provider's field ``name``); an accepted submit
        that names none is an unreadable answer: ProviderUnavailable."""
        task_id = str(value or "")
        if not task_id:
            raise ProviderUnavailable(
                f"{self.provider} accepted the submit but answered no {name}",
                provider=self.provider,
                http_status=response.status_code,
                body=body,
            )
        return task_id

    def _trusted_url(self, answered: Any, fallback: str) -> str:
        """Follow a URL the provider answered (WaveSpeed's ``urls.get``, fal's queue URLs) only when
        it points at our configured base, so that our key is never sent to another host."""
        if isinstance(answered, str) and answered and same_origin(answered, self.config.base_url):
            return answered
        return fallback

    def _now(self) -> float:
        """The clock webhook timestamps are checked against."""
        return time.time()


def attempt_outcome(error: ProviderError) -> str:
    """The kind of a failed attempt, as metrics name it: rate_limited, auth, rejected, unavailable."""
    for kind, name in ((ProviderRateLimited, "rate_limited"), (ProviderAuthError, "auth"),
                       (ProviderRejected, "rejected")):
        if isinstance(error, kind):
            return name
    return "unavailable"


_SSL_CONTEXTS: dict[tuple[str, str], ssl.SSLContext] = {}
_SSL_LOCK = threading.Lock()


def shared_ssl_context() -> ssl.SSLContext:
    """The process's one TLS context (certifi's CAs, or those ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``
    name, as httpx reads them), built on first use. An ``SSLContext`` is safe to share between
    threads and connections once configured; a change of those variables (a test's own CA) gets
    a context of its own."""
    key = (os.environ.get("SSL_CERT_FILE", ""), os.environ.get("SSL_CERT_DIR", ""))
    context = _SSL_CONTEXTS.get(key)
    if context is None:
        with _SSL_LOCK:
            context = _SSL_CONTEXTS.get(key)
            if context is None:
                context = _SSL_CONTEXTS[key] = httpx.create_ssl_context()
    return context


def _kind_for_status(status: int) -> type[ProviderError]:
    if status == 429:
        return ProviderRateLimited
    if status in (401, 403):
        return ProviderAuthError
    if status == 408 or status >= 500:
        return ProviderUnavailable
    return ProviderRejected


def json_answer(response: httpx.Response, *, provider: str) -> Any:
    """A 2xx answer's JSON; an answer that is not JSON is ProviderUnavailable (retried later)."""
    try:
        return response.json()
    except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError alike
        raise ProviderUnavailable(
            f"{provider} answered something that is not JSON (HTTP {response.status_code})",
            provider=provider,
            http_status=response.status_code,
        ) from exc


def response_body(response: httpx.Response) -> Any:
    """An answer's JSON, or the start of its text when it is not JSON: what an error keeps as
    ``body`` and what ``read_error`` reads."""
    try:
        return response.json()
    except ValueError:
        return response.text[:2000]


def default_payload(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body of a provider whose endpoint takes the job's input as it is (WaveSpeed, fal):
    ``None`` values are left out so that the provider applies its own defaults."""
    return {k: v for k, v in inputs.items() if v is not None}


def state_for(word: str, states: Mapping[str, str], *, provider: str, body: Any) -> str:
    """Our state for a provider's status word. An unknown word is an unreadable answer
    (ProviderUnavailable: the job layer retries, then gives up) rather than a guess."""
    if word not in states:
        raise ProviderUnavailable(f"{provider} answered an unknown status {word!r}", provider=provider, body=body)
    return states[word]


def no_output(provider: str, *, raw: Any, logs: tuple[str, ...] = ()) -> PollResult:
    """A task the provider called successful but that named no video: failed, code ``no_output``."""
    return PollResult(
        state="failed",
        error=f"{provider} reported success but gave no video",
        error_code="no_output",
        logs=logs,
        raw=raw,
    )


# -- webhooks ------------------------------------------------------------------------------------
# WaveSpeed (https://wavespeed.ai/docs/docs-api/verifying_webhook, "WebhookMaxAgeSeconds = 300") and
# fal (https://docs.fal.ai/model-apis/model-endpoints/webhooks) both refuse webhooks older than 5 minutes.
WEBHOOK_TOLERANCE_S = 300


def webhook_headers(headers: Mapping[str, str], *names: str) -> tuple[str, ...]:
    """The values of the named signature headers (looked up case-insensitively);
    WebhookVerificationError naming those that are missing or empty."""
    h = lower_headers(headers)
    values = tuple(str(h.get(name.lower()) or "") for name in names)
    missing = [name for name, value in zip(names, values, strict=True) if not value]
    if missing:
        raise WebhookVerificationError(f"Missing webhook header: {', '.join(missing)}.")
    return values


def check_webhook_timestamp(
    timestamp: str, *, now: float, header: str, tolerance_s: int = WEBHOOK_TOLERANCE_S
) -> None:
    """Refuse a webhook whose signed Unix timestamp is more than ``tolerance_s`` from ``now``,
    either way: a replayed delivery, or a clock too far off to trust."""
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookVerificationError(f"{header} is not a Unix timestamp.") from None
    if abs(now - sent_at) > tolerance_s:
        raise WebhookVerificationError(f"{header} is outside the allowed window.")


def webhook_json(body: bytes) -> Any:
    """A verified webhook's JSON; WebhookVerificationError when it is not JSON."""
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise WebhookVerificationError("The webhook body is not JSON.") from None


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


def same_origin(url: str, base_url: str) -> bool:
    """Whether ``url`` has the scheme, host and port of ``base_url``. Clients follow URLs that a
    provider answered (WaveSpeed's ``urls.get``, fal's ``status_url``...) only when they do, so
    that our key is never sent to another host."""
    try:
        a, b = httpx.URL(url), httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError):
        return False
    return bool(a.host) and (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def with_query(url: str, params: Mapping[str, str]) -> str:
    """``url`` with ``params`` merged into its query string (httpx's ``params=`` replaces it)."""
    return str(httpx.URL(url).copy_merge_params(dict(params)))


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names lower-cased, for case-insensitive lookups in any mapping."""
    return {str(k).lower(): v for k, v in headers.items()}
