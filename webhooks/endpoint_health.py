"""An endpoint's failure streak, and disabling one that keeps failing (its owners are emailed).

The rule: an endpoint is disabled when every attempt to it has failed for WEBHOOK_DISABLE_AFTER_S
(24 h by default) and at least WEBHOOK_DISABLE_MIN_FAILURES attempts in a row failed. Any 2xx
ends the streak. Its pending messages then fail; enabling it again (API or dashboard) starts over."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.urls import reverse

from accounts.models import Membership, Role

from .models import MessageStatus, WebhookEndpoint, WebhookMessage

log = logging.getLogger(__name__)


def endpoint_success_record(*, endpoint_id: int, now: datetime) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(consecutive_failures=0, failing_since=None,
                                                          last_success_at=now)


def endpoint_failure_record(*, endpoint_id: int, now: datetime) -> bool:
    """Count a failed attempt; disable the endpoint if the rule says so. True if this call disabled it."""
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(
        consecutive_failures=F("consecutive_failures") + 1, failing_since=Coalesce("failing_since", now))
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    failing_for = now - endpoint.failing_since
    if (endpoint.disabled_at is not None
            or endpoint.consecutive_failures < settings.WEBHOOK_DISABLE_MIN_FAILURES
            or failing_for < timedelta(seconds=settings.WEBHOOK_DISABLE_AFTER_S)):
        return False
    hours = int(failing_for.total_seconds() // 3600)
    reason = (f"Disabled automatically: every attempt failed for {hours} h "
              f"({endpoint.consecutive_failures} in a row).")
    with transaction.atomic():
        if not WebhookEndpoint.objects.filter(pk=endpoint_id, disabled_at__isnull=True).update(
                disabled_at=now, disabled_reason=reason):
            return False  # another worker disabled it first
        WebhookMessage.objects.filter(endpoint_id=endpoint_id, status=MessageStatus.PENDING).update(
            status=MessageStatus.FAILED, last_error="endpoint disabled", next_attempt_at=None, claimed_until=None)
        transaction.on_commit(lambda: _owners_email(endpoint=endpoint, reason=reason))
    log.warning("webhook endpoint %s of tenant %s disabled: %s", endpoint.pk, endpoint.tenant_id, reason)
    return True


def _owners_email(*, endpoint: WebhookEndpoint, reason: str) -> None:
    owners = list(Membership.objects.filter(tenant_id=endpoint.tenant_id, role=Role.OWNER)
                  .values_list("user__email", flat=True))
    if not owners:
        return
    page = settings.PUBLIC_BASE_URL + reverse("webhooks:page")
    send_mail(
        subject=f"Parley: your webhook endpoint {endpoint.url} was disabled",
        message=(f"We could not deliver webhooks to {endpoint.url}.\n\n{reason}\n\n"
                 f"Fix the receiver, then enable the endpoint again and send a test event at {page}.\n"
                 "Events of the meantime were not delivered; read the jobs' state from the API."),
        from_email=None, recipient_list=owners, fail_silently=True,
    )
