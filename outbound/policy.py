"""The outbound-URL policy: every URL someone else gave us (a provider's output, a URL input, a
webhook) is fetched from public addresses only, unless the operator allowed the host or network
(``OUTBOUND_ALLOWED_NETWORKS``).

The check is made where it cannot be raced: the client's network backend resolves the host once,
judges every address it got, and connects to a judged address (TLS still names the host). A DNS
answer that changes between a check and the connection (rebinding) therefore changes nothing, and
each redirect hop opens its connection through the same backend. ``outbound_url_check`` is the
early, friendly check for validating input; it is not what keeps us safe."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings

from providers.clients.base import shared_ssl_context

from .addresses import Allowance, IPAddress, address_refusal, current_allowance

CHUNK_BYTES = 256 * 1024


class OutboundURLRefused(Exception):
    """A URL we will not fetch: ``code`` is the reason for machines ("non_public_address",
    "unsupported_scheme", "too_large", "too_many_redirects", ...), the message names the host."""

    def __init__(self, message: str, *, code: str, host: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.host = host


def outbound_url_check(url: str, *, require_https: bool = False) -> None:
    """Refuse early (scheme, host, every address the host resolves to now): lets input validation
    answer a clear 400 before any asset is written. The fetch checks again at connect time."""
    host, port = _host_and_port(url, require_https=require_https)
    allowance = current_allowance()
    if allowance.allows_host(host):
        return
    try:
        addresses = _resolve(host, port)
    except OSError as exc:
        raise OutboundURLRefused(f"the host {host} cannot be resolved ({exc})", code="unresolvable_host",
                                 host=host) from exc
    for ip in addresses:
        _judge(host, ip, allowance)


def outbound_client(*, timeout: httpx.Timeout | float, emulator_only: bool = False, max_redirects: int = 5,
                    require_https: bool = False) -> httpx.Client:
    """An httpx client that connects only where the policy allows, on every redirect hop too.
    ``emulator_only``: only the provider emulator (PROVIDER_EMULATOR_URL) is allowed, whatever
    the address. Environment proxies are ignored: a proxy would be the peer, not the host."""
    emulator = _origin(settings.PROVIDER_EMULATOR_URL) if emulator_only else None
    backend = _PolicyBackend(allowance=current_allowance(), emulator=emulator)
    return httpx.Client(
        transport=_PolicyTransport(backend), timeout=timeout, follow_redirects=True,
        max_redirects=max_redirects, trust_env=False,
        event_hooks={"request": [_hop_check(require_https=require_https)]},
    )


def outbound_fetch(url: str, dest_path: str, *, max_bytes: int, timeout: httpx.Timeout | float,
                   total_timeout: float | None = None, require_https: bool = False,
                   emulator_only: bool = False) -> int:
    """GET ``url`` into the file ``dest_path`` through the policy; answers the bytes written.
    ``timeout`` bounds each network wait, ``total_timeout`` (default OUTBOUND_FETCH_TOTAL_S) the
    whole fetch. An HTTP error status raises ``httpx.HTTPStatusError``; network trouble other
    httpx errors; the policy and the size cap ``OutboundURLRefused``. Nothing is left at
    ``dest_path`` when it fails."""
    _host_and_port(url, require_https=require_https)
    total = settings.OUTBOUND_FETCH_TOTAL_S if total_timeout is None else total_timeout
    deadline = time.monotonic() + total
    written = 0
    try:
        with outbound_client(timeout=timeout, emulator_only=emulator_only, require_https=require_https) as http, \
                http.stream("GET", url) as response:
            response.raise_for_status()
            host = response.url.host
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise _too_large(host, max_bytes)
            with open(dest_path, "wb") as fh:
                for chunk in response.iter_bytes(CHUNK_BYTES):
                    written += len(chunk)
                    if written > max_bytes:
                        raise _too_large(host, max_bytes)
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout(f"fetching from {host} took longer than {total:g} s")
                    fh.write(chunk)
    except httpx.TooManyRedirects as exc:
        _discard(dest_path)
        raise OutboundURLRefused(f"{_host_of(url)} redirected more than the allowed number of times",
                                 code="too_many_redirects", host=_host_of(url)) from exc
    except BaseException:
        _discard(dest_path)
        raise
    return written


# --- the connect-time check ---------------------------------------------------------------------
class _PolicyBackend(httpcore.NetworkBackend):
    """httpcore's network backend with the policy in ``connect_tcp``: resolve once, judge every
    address, connect to a judged one."""

    def __init__(self, *, allowance: Allowance, emulator: tuple[str, int] | None) -> None:
        self._allowance = allowance
        self._emulator = emulator
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        options = {"timeout": timeout, "local_address": local_address, "socket_options": socket_options}
        if self._emulator is not None:
            if (host.lower().strip("[]"), port) != self._emulator:
                raise OutboundURLRefused(f"an emulated job may only fetch from the emulator, not {host}",
                                         code="not_the_emulator", host=host)
            return self._inner.connect_tcp(host, port, **options)
        try:
            addresses = _resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not self._allowance.allows_host(host):
            for ip in addresses:
                _judge(host, ip, self._allowance)
        error: Exception | None = None
        for ip in addresses:
            try:
                return self._inner.connect_tcp(str(ip), port, **options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        raise OutboundURLRefused("unix sockets are not an outbound destination", code="unsupported_scheme")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _PolicyTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool that uses the policy backend (and no proxy)."""

    def __init__(self, backend: _PolicyBackend) -> None:
        # The process's one SSL context (providers/clients/base.py): building one loads certifi's
        # bundle, ~20 ms of CPU, which every download (a finalize) would otherwise pay twice.
        super().__init__(trust_env=False, verify=shared_ssl_context())
        self._pool = httpcore.ConnectionPool(ssl_context=shared_ssl_context(), network_backend=backend,
                                             max_connections=10, max_keepalive_connections=5, http1=True)


def _hop_check(*, require_https: bool) -> Callable[[httpx.Request], None]:
    """Every request, redirects included: a web scheme (https only when required)."""

    def check(request: httpx.Request) -> None:
        _host_and_port(str(request.url), require_https=require_https)

    return check


# --- small pieces ---------------------------------------------------------------------------------
def _host_and_port(url: str, *, require_https: bool) -> tuple[str, int]:
    """The host (ASCII, as it will be resolved) and port of a web URL, or a refusal."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise OutboundURLRefused(f"not a valid URL ({exc})", code="invalid_url") from exc
    allowed = ("https",) if require_https else ("http", "https")
    if parsed.scheme not in allowed:
        raise OutboundURLRefused(
            f"the URL scheme must be {' or '.join(allowed)}, not {parsed.scheme or 'none'}",
            code="unsupported_scheme", host=parsed.host or None)
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise OutboundURLRefused("the URL has no host", code="invalid_url")
    return host, parsed.port or (443 if parsed.scheme == "https" else 80)


def _resolve(host: str, port: int) -> list[IPAddress]:
    """Every address of ``host``, in the resolver's order, each once."""
    infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    seen: dict[IPAddress, None] = {}
    for info in infos:
        seen.setdefault(ipaddress.ip_address(str(info[4][0])), None)
    return list(seen)


def _judge(host: str, ip: IPAddress, allowance: Allowance) -> None:
    reason = address_refusal(ip)
    if reason and not allowance.allows_address(ip):
        raise OutboundURLRefused(f"{host} points at a non-public address ({ip} is {reason})",
                                 code="non_public_address", host=host)


def _origin(url: str) -> tuple[str, int]:
    host, port = _host_and_port(url, require_https=False)
    return host.lower(), port


def _host_of(url: str) -> str:
    return urlsplit(url).hostname or "the host"


def _too_large(host: str, max_bytes: int) -> OutboundURLRefused:
    return OutboundURLRefused(f"the file at {host} is larger than {max_bytes} bytes", code="too_large", host=host)


def _discard(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
