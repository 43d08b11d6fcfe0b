"""The operator's view of webhooks: endpoints (secrets never shown), the outbox and the delivery
log, read-only; the operator can re-enable an endpoint from its row."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import WebhookAttempt, WebhookEndpoint, WebhookMessage


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnly):
    list_display = ("id", "tenant", "url", "livemode", "events", "disabled_at", "consecutive_failures",
                    "failing_since", "last_success_at")
    list_filter = ("livemode", ("disabled_at", admin.EmptyFieldListFilter))
    search_fields = ("url", "tenant__name")
    exclude = ("secret_encrypted", "previous_secret_encrypted")
    actions = ["enable"]

    @admin.action(description="Enable again (clears the failure streak)")
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        queryset.update(disabled_at=None, disabled_reason="", consecutive_failures=0, failing_since=None)


@admin.register(WebhookMessage)
class WebhookMessageAdmin(ReadOnly):
    list_display = ("msg_id", "tenant", "event_type", "endpoint", "url", "status", "attempts", "next_attempt_at",
                    "created_at")
    list_filter = ("status", "event_type", "livemode")
    search_fields = ("msg_id", "job_id")


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnly):
    list_display = ("id", "tenant", "message", "attempt", "status_code", "latency_ms", "error", "created_at")
    list_filter = ("succeeded",)
