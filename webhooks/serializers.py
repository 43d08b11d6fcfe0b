"""The API's shapes of webhook endpoints and their delivery log (one output serializer each)."""

from __future__ import annotations

from rest_framework import serializers

from .models import WebhookAttempt, WebhookEndpoint


class WebhookEndpointOutput(serializers.Serializer):
    id = serializers.IntegerField()
    object = serializers.SerializerMethodField()
    url = serializers.CharField()
    description = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    livemode = serializers.BooleanField()
    enabled = serializers.BooleanField()
    disabled_at = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField()
    consecutive_failures = serializers.IntegerField()
    failing_since = serializers.DateTimeField(allow_null=True)
    last_success_at = serializers.DateTimeField(allow_null=True)
    secret_rotated_at = serializers.DateTimeField(allow_null=True)
    previous_secret_expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_object(self, obj: WebhookEndpoint) -> str:
        return "webhook_endpoint"


class WebhookEndpointSecretOutput(WebhookEndpointOutput):
    secret = serializers.CharField(help_text="The signing secret (whsec_...): shown once, in this answer.")


class WebhookDeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    object = serializers.SerializerMethodField()
    webhook_id = serializers.CharField(source="message.msg_id", help_text="The webhook-id header.")
    event_type = serializers.CharField(source="message.event_type")
    job_id = serializers.UUIDField(source="message.job_id", allow_null=True)
    attempt = serializers.IntegerField()
    url = serializers.CharField()
    status_code = serializers.IntegerField(allow_null=True)
    succeeded = serializers.BooleanField()
    latency_ms = serializers.IntegerField()
    response_excerpt = serializers.CharField(help_text="At most the first 1 KB of the answer.")
    error = serializers.CharField()
    message_status = serializers.CharField(source="message.status")
    next_attempt_at = serializers.DateTimeField(source="message.next_attempt_at", allow_null=True)
    created_at = serializers.DateTimeField()

    def get_object(self, obj: WebhookAttempt) -> str:
        return "webhook_delivery"


class JobWebhookSecretOutput(serializers.Serializer):
    object = serializers.SerializerMethodField()
    key = serializers.CharField(help_text="The whsec_... secret that signs this mode's per-job webhooks.")
    livemode = serializers.BooleanField()

    def get_object(self, obj: object) -> str:
        return "job_webhook_secret"
