"""Metering: the usage record of a succeeded job."""

from __future__ import annotations

from decimal import Decimal

from jobs.models import Job
from providers.catalogue import catalogue_get

from .models import UsageRecord
from .pricing import price_for_tenant


def usage_record_create(*, job: Job, seconds: Decimal, input_video_seconds: Decimal = Decimal("0")) -> UsageRecord:
    """Meter a succeeded job from its delivered video's probed duration; never above its quote.

    Called inside the transaction that marks the job succeeded; the unique constraint on ``job``
    makes a second call fail instead of charging twice."""
    entry = catalogue_get(model_id=job.model_id)
    price = price_for_tenant(
        rule=entry.pricing, inputs=job.input, seconds=seconds, price_multiplier=job.tenant.price_multiplier,
        input_video_seconds=input_video_seconds,
    )
    amount = min(price.amount, job.quote_amount)
    record = UsageRecord(
        tenant_id=job.tenant_id, job=job, model_id=job.model_id, livemode=job.livemode, seconds=seconds,
        billable_seconds=price.billable_seconds, unit_price=price.unit_price, multiplier=price.multiplier,
        provider_amount=price.provider_amount, price_multiplier=price.price_multiplier, amount=amount,
        capped_by_quote=price.amount > job.quote_amount, currency=price.currency,
    )
    record.save(force_insert=True)
    return record
