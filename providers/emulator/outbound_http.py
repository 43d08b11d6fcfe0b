"""The emulator's outgoing HTTP clients (input downloads, webhook deliveries), built on one TLS
context per process."""

from __future__ import annotations

import ssl
from functools import cache

import httpx


@cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context per process: building one per httpx client costs ~50 ms each start."""
    return ssl.create_default_context()


def outbound_client(*, timeout_s: float, follow_redirects: bool,
                    headers: dict[str, str] | None = None) -> httpx.Client:
    """An httpx client with the shared TLS context; every call it makes has ``timeout_s``."""
    return httpx.Client(timeout=httpx.Timeout(timeout_s), follow_redirects=follow_redirects,
                        verify=_ssl_context(), headers=headers)
