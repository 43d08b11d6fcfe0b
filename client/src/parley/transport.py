"""The HTTP layer: authentication, one ``Idempotency-Key`` per POST reused by its retries, and
retries of 429, 502/503/504 and connection errors with backoff that honours ``Retry-After``."""

from __future__ import annotations

import email.utils
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx

from .errors import APIConnectionError, RateLimitError, error_from_response

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
API_PREFIX = "/api/v1"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
USER_AGENT = "parley-python/0.1.0"

FilesFactory = Callable[[], dict[str, Any]]


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class Transport:
    """One connection pool to the API. ``max_retries`` more attempts after the first; a server that
    asks for a longer wait than ``max_retry_wait`` seconds is not waited for (RateLimitError)."""

    def __init__(self, *, api_key: str | None, base_url: str | None, timeout: float = 30.0,
                 max_retries: int = 3, max_retry_wait: float = 60.0, backoff_base: float = 0.5,
                 backoff_max: float = 8.0, http_client: httpx.Client | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        api_key = api_key if api_key is not None else os.environ.get("PARLEY_API_KEY")
        base = (base_url or os.environ.get("PARLEY_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        if base.endswith(API_PREFIX):
            base = base[: -len(API_PREFIX)]
        self.api_key = api_key
        self.base_url = base
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.sleep = sleep
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = http_client or httpx.Client(timeout=timeout)
        self._headers = headers

    def close(self) -> None:
        self._http.close()

    def url(self, path: str) -> str:
        return f"{self.base_url}{API_PREFIX}/{path.lstrip('/')}"

    def request(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
                files: FilesFactory | None = None, idempotency_key: str | None = None) -> httpx.Response:
        """The answer of a 2xx; raises the ParleyError of an error answer once retries are spent.
        ``files`` builds the multipart files afresh for each attempt (a retry re-reads the file)."""
        with self.stream(method, path, json=json, params=params, files=files,
                         idempotency_key=idempotency_key) as response:
            response.read()
            return response

    @contextmanager
    def stream(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
               files: FilesFactory | None = None, idempotency_key: str | None = None) -> Iterator[httpx.Response]:
        """Like ``request`` but the body is left unread, for downloads (retries happen before it starts)."""
        headers = dict(self._headers)
        if method.upper() == "POST":
            headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        params = {k: v for k, v in (params or {}).items() if v is not None}
        attempt = 0
        while True:
            parts = files() if files else None
            try:
                request = self._http.build_request(method, self.url(path), json=json, params=params,
                                                   files=parts, headers=headers)
                response = self._http.send(request, stream=True)
            except httpx.UnsupportedProtocol as exc:  # a base URL without http(s): no retry mends it
                raise APIConnectionError(f"Bad base URL {self.base_url!r}: {exc}") from exc
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise APIConnectionError(f"Could not reach {self.base_url}: {exc}") from exc
                self.sleep(self._backoff(attempt))
                attempt += 1
                continue
            finally:
                _close_files(parts)
            if response.is_success:
                try:
                    yield response
                finally:
                    response.close()
                return
            response.read()
            response.close()
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if response.status_code in RETRY_STATUSES and attempt < self.max_retries \
                    and (wait is None or wait <= self.max_retry_wait):
                self.sleep(wait if wait is not None else self._backoff(attempt))
                attempt += 1
                continue
            error = error_from_response(response, retry_after=wait)
            if isinstance(error, RateLimitError) and wait is not None and wait > self.max_retry_wait:
                error.message += f" (the server asked to wait {wait:.0f} s)"
            raise error

    def _backoff(self, attempt: int) -> float:
        """Exponential with "equal jitter" (AWS's "Exponential Backoff And Jitter"): never zero, and
        clients that failed together do not retry together."""
        ceiling = min(self.backoff_max, self.backoff_base * 2.0 ** attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def _close_files(parts: dict[str, Any] | None) -> None:
    for value in (parts or {}).values():
        handle = value[1] if isinstance(value, tuple) and len(value) > 1 else value
        close = getattr(handle, "close", None)
        if callable(close):
            close()
