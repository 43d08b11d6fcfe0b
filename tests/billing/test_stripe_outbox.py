"""The meter-event outbox against the stand-in: one event per live usage record, never twice,
never lost; none for test mode."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

import billing.stripe_outbox as outbox
from billing.models import MeterEventOutbox, StripeAccount, UsageRecord
from billing.stripe_catalog import stripe_catalog_ensure
from billing.stripe_outbox import stripe_outbox_run
from jobs.models import Job


def _usage(tenant, *, amount: str, livemode: bool = True) -> UsageRecord:
    job = Job.objects.create(tenant=tenant, model_id="local/still", provider="local", input={}, livemode=livemode,
                             quote_seconds=Decimal("1"), quote_amount=Decimal(amount))
    return UsageRecord.objects.create(
        tenant=tenant, job=job, model_id="local/still", livemode=livemode, seconds=Decimal("1"),
        billable_seconds=Decimal("1"), unit_price=Decimal(amount), multiplier=Decimal("1"),
        provider_amount=Decimal(amount), price_multiplier=Decimal("1"), amount=Decimal(amount),
    )


@pytest.fixture
def catalog(stripe_standin):
    return stripe_catalog_ensure()


@pytest.mark.django_db
def test_one_meter_event_per_live_record_none_for_test_mode(stripe_standin, catalog, tenant, other_tenant):
    live = [_usage(tenant, amount="0.15"), _usage(tenant, amount="1.05"), _usage(other_tenant, amount="0.40")]
    _usage(tenant, amount="9.99", livemode=False)

    run = stripe_outbox_run()
    assert (run.queued, run.sent, run.failed) == (3, 3, 0)
    assert stripe_outbox_run() == outbox.OutboxRun(queued=0, sent=0, failed=0)

    events = stripe_standin.meter_events
    assert sorted(events) == sorted(str(r.pk) for r in live)
    customer = StripeAccount.objects.get(tenant=tenant).stripe_customer_id
    assert customer.startswith("cus_")
    assert events[str(live[0].pk)]["payload"] == {"stripe_customer_id": customer, "value": "15"}
    assert events[str(live[1].pk)]["payload"]["value"] == "105"
    assert len(stripe_standin.store.customers) == 2  # one per tenant, made on first need
    assert all(e.sent_at and e.attempts == 1 for e in MeterEventOutbox.objects.all())


@pytest.mark.django_db
def test_crash_between_sending_and_recording_is_counted_once(stripe_standin, catalog, tenant, monkeypatch):
    record = _usage(tenant, amount="0.25")

    def crash(**kwargs):
        raise SystemExit("killed after Stripe answered, before saving")

    monkeypatch.setattr(outbox, "_record_sent", crash)
    with pytest.raises(SystemExit):
        stripe_outbox_run()
    entry = MeterEventOutbox.objects.get(usage_record=record)
    assert entry.sent_at is None  # not recorded: it will be sent again
    MeterEventOutbox.objects.filter(pk=entry.pk).update(claimed_until=None)  # the dead sender's lease ends
    monkeypatch.undo()

    assert stripe_outbox_run().sent == 1
    assert list(stripe_standin.meter_events) == [str(record.pk)]
    assert stripe_standin.store.meter_event_rejections == 1  # Stripe refused the repeat
    summary = stripe_standin.store.meter_summaries(catalog.meter_id, {
        "customer": StripeAccount.objects.get(tenant=tenant).stripe_customer_id,
        "start_time": "0", "end_time": "9999999999"})
    assert summary[0]["aggregated_value"] == 25
    assert MeterEventOutbox.objects.get(pk=entry.pk).sent_at is not None


@pytest.mark.django_db
def test_stripe_500_then_200(stripe_standin, catalog, tenant):
    record = _usage(tenant, amount="0.50")
    stripe_standin.fail_next(1)
    run = stripe_outbox_run()
    assert (run.sent, run.failed) == (0, 1)
    entry = MeterEventOutbox.objects.get(usage_record=record)
    assert entry.attempts == 1 and entry.sent_at is None and "APIError" in entry.last_error
    assert entry.next_attempt_at is not None
    MeterEventOutbox.objects.filter(pk=entry.pk).update(next_attempt_at=None)  # its retry time comes

    assert stripe_outbox_run().sent == 1
    entry.refresh_from_db()
    assert entry.attempts == 2 and entry.sent_at and entry.last_error == ""
    assert list(stripe_standin.meter_events) == [str(record.pk)]


@pytest.mark.django_db
def test_an_unreachable_stripe_loses_nothing(stripe_standin, catalog, tenant, settings):
    record = _usage(tenant, amount="0.30")
    settings.STRIPE_API_BASE = f"http://127.0.0.1:1/{uuid.uuid4().hex}"
    assert stripe_outbox_run().failed == 1
    settings.STRIPE_API_BASE = stripe_standin.url
    MeterEventOutbox.objects.update(next_attempt_at=None)
    assert stripe_outbox_run().sent == 1
    assert list(stripe_standin.meter_events) == [str(record.pk)]
