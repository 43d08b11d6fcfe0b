"""Idempotency keys of the API's creating POSTs: one row per (tenant, mode, key), inserted before
the endpoint runs, holding the first answer once it is known (as Stripe keeps them)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class IdempotencyState(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


class IdempotencyKey(models.Model):
    """Tenant-owned, but named through the lazy reference ``"accounts.Tenant"`` rather than by
    inheriting ``TenantOwned``: ``accounts``' own API (the api-keys resource) uses this app, and the
    apps import each other one way only. Every query here is scoped by ``tenant`` all the same.

    The UNIQUE (tenant, livemode, key) constraint is the lock: of concurrent requests with one key
    exactly one inserts the row and runs the endpoint; the others find the row and wait for its
    answer. ``locked_at`` is when its owner started; an in-progress row older than
    IDEMPOTENCY_LOCK_TIMEOUT_S was left by a request that died, and may be taken over."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="+")
    livemode = models.BooleanField()
    key = models.CharField(max_length=255)
    # SHA-256 of the method, the path and the body (multipart: its fields and files' contents).
    fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    state = models.CharField(max_length=12, choices=IdempotencyState.choices, default=IdempotencyState.IN_PROGRESS)
    locked_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # The first answer's JSON body, encrypted (an API key's creation answers its secret, which is
    # never stored in the clear): see idempotency/keys.py.
    response_body = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "livemode", "key"], name="idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.method} {self.path}, {self.state})"
