"""Which peer addresses we may connect to: public ones, and those the operator allowed with
``OUTBOUND_ALLOWED_NETWORKS``. Pure functions over ``ipaddress``; the policy calls them on the
address actually connected to."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
# IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64, RFC 6052 / 8215).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


@dataclass(frozen=True)
class Allowance:
    """The operator's exceptions to "public addresses only": networks, and host names trusted
    whatever they resolve to."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows_address(self, ip: IPAddress) -> bool:
        candidates = [ip, *embedded_ipv4(ip)]
        return any(c.version == net.version and c in net for c in candidates for net in self.networks)


def allowance_from(entries: Iterable[str]) -> Allowance:
    """Parse comma-separated CIDRs and host names; a malformed entry is a configuration error,
    named, rather than an exception silently ignored."""
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    for raw in entries:
        entry = raw.strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            continue
        except ValueError:
            pass
        name = entry.rstrip(".")
        if not _HOST_NAME.match(name) or name.replace(".", "").isdigit() or "/" in name:
            raise ImproperlyConfigured(f"OUTBOUND_ALLOWED_NETWORKS: {raw!r} is neither a CIDR network nor a host name")
        hosts.add(name)
    return Allowance(networks=tuple(networks), hosts=frozenset(hosts))


def current_allowance() -> Allowance:
    """The allowance from settings, read at each use so that a changed setting takes effect."""
    entries = settings.OUTBOUND_ALLOWED_NETWORKS
    if isinstance(entries, str):
        entries = entries.split(",")
    return allowance_from(entries)


def embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64): reaching them is
    reaching the IPv4 address, so they are judged as it is."""
    if ip.version == 4:
        return []
    assert isinstance(ip, ipaddress.IPv6Address)
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if any(ip in net for net in _NAT64):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    # IPv4-compatible (deprecated ::a.b.c.d): the address space ::/96 minus :: and ::1.
    if int(ip) >> 32 == 0 and int(ip) > 1:
        found.append(ipaddress.IPv4Address(int(ip)))
    return found


def address_refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address (a few words), or None when it is. ``is_global`` alone
    lets multicast through and judges an IPv6 wrapper, not the IPv4 address inside it."""
    for inner in embedded_ipv4(ip):
        reason = address_refusal(inner)
        if reason:
            return f"{reason}, {inner} wrapped in IPv6"
    if ip.version == 6 and (int(ip) >> 32 in (0, 0xFFFF) and int(ip) > 1 or ip in _NAT64[0]):
        return None  # IPv4-mapped, -compatible or NAT64: only the IPv4 address inside counts, judged above
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (getattr(ip, "is_site_local", False), "a site-local address"),
        (not ip.is_global, "not a public address"),
    )
    for hit, reason in checks:
        if hit:
            return reason
    return None
