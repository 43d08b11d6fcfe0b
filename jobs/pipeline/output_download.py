"""Fetching a provider's finished video, guarded: web addresses only (files only from our own
renderer), never a host on our own network, at most 4 GB.

A refusal is a ``ProviderRejected`` whose ``code`` names the reason (the job fails); a network
trouble is a ``ProviderUnavailable`` (the download is tried again)."""

from __future__ import annotations

import ipaddress
import shutil
import socket
from collections.abc import Callable
from urllib.parse import unquote, urlparse

import httpx
from django.conf import settings

from providers.clients.base import shared_ssl_context
from providers.clients.errors import ProviderRejected, ProviderUnavailable

MAX_OUTPUT_BYTES = 4 * 1024**3


def output_download(url: str, dest: str, *, local: bool, emulated: bool = False) -> None:
    """Save the video at ``url`` to the file ``dest``. ``local``: our own renderer, whose output is
    a file on this machine; ``emulated``: the video must come from the provider emulator."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") and not (local and parsed.scheme == "file"):
        raise ProviderRejected(f"the provider's output URL has an unsupported scheme ({parsed.scheme or 'none'})",
                               code="unsupported_scheme")
    if parsed.scheme == "file":
        shutil.copyfile(unquote(parsed.path), dest)
        return
    timeout = httpx.Timeout(settings.PROVIDER_READ_TIMEOUT_S * 4, connect=settings.PROVIDER_CONNECT_TIMEOUT_S)
    hooks = {"request": [_output_host_check(emulated=emulated)]}
    # The process's one SSL context: a new one per download would load certifi's bundle each time.
    with httpx.Client(timeout=timeout, follow_redirects=True, event_hooks=hooks, verify=shared_ssl_context()) as http, \
            http.stream("GET", url) as response:
        if response.status_code in (401, 403, 404, 410):
            raise ProviderRejected(
                f"the provider's output URL answered HTTP {response.status_code} (expired or removed)",
                http_status=response.status_code, code="output_gone",
            )
        if response.status_code >= 400:
            raise ProviderUnavailable(f"the provider's output URL answered HTTP {response.status_code}",
                                      http_status=response.status_code)
        size = 0
        with open(dest, "wb") as fh:
            for chunk in response.iter_bytes(1024 * 256):
                size += len(chunk)
                if size > MAX_OUTPUT_BYTES:
                    raise ProviderRejected("the provider's output is larger than 4 GB", code="output_too_large")
                fh.write(chunk)


def _output_host_check(*, emulated: bool) -> Callable[[httpx.Request], None]:
    """Refuse to fetch an output from our own network: a real provider's video lives on a public
    host; an emulated one only at the emulator. Checked on every request, redirects included."""
    emulator = urlparse(settings.PROVIDER_EMULATOR_URL)

    def check(request: httpx.Request) -> None:
        host, port = request.url.host, request.url.port
        if emulated:
            if (host, port) != (emulator.hostname, emulator.port):
                raise ProviderRejected(f"an emulated job's output must come from the emulator, not {host}",
                                       code="not_the_emulator")
            return
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)}
        except OSError as exc:
            raise ProviderUnavailable(f"cannot resolve the output host {host}: {exc}") from exc
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if not ip.is_global:
                raise ProviderRejected(f"the provider's output URL points at a non-public address ({host})",
                                       code="non_public_address")

    return check
