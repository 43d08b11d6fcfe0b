"""Recording an event in the outbox: one message per subscribed endpoint (and one for the job's own
``webhook`` URL), written in the caller's transaction so an event is never lost or made up by a
rollback, and handed to a worker once that transaction commits.

The jobs app calls ``webhook_event_record`` from the transaction that changes a job's status; this
app never imports jobs (it gets plain values) and never writes a job."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from config.task_broker import shared_broker

from .models import WebhookEndpoint, WebhookMessage

# A message's first attempt is a task enqueued on commit; if that task is lost, the sweep
# (``webhook_deliver_due_task``) finds the message again after this.
SWEEP_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class JobWebhook:
    """A job's own webhook: its URL and the events it asked for."""

    url: str
    events: tuple[str, ...]


def message_id_new() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def event_body(*, event_type: str, data: dict[str, Any], at: datetime) -> str:
    """The payload, as the Standard Webhooks specification shapes it: type, timestamp, data."""
    return json.dumps({"type": event_type, "timestamp": at.isoformat().replace("+00:00", "Z"), "data": data},
                      separators=(",", ":"), default=str)


def webhook_event_record(
    *, tenant_id: int, livemode: bool, event_type: str, data: dict[str, Any], job_id: uuid.UUID | None = None,
    job_webhook: JobWebhook | None = None, endpoints: Iterable[WebhookEndpoint] | None = None,
) -> list[int]:
    """Write one outbox message per enabled endpoint of the tenant's mode listing ``event_type``
    (or per endpoint given), plus one for ``job_webhook`` if it asked for the event; returns their ids."""
    now = timezone.now()
    body = event_body(event_type=event_type, data=data, at=now)
    if endpoints is None:
        endpoints = (e for e in WebhookEndpoint.objects.filter(tenant_id=tenant_id, livemode=livemode,
                                                               disabled_at__isnull=True).only("id", "events")
                     if event_type in e.events)
    common = {"tenant_id": tenant_id, "livemode": livemode, "event_type": event_type, "job_id": job_id,
              "body": body, "next_attempt_at": now + SWEEP_LEASE}
    messages = [WebhookMessage(msg_id=message_id_new(), endpoint_id=e.pk, **common) for e in endpoints]
    if job_webhook is not None and event_type in job_webhook.events:
        messages.append(WebhookMessage(msg_id=message_id_new(), url=job_webhook.url, **common))
    if not messages:
        return []
    ids = [m.pk for m in WebhookMessage.objects.bulk_create(messages)]
    if None in ids:  # a database that cannot return the ids of a bulk insert
        ids = list(WebhookMessage.objects.filter(msg_id__in=[m.msg_id for m in messages]).values_list("id", flat=True))
    # One enqueue on the caller's path, whatever the number of endpoints: the task fans out.
    transaction.on_commit(lambda: async_task("webhooks.tasks.webhook_deliver_task", *ids,
                                             task_name=f"webhook_deliver_task:{ids[0]}", broker=shared_broker()))
    return ids
