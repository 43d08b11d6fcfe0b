"""``Client``: the entry point, holding the key, the server and one connection pool."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

import httpx

from .jobs import Jobs
from .resources import Assets, Models, Quotes
from .transport import Transport
from .types import Usage


class Client:
    """``Client(api_key=None, base_url=None)``: the key defaults to ``PARLEY_API_KEY``, the server to
    ``PARLEY_BASE_URL`` (else http://127.0.0.1:8000). POSTs carry an ``Idempotency-Key``; 429, 502-504
    and connection errors are retried ``max_retries`` times, waiting as ``Retry-After`` says."""

    def __init__(self, api_key: str | None = None, base_url: str | None = None, *, timeout: float = 30.0,
                 max_retries: int = 3, max_retry_wait: float = 60.0, http_client: httpx.Client | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.transport = Transport(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries,
                                   max_retry_wait=max_retry_wait, http_client=http_client, sleep=sleep)
        self.jobs = Jobs(self)
        self.assets = Assets(self)
        self.quotes = Quotes(self)
        self.models = Models(self)

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    def usage(self, *, period: str | None = None, group_by: str | None = None) -> Usage:
        """A month's spend in the key's mode: ``period`` YYYY-MM (this month by default), ``group_by``
        day (default), model or api_key."""
        body = self.transport.request("GET", "usage", params={"period": period, "group_by": group_by}).json()
        return Usage.from_dict(body)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
