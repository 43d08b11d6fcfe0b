"""The outboxes that report the ledger to Stripe, each entry sent until Stripe acknowledges it.

Every live usage record becomes exactly one Stripe meter event. The record's id is the event's
``identifier``, which Stripe keeps unique (https://docs.stripe.com/api/billing/meter-event/create),
so a send repeated after a crash, a timeout or an error is never counted twice; and a record is
pending until its acknowledgement is saved, so none is ever lost.

Every live refund and credit grant becomes exactly one customer balance credit (a negative
Customer Balance Transaction, https://docs.stripe.com/api/customer_balance_transactions/create),
which Stripe applies to the next invoice. Each attempt carries the entry's Idempotency-Key, so a
repeat replays Stripe's first answer (https://docs.stripe.com/api/idempotent_requests). Stripe
keeps keys for 24 hours: a resend after a longer outage first looks for the credit among the
customer's balance transactions (by the key in its metadata) before sending.

Both outboxes share the lease, backoff and bookkeeping below. Test-mode entries are never sent."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import stripe
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .models import BalanceCreditOutbox, CreditGrant, MeterEventOutbox, Refund, UsageRecord
from .money import to_cents
from .stripe_client import stripe_client
from .stripe_customers import stripe_customer_ensure

logger = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)
# Stripe accepts meter events up to 35 days old; an older unsent record is reported as of now.
OLDEST_TIMESTAMP = timedelta(days=35) - timedelta(hours=1)
# Stripe keeps an Idempotency-Key 24 hours; older entries are looked for before a resend.
IDEMPOTENCY_KEY_KEPT = timedelta(hours=23)
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
    """Ids of the meter events due to be sent, oldest first."""
    return _due(MeterEventOutbox)


def _claim(model: type[MeterEventOutbox | BalanceCreditOutbox], entry_id: int) -> bool:
    """Take a lease on an unsent row: of two senders at once, one gets it."""
    now = timezone.now()
    return bool(model.objects.filter(pk=entry_id, sent_at__isnull=True)
                .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
                .update(claimed_until=now + timedelta(seconds=settings.STRIPE_OUTBOX_CLAIM_S)))


def _due(model: type[MeterEventOutbox | BalanceCreditOutbox]) -> list[int]:
    now = timezone.now()
    return list(model.objects.filter(sent_at__isnull=True)
                .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
                .order_by("created_at").values_list("id", flat=True)[: settings.STRIPE_OUTBOX_BATCH])


def stripe_outbox_send(*, entry_id: int) -> bool:
    """Send one entry's meter event; True once Stripe holds it. Safe to run twice at once: a lease
    on the row lets one sender through."""
    if not _claim(MeterEventOutbox, entry_id):
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


def _record_sent(*, entry: MeterEventOutbox | BalanceCreditOutbox, **fields: object) -> None:
    type(entry).objects.filter(pk=entry.pk).update(
        sent_at=timezone.now(), attempts=entry.attempts + 1, last_error="", claimed_until=None, **fields)


def _record_failure(*, entry: MeterEventOutbox | BalanceCreditOutbox, error: Exception) -> None:
    attempts = entry.attempts + 1
    delay = min(timedelta(seconds=5 * 2 ** (attempts - 1)), MAX_BACKOFF)
    logger.warning("stripe outbox: %s failed (attempt %s): %s", entry, attempts, error)
    type(entry).objects.filter(pk=entry.pk).update(
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


# --- balance credits: refunds and credit grants ------------------------------------------------
def stripe_balance_outbox_fill(*, limit: int | None = None) -> int:
    """Make an outbox entry for each live refund and each credit grant that has none."""
    limit = limit or settings.STRIPE_OUTBOX_BATCH
    refunds = (Refund.objects.filter(livemode=True, balance_credit__isnull=True)
               .order_by("created_at").only("id", "tenant_id", "amount"))[:limit]
    grants = (CreditGrant.objects.filter(balance_credit__isnull=True)
              .order_by("created_at").only("id", "tenant_id", "amount"))[:limit]
    rows = [BalanceCreditOutbox(tenant_id=r.tenant_id, refund_id=r.pk, idempotency_key=f"parley-refund-{r.pk}",
                                value=int(to_cents(r.amount) * 100)) for r in refunds]
    rows += [BalanceCreditOutbox(tenant_id=g.tenant_id, credit_grant_id=g.pk,
                                 idempotency_key=f"parley-credit-{g.pk}", value=int(to_cents(g.amount) * 100))
             for g in grants]
    BalanceCreditOutbox.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def stripe_balance_outbox_send(*, entry_id: int) -> bool:
    """Send one entry's balance credit; True once Stripe holds it. Safe to run twice at once."""
    if not _claim(BalanceCreditOutbox, entry_id):
        return False
    entry = BalanceCreditOutbox.objects.select_related("tenant", "refund__usage_record", "credit_grant").get(
        pk=entry_id)
    try:
        account = stripe_customer_ensure(tenant=entry.tenant)
        transaction_id = _send_balance_credit(entry=entry, customer_id=account.stripe_customer_id)
    except stripe.StripeError as exc:
        _record_failure(entry=entry, error=exc)
        return False
    _record_sent(entry=entry, stripe_transaction_id=transaction_id)
    return True


def _send_balance_credit(*, entry: BalanceCreditOutbox, customer_id: str) -> str:
    """The credit's transaction id: found when an earlier attempt's key may have expired, else created."""
    client = stripe_client()
    if entry.attempts or entry.created_at < timezone.now() - IDEMPOTENCY_KEY_KEPT:
        # https://docs.stripe.com/api/customer_balance_transactions/list
        listed = client.v1.customers.balance_transactions.list(customer_id, params={"limit": 100})
        for txn in listed.auto_paging_iter():
            if txn.metadata and txn.metadata.to_dict().get("parley_key") == entry.idempotency_key:
                return txn.id
    if entry.refund_id:
        description = f"Refund on job {entry.refund.usage_record.job_id}"
    else:
        description = f"{entry.credit_grant.get_kind_display()}"
    created = client.v1.customers.balance_transactions.create(customer_id, params={
        "amount": -entry.value, "currency": (entry.refund or entry.credit_grant).currency, "description": description,
        "metadata": {"parley_key": entry.idempotency_key, "tenant_id": str(entry.tenant_id)},
    }, options={"idempotency_key": entry.idempotency_key})
    return created.id


def stripe_balance_outbox_run() -> OutboxRun:
    """Queue new live refunds and credit grants, then send what is due."""
    queued = stripe_balance_outbox_fill()
    sent = failed = 0
    for entry_id in _due(BalanceCreditOutbox):
        if stripe_balance_outbox_send(entry_id=entry_id):
            sent += 1
        else:
            failed += 1
    return OutboxRun(queued=queued, sent=sent, failed=failed)
