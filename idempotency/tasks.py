"""The django-q2 task that forgets expired idempotency keys (scheduled hourly by a migration)."""

from __future__ import annotations

from .keys import idempotency_purge


def idempotency_purge_task() -> int:
    return idempotency_purge()
