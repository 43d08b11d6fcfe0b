"""The daily reconciliation of our ledger with Stripe's meter: per tenant and day, the live charges
we recorded (in cents) against the meter's event summary for the tenant's customer
(https://docs.stripe.com/api/billing/meter-event-summary/list). Each disagreement becomes a
``ReconciliationDifference`` row for the operator; nothing is corrected automatically, since which
side is wrong (a lost event, a stale outbox, a manual change in Stripe) takes a person to judge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db.models import Sum

from accounts.models import Tenant

from .models import ReconciliationDifference, ReconciliationKind, StripeAccount, UsageRecord
from .money import to_cents
from .stripe_client import stripe_client


@dataclass(frozen=True)
class ReconcileRun:
    day: date
    tenants: int
    differences: list[ReconciliationDifference]


def stripe_meter_id() -> str:
    """The id of the meter ``stripe_setup`` made, found by its event name."""
    meters = stripe_client().v1.billing.meters.list(params={"status": "active", "limit": 100})
    for meter in meters.auto_paging_iter():
        if meter.event_name == settings.STRIPE_METER_EVENT_NAME:
            return meter.id
    raise LookupError("No billing meter in Stripe yet: run `python manage.py stripe_setup`.")


def _ours(*, start: datetime, end: datetime) -> dict[object, int]:
    """Live charges per tenant in [start, end), in cents."""
    rows = (UsageRecord.objects.filter(livemode=True, created_at__gte=start, created_at__lt=end)
            .order_by().values("tenant_id").annotate(total=Sum("amount")))
    return {row["tenant_id"]: int(to_cents(row["total"]) * 100) for row in rows}


def _theirs(*, meter_id: str, customer_id: str, start: datetime, end: datetime) -> int:
    summaries = stripe_client().v1.billing.meters.event_summaries.list(meter_id, params={
        "customer": customer_id, "start_time": int(start.timestamp()), "end_time": int(end.timestamp()),
        "limit": 100,
    })
    return int(sum(s.aggregated_value for s in summaries.auto_paging_iter()))


def _kind(ours: int, theirs: int) -> str:
    if theirs == 0:
        return ReconciliationKind.MISSING_IN_STRIPE
    if ours == 0:
        return ReconciliationKind.UNKNOWN_TO_US
    return ReconciliationKind.AMOUNT_MISMATCH


def billing_reconcile(*, day: date) -> ReconcileRun:
    """Compare one UTC day for every tenant that has live charges that day or a Stripe customer.
    Rerunning a day adds a row only for a difference not already recorded with the same amounts.
    Calls Stripe; run outside any transaction (the daily task, the command)."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    end = start + timedelta(days=1)
    ours = _ours(start=start, end=end)
    customers = dict(StripeAccount.objects.exclude(stripe_customer_id="").values_list("tenant_id",
                                                                                        "stripe_customer_id"))
    tenant_ids = sorted(set(ours) | set(customers), key=str)
    meter_id = stripe_meter_id() if customers else ""
    found = []
    for tenant_id in tenant_ids:
        mine = ours.get(tenant_id, 0)
        customer_id = customers.get(tenant_id)
        theirs = _theirs(meter_id=meter_id, customer_id=customer_id, start=start, end=end) if customer_id else 0
        if mine == theirs:
            continue
        kind = _kind(mine, theirs)
        known = ReconciliationDifference.objects.filter(tenant_id=tenant_id, day=day, kind=kind, ours_cents=mine,
                                                        theirs_cents=theirs).first()
        found.append(known or ReconciliationDifference.objects.create(
            tenant=Tenant.objects.get(pk=tenant_id), day=day, ours_cents=mine, theirs_cents=theirs, kind=kind))
    return ReconcileRun(day=day, tenants=len(tenant_ids), differences=found)
