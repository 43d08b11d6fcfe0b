"""TEMPORARY minimal stand-in for the outbound-URL policy of shared_contracts.md, written only so
the webhooks branch can run its tests before helper ``outbound``'s package lands on main. The
merger keeps main's ``outbound/`` and drops this file. Same names and signatures as the contract;
the check is made on each request (redirects included) rather than at connect time."""

from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlparse

import httpx
from django.conf import settings


class OutboundURLRefused(Exception):
    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    raw = getattr(settings, "OUTBOUND_ALLOWED_NETWORKS", None) or os.environ.get("OUTBOUND_ALLOWED_NETWORKS", "")
    items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    nets = []
    for item in items:
        item = item.strip()
        if item:
            try:
                nets.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                continue
    return nets


def _host_check(host: str | None, port: int | None) -> None:
    if not host:
        raise OutboundURLRefused("the URL has no host", code="no_host")
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise OutboundURLRefused(f"cannot resolve {host}: {exc}", code="unresolvable") from exc
    allowed = _allowed_networks()
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not ip.is_global and not any(ip in net for net in allowed):
            raise OutboundURLRefused(f"{host} points at a non-public address ({ip})", code="non_public_address")


def outbound_url_check(url: str, *, require_https: bool = False) -> None:
    parsed = urlparse(url)
    schemes = ("https",) if require_https else ("http", "https")
    if parsed.scheme not in schemes:
        raise OutboundURLRefused(f"the URL's scheme must be {' or '.join(schemes)} (got {parsed.scheme or 'none'})",
                                 code="unsupported_scheme")
    _host_check(parsed.hostname, parsed.port)


def outbound_client(*, timeout: httpx.Timeout | float, emulator_only: bool = False,
                    max_redirects: int = 5) -> httpx.Client:
    def check(request: httpx.Request) -> None:
        _host_check(request.url.host, request.url.port)

    return httpx.Client(timeout=timeout, follow_redirects=max_redirects > 0, max_redirects=max_redirects,
                        event_hooks={"request": [check]})
