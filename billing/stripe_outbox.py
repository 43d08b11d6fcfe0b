"""The outbox that reports usage to Stripe: every live usage record becomes exactly one Stripe
meter event, sent until Stripe acknowledges it. The record's id is the event's ``identifier``,
which Stripe keeps unique (https://docs.stripe.com/api/billing/meter-event/create), so a send
repeated after a crash, a timeout or an error is never counted twice; and a record is pending
until its acknowledgement is saved, so none is ever lost. Test-mode records are never sent."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import stripe
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .models import MeterEventOutbox, UsageRecord
from .money import to_cents
from .stripe_client import stripe_client
from .stripe_customers import stripe_customer_ensure

logger = logging.getLogger(__name__)

CLAIM_FOR = timedelta(seconds=120)  # a sender that dies lets go of its rows after this
MAX_BACKOFF = timedelta(hours=1)
# Stripe accepts meter events up to 35 days old; an older unsent record is reported as of now.
OLDEST_TIMESTAMP = timedelta(days=35) - timedelta(hours=1)
_DUPLICATE = "An event already exists with identifier"


@dataclass(frozen=True)
class OutboxRun:
    queued: int
    sent: int
    failed: int


def stripe_outbox_fill(*, limit: int | None = None) -> int:
    """Make an outbox entry for each live usage record that has none (the ledger is the source:
    a record can only be missing from the outbox until the next run)."""
    records = (UsageRecord.objects.filter(livemode=True, meter_event__isnull=True)
               .order_by("created_at").only("id", "tenant_id", "amount"))[: limit or settings.STRIPE_OUTBOX_BATCH]
    rows = [MeterEventOutbox(tenant_id=r.tenant_id, usage_record_id=r.pk, identifier=str(r.pk),
                             value=int(to_cents(r.amount) * 100)) for r in records]
    MeterEventOutbox.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def stripe_outbox_pending() -> list[int]:
    """Ids of the entries due to be sent, oldest first."""
    now = timezone.now()
    return list(MeterEventOutbox.objects.filter(sent_at__isnull=True)
                .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
                .order_by("created_at").values_list("id", flat=True)[: settings.STRIPE_OUTBOX_BATCH])


def stripe_outbox_send(*, entry_id: int) -> bool:
    """Send one entry's meter event; True once Stripe holds it. Safe to run twice at once: a lease
    on the row lets one sender through."""
    now = timezone.now()
    claimed = (MeterEventOutbox.objects.filter(pk=entry_id, sent_at__isnull=True)
               .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
               .update(claimed_until=now + CLAIM_FOR))
    if not claimed:
        return False
    entry = MeterEventOutbox.objects.select_related("tenant", "usage_record").get(pk=entry_id)
    try:
        account = stripe_customer_ensure(tenant=entry.tenant)
        _send_meter_event(entry=entry, customer_id=account.stripe_customer_id)
    except stripe.InvalidRequestError as exc:
        if _DUPLICATE not in (exc.user_message or str(exc)):
            _record_failure(entry=entry, error=exc)
            return False
        # Stripe already holds this identifier: the earlier send went through.
    except stripe.StripeError as exc:
        _record_failure(entry=entry, error=exc)
        return False
    _record_sent(entry=entry)
    return True


def _send_meter_event(*, entry: MeterEventOutbox, customer_id: str) -> None:
    created = entry.usage_record.created_at
    oldest = timezone.now() - OLDEST_TIMESTAMP
    stripe_client().v1.billing.meter_events.create(params={
        "event_name": settings.STRIPE_METER_EVENT_NAME,
        "identifier": entry.identifier,
        "payload": {"stripe_customer_id": customer_id, "value": str(entry.value)},
        "timestamp": int(max(created, oldest).timestamp()),
    })


def _record_sent(*, entry: MeterEventOutbox) -> None:
    MeterEventOutbox.objects.filter(pk=entry.pk).update(
        sent_at=timezone.now(), attempts=entry.attempts + 1, last_error="", claimed_until=None)


def _record_failure(*, entry: MeterEventOutbox, error: Exception) -> None:
    attempts = entry.attempts + 1
    delay = min(timedelta(seconds=5 * 2 ** (attempts - 1)), MAX_BACKOFF)
    logger.warning("stripe outbox: meter event %s failed (attempt %s): %s", entry.identifier, attempts, error)
    MeterEventOutbox.objects.filter(pk=entry.pk).update(
        attempts=attempts, last_error=f"{error.__class__.__name__}: {error}"[:2000],
        next_attempt_at=timezone.now() + delay, claimed_until=None)


def stripe_outbox_run() -> OutboxRun:
    """Queue new live usage records, then send what is due."""
    queued = stripe_outbox_fill()
    sent = failed = 0
    for entry_id in stripe_outbox_pending():
        if stripe_outbox_send(entry_id=entry_id):
            sent += 1
        else:
            failed += 1
    return OutboxRun(queued=queued, sent=sent, failed=failed)
