"""Request rates of the API, per API key and per tenant, in fixed windows of API_RATE_WINDOW_S.

Counted in Redis when REDIS_URL is set (INCR on a key created with its expiry in the same
MULTI/EXEC, so a counter never outlives its window and every web process shares it), in Django's
cache otherwise (one process's memory in development). Each answer says where the tighter of the
two counts stands in the IETF draft's headers (``RateLimit-Limit``, ``RateLimit-Remaining``,
``RateLimit-Reset``, seconds); past a limit the API answers 429 with ``Retry-After``."""

from __future__ import annotations

import functools
import logging
import math
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.cache import cache

from config.errors import RateLimited

from .models import ApiKey, Tenant

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateLimitState:
    """Where one request leaves the tightest of its counters."""

    limit: int
    remaining: int
    reset_s: int
    exceeded_scope: str | None = None  # "api_key" or "tenant" once a limit is passed

    def headers(self) -> dict[str, str]:
        return {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining),
                "RateLimit-Reset": str(self.reset_s)}

    def refusal(self) -> RateLimited:
        whose = "this API key" if self.exceeded_scope == "api_key" else "your team"
        return RateLimited(
            f"Too many requests: {whose} may make {self.limit} requests every {settings.API_RATE_WINDOW_S} "
            f"seconds. Try again in {self.reset_s} seconds.", retry_after=self.reset_s)


def rate_limits_for(tenant: Tenant) -> dict[str, int]:
    """The limits that apply to a tenant's requests: the operator's overrides on the tenant, else
    the settings' defaults."""
    return {
        "api_key": tenant.api_rate_limit_per_key or settings.API_RATE_LIMIT_PER_KEY,
        "tenant": tenant.api_rate_limit_per_tenant or settings.API_RATE_LIMIT_PER_TENANT,
    }


@functools.cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _count(keys: list[str], *, ttl: int) -> list[int]:
    """Add one to each counter (created at 0 with its expiry if absent) and return the new counts."""
    names = [cache.make_key(k) for k in keys]
    if settings.REDIS_URL:
        pipe = _redis(settings.REDIS_URL).pipeline(transaction=True)
        for name in names:
            pipe.set(name, 0, ex=ttl, nx=True)
            pipe.incr(name)
        results = pipe.execute()
        return [int(results[2 * i + 1]) for i in range(len(names))]
    counts = []
    for key in keys:
        cache.add(key, 0, timeout=ttl)
        try:
            counts.append(cache.incr(key))
        except ValueError:  # expired between add and incr: a new window
            cache.set(key, 1, timeout=ttl)
            counts.append(1)
    return counts


def request_rate_count(*, api_key: ApiKey) -> RateLimitState | None:
    """Count one request of ``api_key`` against its own and its tenant's limits. Returns where the
    tighter one stands (``exceeded_scope`` set past a limit), or None when the counters cannot be
    reached (Redis down: the API keeps answering, unlimited, and says so in the log)."""
    window = settings.API_RATE_WINDOW_S
    now = time.time()
    number = int(now // window)
    reset_s = max(1, math.ceil(window - now % window))
    limits = rate_limits_for(api_key.tenant)
    tenant_id = api_key.tenant_id
    keys = {"api_key": f"rate:{tenant_id}:key:{api_key.pk}:{number}", "tenant": f"rate:{tenant_id}:{number}"}
    try:
        counts = dict(zip(keys, _count(list(keys.values()), ttl=window + 1), strict=True))
    except redis.RedisError as exc:
        log.warning("rate limits not counted: %s", exc)
        return None
    states = {scope: RateLimitState(limit=limits[scope], remaining=max(0, limits[scope] - counts[scope]),
                                    reset_s=reset_s) for scope in keys}
    over = [scope for scope in keys if counts[scope] > limits[scope]]
    if over:
        scope = over[0]
        return RateLimitState(limit=limits[scope], remaining=0, reset_s=reset_s, exceeded_scope=scope)
    return min(states.values(), key=lambda s: (s.remaining, s.limit))
