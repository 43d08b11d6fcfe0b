"""Webhook endpoints, the tenant's signing secret for per-job webhooks, the outbox of messages
(one row per endpoint and event) and the log of every delivery attempt.

Signing secrets are needed in clear to sign, so they are stored encrypted (``webhooks/secrets.py``),
never hashed. During a rotation's overlap window the previous secret signs too."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models

from accounts.models import TenantOwned

# The events a tenant can subscribe to. ``job.running`` is opt-in: sent only to endpoints (and
# per-job webhooks) that list it.
JOB_EVENTS = ("job.running", "job.succeeded", "job.failed", "job.canceled")
DEFAULT_EVENTS = ("job.succeeded", "job.failed", "job.canceled")
TEST_EVENT = "webhook.test"


class SigningSecrets(models.Model):
    """A current signing secret and, during a rotation's overlap, the previous one (both encrypted)."""

    secret_encrypted = models.TextField()
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def previous_secret_active(self, now: datetime) -> bool:
        return bool(self.previous_secret_encrypted and self.previous_secret_expires_at
                    and self.previous_secret_expires_at > now)


class WebhookEndpoint(TenantOwned, SigningSecrets):
    """A URL of the tenant's that receives the events it lists, in one mode (live or test)."""

    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    livemode = models.BooleanField(default=True)
    events = models.JSONField(default=list)  # a subset of JOB_EVENTS
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    # Set when the endpoint was disabled (by the tenant, or by us after continuous failure).
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    # The current streak of failed attempts (reset by any success): what disabling is decided on.
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "livemode", "disabled_at"], name="whendpoint_tenant_mode")]

    def __str__(self) -> str:
        return f"webhook endpoint {self.pk} ({self.url})"

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None


class JobWebhookSecret(TenantOwned, SigningSecrets):
    """The tenant's secret (one per mode) that signs per-job webhooks (a job's ``webhook`` URL), as
    Replicate signs its per-prediction webhooks with one account-wide secret."""

    livemode = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "livemode"], name="jobwebhooksecret_unique_mode")]

    def __str__(self) -> str:
        return f"job webhook secret of {self.tenant_id} ({'live' if self.livemode else 'test'})"


class MessageStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"  # retries exhausted, or its endpoint was disabled or deleted


class WebhookMessage(TenantOwned):
    """The outbox: one event for one endpoint (or one job's own webhook URL), written in the
    transaction that made the event and sent until the receiver answers 2xx or the retries end.
    ``msg_id`` is the ``webhook-id`` header: the same on every attempt, so receivers can dedupe."""

    msg_id = models.CharField(max_length=40, unique=True)
    endpoint = models.ForeignKey(WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="messages")
    url = models.URLField(max_length=2000, blank=True)  # a per-job webhook's URL (no endpoint)
    livemode = models.BooleanField(default=True)
    event_type = models.CharField(max_length=40)
    job_id = models.UUIDField(null=True, blank=True)  # a plain value: webhooks never import jobs
    body = models.TextField()  # the exact JSON bytes that are signed, the same on every attempt
    status = models.CharField(max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="whmessage_due")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.msg_id} ({self.status})"


class WebhookAttempt(TenantOwned):
    """One try at delivering a message: the delivery log the tenant reads."""

    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="attempt_log")
    endpoint = models.ForeignKey(WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="attempts")
    attempt = models.PositiveIntegerField()
    url = models.URLField(max_length=2000)
    status_code = models.PositiveIntegerField(null=True, blank=True)  # none when no answer came
    succeeded = models.BooleanField(default=False)
    latency_ms = models.PositiveIntegerField()
    response_excerpt = models.CharField(max_length=1024, blank=True)  # at most 1 KB of the answer
    error = models.CharField(max_length=500, blank=True)  # why no answer (timeout, refused...)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["endpoint", "-created_at"], name="whattempt_endpoint_created")]

    def __str__(self) -> str:
        return f"attempt {self.attempt} of {self.message_id}: {self.status_code or self.error}"
