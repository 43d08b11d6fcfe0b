"""Reading webhooks, always from the tenant and the mode acting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, QuerySet

from accounts.models import Tenant

from .models import MessageStatus, WebhookAttempt, WebhookEndpoint, WebhookMessage


def webhook_endpoint_list(*, tenant: Tenant, livemode: bool) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.for_tenant(tenant).filter(livemode=livemode)


def webhook_endpoint_get(*, tenant: Tenant, livemode: bool, endpoint_id: int) -> WebhookEndpoint:
    """Another tenant's or mode's endpoint is WebhookEndpoint.DoesNotExist (a 404)."""
    return webhook_endpoint_list(tenant=tenant, livemode=livemode).get(pk=endpoint_id)


def webhook_attempt_list(*, tenant: Tenant, livemode: bool, endpoint_id: int) -> QuerySet[WebhookAttempt]:
    """An endpoint's delivery log, newest first, each attempt with its message (one query a page)."""
    endpoint = webhook_endpoint_get(tenant=tenant, livemode=livemode, endpoint_id=endpoint_id)
    return (WebhookAttempt.objects.for_tenant(tenant).filter(endpoint=endpoint)
            .select_related("message").order_by("-created_at", "-id"))


@dataclass(frozen=True)
class WebhookBacklog:
    pending: int
    oldest_pending_at: datetime | None


def webhook_backlog() -> WebhookBacklog:
    """The operator's figure (all tenants, for /metrics): messages not yet delivered nor given up,
    and when the oldest of them was made."""
    pending = WebhookMessage.objects.filter(status=MessageStatus.PENDING)
    found = pending.aggregate(n=Count("id"), oldest=Min("created_at"))
    return WebhookBacklog(pending=found["n"], oldest_pending_at=found["oldest"])
