"""Which client serves a provider, and whether it is the real service or the provider emulator.

Rules (config/settings.py "Providers"):

- A provider whose key setting is set (``WAVESPEED_API_KEY``, ``FAL_KEY``, ``DASHSCOPE_API_KEY``)
  is called for real, at its base URL setting.
- It is *emulated* when its key is unset, or when ``livemode`` is False (test-mode API keys never
  reach real providers): base URL ``PROVIDER_EMULATOR_URL`` (DashScope: ``{emu}/api/v1``), key
  ``PROVIDER_EMULATOR_KEY``, WaveSpeed webhook secret ``PROVIDER_EMULATOR_WEBHOOK_SECRET``, fal
  JWKS ``{emu}/.well-known/jwks.json``.
- ``local`` is our own renderer (``providers.clients.local.LocalClient``), never emulated.

A job must be polled, canceled and its webhooks verified with a client of the same ``livemode``
it was submitted with.

Connections are long-lived: ``client_for`` hands out a light client object per call, but every
client of one provider account (provider, base URL, key, timeouts) in a process shares one httpx
connection pool, kept here, and every pool verifies TLS with the one SSL context of
``providers.clients.base.shared_ssl_context``. A poll therefore costs a request on a kept-alive
connection, not a new client, a new TLS context and a new handshake. The pools are per process
(a forked worker builds its own: sockets must not cross a fork).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import httpx
from django.conf import settings

from .clients.base import ProviderClient
from .clients.dashscope import DashScopeClient
from .clients.fal import FalClient
from .clients.fal_webhooks import JwksCache
from .clients.results import ClientConfig
from .clients.wavespeed import WaveSpeedClient

LOCAL = "local"


@dataclass(frozen=True)
class _ProviderSettings:
    client_class: type[ProviderClient]
    key_setting: str
    base_url_setting: str
    emulator_suffix: str = ""  # appended to PROVIDER_EMULATOR_URL
    webhook_secret_setting: str = ""
    jwks_url_setting: str = ""
    pricing_path_setting: str = ""  # where the provider answers its own price (WaveSpeed)


_PROVIDERS: dict[str, _ProviderSettings] = {
    "wavespeed": _ProviderSettings(
        WaveSpeedClient,
        "WAVESPEED_API_KEY",
        "WAVESPEED_BASE_URL",
        "",
        webhook_secret_setting="WAVESPEED_WEBHOOK_SECRET",
        pricing_path_setting="WAVESPEED_PRICING_PATH",
    ),
    "fal": _ProviderSettings(FalClient, "FAL_KEY", "FAL_QUEUE_BASE_URL", "", jwks_url_setting="FAL_JWKS_URL"),
    "dashscope": _ProviderSettings(DashScopeClient, "DASHSCOPE_API_KEY", "DASHSCOPE_BASE_URL", "/api/v1"),
}

# fal's webhook keys, shared by every FalClient built here for the same JWKS URL, so that the
# ~10-minute cache survives the light client objects the job layer takes per call.
_JWKS_CACHES: dict[str, JwksCache] = {}
_JWKS_LOCK = threading.Lock()


# One connection pool per provider account and process: {(pid, provider, base_url, key, timeouts): httpx.Client}.
_POOLS: dict[tuple, httpx.Client] = {}
_POOLS_LOCK = threading.Lock()


def hosted_provider_names() -> list[str]:
    """The providers called over HTTP (real or emulated); ``local`` is not one of them."""
    return list(_PROVIDERS)


def provider_is_emulated(provider: str, *, livemode: bool = True) -> bool:
    """True when calls for ``provider`` go to the emulator. KeyError for an unknown provider."""
    if provider == LOCAL:
        return False  # LOCAL: our own renderer; there is nothing to emulate.
    spec = _PROVIDERS[provider]
    return not livemode or not getattr(settings, spec.key_setting, "")


def client_config(provider: str, *, livemode: bool = True) -> ClientConfig:
    """The ClientConfig ``client_for`` uses (real or emulated). KeyError for an unknown provider
    (and for ``local``, whose config ``client_for`` builds itself: it has no key or base URL)."""
    spec = _PROVIDERS[provider]
    common = {
        "connect_timeout": float(settings.PROVIDER_CONNECT_TIMEOUT_S),
        "read_timeout": float(settings.PROVIDER_READ_TIMEOUT_S),
        "max_retries": int(settings.PROVIDER_MAX_RETRIES),
    }
    if provider_is_emulated(provider, livemode=livemode):
        emulator = settings.PROVIDER_EMULATOR_URL.rstrip("/")
        base_url = f"{emulator}{spec.emulator_suffix}"
        api_key = settings.PROVIDER_EMULATOR_KEY
        webhook_secret = settings.PROVIDER_EMULATOR_WEBHOOK_SECRET if spec.webhook_secret_setting else ""
        jwks_url = f"{emulator}/.well-known/jwks.json" if spec.jwks_url_setting else ""
        emulated = True
    else:
        base_url = str(getattr(settings, spec.base_url_setting)).rstrip("/")
        api_key = getattr(settings, spec.key_setting)
        webhook_secret = (
            getattr(settings, spec.webhook_secret_setting, "") if spec.webhook_secret_setting else ""
        )
        jwks_url = getattr(settings, spec.jwks_url_setting, "") if spec.jwks_url_setting else ""
        emulated = False
    extra: dict[str, object] = {"jwks_cache": _jwks_cache(jwks_url)} if jwks_url else {}
    if spec.pricing_path_setting:
        extra["pricing_path"] = getattr(settings, spec.pricing_path_setting)
    return ClientConfig(
        base_url=base_url,
        api_key=api_key,
        emulated=emulated,
        webhook_secret=webhook_secret or "",
        jwks_url=jwks_url or "",
        extra=extra,
        **common,
    )


def client_for(
    provider: str, *, livemode: bool = True, transport: httpx.BaseTransport | None = None
) -> ProviderClient:
    """A client for ``provider`` on the process's long-lived connection pool for that provider
    account (``close()``, or leaving a ``with`` block, leaves the pool open for the next caller).
    With ``transport`` (tests), a client with its own pool on that transport. KeyError for an
    unknown provider."""
    if provider == LOCAL:
        # Imported lazily: the local renderer needs the media libraries, which the hosted clients do not.
        from .clients.local import LocalClient

        return LocalClient(
            ClientConfig(
                base_url="",
                api_key="",
                connect_timeout=float(settings.PROVIDER_CONNECT_TIMEOUT_S),
                read_timeout=float(settings.PROVIDER_READ_TIMEOUT_S),
                max_retries=int(settings.PROVIDER_MAX_RETRIES),
            ),
            transport=transport,
        )
    spec = _PROVIDERS[provider]
    config = client_config(provider, livemode=livemode)
    if transport is not None:
        return spec.client_class(config, transport=transport)
    return spec.client_class(config, http=_pool_for(spec.client_class, provider, config))


def _pool_for(client_class: type[ProviderClient], provider: str, config: ClientConfig) -> httpx.Client:
    """The process's connection pool for one provider account, made on first use. Its size is
    ``PROVIDER_POOL_CONNECTIONS``: enough for the poller's and a worker's concurrent calls."""
    key = (os.getpid(), provider, config.base_url, config.api_key, config.connect_timeout, config.read_timeout)
    pool = _POOLS.get(key)
    if pool is not None:
        return pool
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            size = int(settings.PROVIDER_POOL_CONNECTIONS)
            limits = httpx.Limits(max_connections=size, max_keepalive_connections=size, keepalive_expiry=30.0)
            pool = _POOLS[key] = client_class(config, pool_limits=limits)._http
        return pool


def provider_pools_close() -> None:
    """Close every pool of this process (a test's teardown, a process's orderly exit)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.close()


def _jwks_cache(jwks_url: str) -> JwksCache:
    with _JWKS_LOCK:
        cache = _JWKS_CACHES.get(jwks_url)
        if cache is None:
            cache = _JWKS_CACHES[jwks_url] = JwksCache()
        return cache
