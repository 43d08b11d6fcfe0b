"""django-q2's broker as health and metrics see it: reachable or not, and how many tasks wait.

With ``REDIS_URL`` the broker is Redis: asked through a client of our own with short socket
timeouts (django-q2's has none, so a hung Redis would hang a health check or a scrape); else it is
the ORM broker's table in the database."""

from __future__ import annotations

from functools import lru_cache

import redis
from django.conf import settings

from config.task_broker import shared_broker


@lru_cache(maxsize=4)
def _redis(url: str, timeout_s: float) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)


def broker_kind() -> str:
    return "redis" if settings.REDIS_URL else "orm"


def broker_ping() -> None:
    """Raise unless the broker answers: Redis's PING, or a read of the ORM broker's table."""
    if settings.REDIS_URL:
        _redis(settings.REDIS_URL, settings.READYZ_TIMEOUT_S).ping()
    else:
        from django_q.models import OrmQ

        OrmQ.objects.using(settings.Q_CLUSTER.get("orm", "default")).exists()


def broker_queue_depth() -> int:
    """Tasks waiting for a worker in this cluster's queue (not those a worker holds)."""
    if settings.REDIS_URL:
        return int(_redis(settings.REDIS_URL, settings.READYZ_TIMEOUT_S).llen(shared_broker().list_key))
    return int(shared_broker().queue_size())
