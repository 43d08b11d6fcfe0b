"""Sending an outbox message: signed per the Standard Webhooks specification
(https://www.standardwebhooks.com/, with the ``standardwebhooks`` package), through the outbound-URL
policy, logged, and retried with exponential backoff for at least WEBHOOK_RETRY_FOR_S (24 h).

Headers: ``webhook-id`` (the message's id, the same on every attempt), ``webhook-timestamp``
(seconds, this attempt's), ``webhook-signature`` (``v1,<base64 HMAC-SHA256>`` for each secret that
signs: two during a rotation's overlap, separated by a space, as the specification allows). A 2xx
answer delivers; anything else, or no answer, is retried. Redirects are not followed."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from outbound.policy import OutboundURLRefused, outbound_client, outbound_url_check

from .endpoint_health import endpoint_failure_record, endpoint_success_record
from .events import SWEEP_LEASE
from .models import TEST_EVENT, MessageStatus, WebhookAttempt, WebhookMessage
from .secrets import signing_secrets
from .services import job_webhook_secret_ensure
from .url_rules import webhook_https_required

log = logging.getLogger(__name__)

EXCERPT_BYTES = 1024
USER_AGENT = "Parley-Webhooks/1.0"


@dataclass(frozen=True)
class AttemptOutcome:
    status_code: int | None
    latency_ms: int
    excerpt: str
    error: str

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def signature_headers(*, msg_id: str, body: str, secrets: list[str], at: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt, one signature per secret."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(Webhook(s).sign(msg_id=msg_id, timestamp=at, data=body) for s in secrets),
    }


def retry_delay(attempts: int) -> timedelta:
    """Exponential, jittered: WEBHOOK_RETRY_BASE_S doubling per failed attempt, capped at
    WEBHOOK_RETRY_MAX_DELAY_S (30 s, 1 min, 2 min ... 2 h, 2 h ...)."""
    base = settings.WEBHOOK_RETRY_BASE_S * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(base, settings.WEBHOOK_RETRY_MAX_DELAY_S) * random.uniform(0.9, 1.1))


def _client() -> httpx.Client:
    """The process's client (its pool and SSL context are reused), which checks the peer's address
    on every connection as the outbound-URL policy says. The policy's client holds the allowance
    it was made with, so a changed setting makes a new one."""
    allowed = settings.OUTBOUND_ALLOWED_NETWORKS
    return _client_for(settings.WEBHOOK_TIMEOUT_S, tuple(allowed.split(",") if isinstance(allowed, str) else allowed),
                       webhook_https_required())


@lru_cache(maxsize=4)
def _client_for(timeout: float, allowed: tuple[str, ...], require_https: bool) -> httpx.Client:
    """``allowed`` is only part of the cache key: the policy reads the setting itself."""
    return outbound_client(timeout=httpx.Timeout(timeout), max_redirects=0, require_https=require_https)


def _post(*, url: str, body: str, headers: dict[str, str]) -> AttemptOutcome:
    """POST once; the latency is the HTTP exchange's, from sending to the excerpt read."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        outbound_url_check(url, require_https=webhook_https_required())
        all_headers = {"content-type": "application/json", "user-agent": USER_AGENT, **headers}
        client = _client()
        started = time.monotonic()
        with client.stream("POST", url, content=body.encode(), headers=all_headers,
                           follow_redirects=False) as response:
            head = b""
            for chunk in response.iter_bytes():
                head += chunk
                if len(head) >= EXCERPT_BYTES:
                    break
            excerpt = head[:EXCERPT_BYTES].decode("utf-8", errors="ignore")
            return AttemptOutcome(response.status_code, elapsed(), excerpt, "")
    except OutboundURLRefused as exc:
        return AttemptOutcome(None, elapsed(), "", f"refused by the outbound-URL policy: {exc}"[:500])
    except (httpx.HTTPError, UnicodeError, ValueError) as exc:
        return AttemptOutcome(None, elapsed(), "", f"{exc.__class__.__name__}: {exc}"[:500])


def _claim(message_id: int, now: datetime) -> bool:
    """A lease on a pending message: of two workers handed the same message, one sends it."""
    lease = timedelta(seconds=settings.WEBHOOK_TIMEOUT_S * 2 + 30)
    return bool(WebhookMessage.objects.filter(pk=message_id, status=MessageStatus.PENDING)
                .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
                .update(claimed_until=now + lease))


def webhook_message_send(*, message_id: int) -> AttemptOutcome | None:
    """One attempt at a pending message; None if it was not ours to send (delivered, given up, or
    another worker holds it). Safe to run twice at once."""
    now = timezone.now()
    if not _claim(message_id, now):
        return None
    message = WebhookMessage.objects.select_related("endpoint").get(pk=message_id)
    endpoint = message.endpoint
    if endpoint is not None and not endpoint.enabled and message.event_type != TEST_EVENT:
        WebhookMessage.objects.filter(pk=message.pk).update(
            status=MessageStatus.FAILED, last_error="endpoint disabled", next_attempt_at=None, claimed_until=None)
        return None
    holder = endpoint or job_webhook_secret_ensure(tenant_id=message.tenant_id, livemode=message.livemode)
    url = endpoint.url if endpoint is not None else message.url
    headers = signature_headers(msg_id=message.msg_id, body=message.body,
                                secrets=signing_secrets(holder, now=now), at=datetime.now(UTC))
    outcome = _post(url=url, body=message.body, headers=headers)
    try:
        _record(message=message, url=url, outcome=outcome)
    except IntegrityError:  # the endpoint (and so the message) was deleted while we sent
        log.info("webhook message %s vanished during its attempt", message_id)
        return None
    return outcome


def _record(*, message: WebhookMessage, url: str, outcome: AttemptOutcome) -> None:
    now = timezone.now()
    attempts = message.attempts + 1
    with transaction.atomic():
        WebhookAttempt.objects.create(
            tenant_id=message.tenant_id, message=message, endpoint_id=message.endpoint_id, attempt=attempts, url=url,
            status_code=outcome.status_code, succeeded=outcome.succeeded, latency_ms=outcome.latency_ms,
            response_excerpt=outcome.excerpt, error=outcome.error,
        )
        rows = WebhookMessage.objects.filter(pk=message.pk, status=MessageStatus.PENDING)
        if outcome.succeeded:
            rows.update(status=MessageStatus.DELIVERED, delivered_at=now, attempts=attempts, last_error="",
                        next_attempt_at=None, claimed_until=None)
            if message.endpoint_id:
                endpoint_success_record(endpoint_id=message.endpoint_id, now=now)
            return
        error = outcome.error or f"HTTP {outcome.status_code}"
        if now - message.created_at >= timedelta(seconds=settings.WEBHOOK_RETRY_FOR_S):
            rows.update(status=MessageStatus.FAILED, attempts=attempts, last_error=f"gave up: {error}"[:500],
                        next_attempt_at=None, claimed_until=None)
        else:
            rows.update(attempts=attempts, last_error=error[:500], next_attempt_at=now + retry_delay(attempts),
                        claimed_until=None)
        if message.endpoint_id:
            endpoint_failure_record(endpoint_id=message.endpoint_id, now=now)


def webhook_messages_due(*, limit: int | None = None) -> list[int]:
    """Pending messages whose next attempt is due, oldest due first; their ``next_attempt_at`` is
    pushed SWEEP_LEASE ahead so the next sweep does not hand them out again while they wait."""
    now = timezone.now()
    ids = list(WebhookMessage.objects.filter(status=MessageStatus.PENDING, next_attempt_at__lte=now)
               .order_by("next_attempt_at").values_list("id", flat=True)[: limit or settings.WEBHOOK_DUE_BATCH])
    WebhookMessage.objects.filter(pk__in=ids, status=MessageStatus.PENDING).update(next_attempt_at=now + SWEEP_LEASE)
    return ids


def webhook_log_purge(*, limit: int = 5000) -> int:
    """Forget finished messages (with their attempts) older than WEBHOOK_LOG_RETENTION_DAYS, a batch
    at a time; pending ones are kept whatever their age."""
    before = timezone.now() - timedelta(days=settings.WEBHOOK_LOG_RETENTION_DAYS)
    ids = list(WebhookMessage.objects.filter(created_at__lt=before).exclude(status=MessageStatus.PENDING)
               .values_list("id", flat=True)[:limit])
    WebhookAttempt.objects.filter(message_id__in=ids).delete()
    return WebhookMessage.objects.filter(pk__in=ids).delete()[0]
