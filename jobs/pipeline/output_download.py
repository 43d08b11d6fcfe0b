"""Fetching a provider's finished video through the outbound-URL policy (outbound/policy.py):
web addresses only (files only from our own renderer), public hosts unless the operator allowed
the host (OUTBOUND_ALLOWED_NETWORKS), at most 4 GB; an emulated job's video only from the emulator.

A refusal is a ``ProviderRejected`` whose ``code`` names the reason (the job fails); a network
trouble is a ``ProviderUnavailable`` or an httpx error (the download is tried again)."""

from __future__ import annotations

import shutil
from urllib.parse import unquote, urlparse

import httpx
from django.conf import settings

from outbound.policy import OutboundURLRefused, outbound_fetch
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
    try:
        outbound_fetch(url, dest, max_bytes=MAX_OUTPUT_BYTES, timeout=timeout,
                       total_timeout=settings.OUTPUT_DOWNLOAD_TOTAL_S, emulator_only=emulated)
    except OutboundURLRefused as exc:
        raise _rejection(exc) from exc
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        if status in (401, 403, 404, 410):
            raise ProviderRejected(f"the provider's output URL answered HTTP {status} (expired or removed)",
                                   http_status=status, code="output_gone") from exc
        raise ProviderUnavailable(f"the provider's output URL answered HTTP {status}", http_status=status) from exc


def _rejection(exc: OutboundURLRefused) -> ProviderRejected:
    """The policy's refusal in the words a job's error uses (the codes jobs have always had)."""
    host = exc.host or "its host"
    if exc.code == "non_public_address":
        return ProviderRejected(f"the provider's output URL points at a non-public address ({host})",
                                code="non_public_address")
    if exc.code == "not_the_emulator":
        return ProviderRejected(f"an emulated job's output must come from the emulator, not {host}",
                                code="not_the_emulator")
    if exc.code == "too_large":
        return ProviderRejected("the provider's output is larger than 4 GB", code="output_too_large")
    return ProviderRejected(f"the provider's output URL was refused: {exc.message}", code=exc.code)
