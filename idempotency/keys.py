"""Idempotency keys as Stripe has them: claiming a key for one request (an INSERT against the
UNIQUE constraint, never a check-then-insert), answering a repeat with the first answer, refusing
the key for a different request, and forgetting keys after IDEMPOTENCY_KEY_TTL_S.

The first answer's body is stored encrypted under a key derived from SECRET_KEY, the tenant, the
mode and the idempotency key: it may hold a secret shown once (a new API key's)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.fernet import Fernet
from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from config.errors import Conflict

from .models import IdempotencyKey, IdempotencyState

POLL_EVERY_S = 0.05


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a key: ``owned`` (run the endpoint, then complete or release) or
    ``replay`` (the first request's answer: ``status_code`` and ``body``)."""

    record: IdempotencyKey
    owned: bool
    status_code: int | None = None
    body: bytes | None = None


def _fernet(record: IdempotencyKey) -> Fernet:
    material = f"idempotency:{record.tenant_id}:{int(record.livemode)}:{record.key}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), material, hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _expired_before() -> datetime:
    return timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_S)


def idempotency_claim(*, tenant: models.Model, livemode: bool, key: str, fingerprint: str, method: str,
                      path: str) -> Claim:
    """Claim ``key`` for this request, or learn the first answer given for it.

    The INSERT is the lock. A request finding the key held by another one still in progress polls
    for its answer up to IDEMPOTENCY_WAIT_S, then answers 409 ``idempotency_key_in_progress``.
    The key used for a different request (method, path or body) is a 409 ``idempotency_key_reused``."""
    deadline = time.monotonic() + settings.IDEMPOTENCY_WAIT_S
    while True:
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(tenant=tenant, livemode=livemode, key=key,
                                                       fingerprint=fingerprint, method=method, path=path[:500])
            return Claim(record=record, owned=True)
        except IntegrityError:
            pass
        record = IdempotencyKey.objects.filter(tenant=tenant, livemode=livemode, key=key).first()
        if record is None:  # released meanwhile (its request failed): claim it again
            if time.monotonic() >= deadline:
                raise _in_progress(key)
            continue
        if record.created_at < _expired_before():  # kept 24 h: after that the key is new again
            IdempotencyKey.objects.filter(pk=record.pk, created_at=record.created_at).delete()
            continue
        if record.fingerprint != fingerprint:
            raise Conflict(
                f"The Idempotency-Key {key!r} was already used for a different request (first used for "
                f"{record.method} {record.path}; the method, path or body differ); use a new key for a new request.",
                code="idempotency_key_reused")
        if record.state == IdempotencyState.COMPLETED:
            return Claim(record=record, owned=False, status_code=record.status_code,
                         body=_fernet(record).decrypt(bytes(record.response_body)))
        abandoned = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT_S)
        if record.locked_at < abandoned:
            # Its request died without answering (a crashed process): this one takes the key over.
            now = timezone.now()
            if IdempotencyKey.objects.filter(pk=record.pk, state=IdempotencyState.IN_PROGRESS,
                                             locked_at=record.locked_at).update(locked_at=now):
                record.locked_at = now
                return Claim(record=record, owned=True)
            continue
        if time.monotonic() >= deadline:
            raise _in_progress(key)
        time.sleep(POLL_EVERY_S)


def _in_progress(key: str) -> Conflict:
    return Conflict(f"A request with the Idempotency-Key {key!r} is still in progress; retry in a moment to get "
                    f"its answer.", code="idempotency_key_in_progress", retry_after=1)


def idempotency_complete(*, claim: Claim, status_code: int, body: bytes) -> None:
    """Keep the answer of the request that owns the key, for its repeats. A request that lost its
    key meanwhile (taken over after the lock timeout) writes nothing."""
    record = claim.record
    IdempotencyKey.objects.filter(pk=record.pk, state=IdempotencyState.IN_PROGRESS,
                                  locked_at=record.locked_at).update(
        state=IdempotencyState.COMPLETED, status_code=status_code, response_body=_fernet(record).encrypt(body),
        completed_at=timezone.now())


def idempotency_release(*, claim: Claim) -> None:
    """Forget the key of a request whose answer is not kept (a server error, a conflict, a
    refusal that may change): a retry with the key runs the endpoint again."""
    record = claim.record
    IdempotencyKey.objects.filter(pk=record.pk, state=IdempotencyState.IN_PROGRESS,
                                  locked_at=record.locked_at).delete()


def idempotency_purge() -> int:
    """Delete the keys older than IDEMPOTENCY_KEY_TTL_S (an hourly django-q2 schedule). Returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=_expired_before()).delete()
    return deleted
