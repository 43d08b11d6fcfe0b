"""The limit on failed API-key authentications: counted per client IP and per key prefix in the
cache (Redis when REDIS_URL is set, so every web process shares the count), in fixed windows of
``API_KEY_FAILURE_WINDOW_S`` seconds. Past a limit the address or prefix is refused before any key
is looked at, so a guess there learns nothing; successful authentications are never counted."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

from config.errors import RateLimited

_PREFIX_LENGTH = 13  # as ApiKey.prefix: "prl_live_" plus four characters


def _counters(*, ip: str, secret: str) -> dict[str, int]:
    """The cache key of each counter this attempt falls under, with its limit."""
    window = int(time.time() // settings.API_KEY_FAILURE_WINDOW_S)
    counters = {f"api-key-failures:ip:{ip}:{window}": settings.API_KEY_FAILURES_PER_IP}
    if secret.startswith(("prl_live_", "prl_test_")) and len(secret) > _PREFIX_LENGTH:
        counters[f"api-key-failures:prefix:{secret[:_PREFIX_LENGTH]}:{window}"] = settings.API_KEY_FAILURES_PER_PREFIX
    return counters


def _retry_after() -> int:
    window = settings.API_KEY_FAILURE_WINDOW_S
    return max(1, int(window - time.time() % window))


def api_key_failures_check(*, ip: str, secret: str) -> None:
    """Raise RateLimited (429, with Retry-After) if this address or this key prefix has failed too
    often in the current window."""
    counters = _counters(ip=ip, secret=secret)
    counts = cache.get_many(list(counters))
    for cache_key, limit in counters.items():
        if counts.get(cache_key, 0) >= limit:
            what = "address" if ":ip:" in cache_key else "key prefix"
            raise RateLimited(
                f"Too many failed API-key authentications from this {what}: at most {limit} every "
                f"{settings.API_KEY_FAILURE_WINDOW_S} seconds. Try again in {_retry_after()} seconds.",
                retry_after=_retry_after(),
            )


def api_key_failure_record(*, ip: str, secret: str) -> None:
    """Count one failed authentication against this address and this key prefix."""
    for cache_key in _counters(ip=ip, secret=secret):
        cache.add(cache_key, 0, timeout=settings.API_KEY_FAILURE_WINDOW_S + 1)
        try:
            cache.incr(cache_key)
        except ValueError:  # expired between add and incr: start the count again
            cache.set(cache_key, 1, timeout=settings.API_KEY_FAILURE_WINDOW_S + 1)
