"""Metering: the usage record of a succeeded job.

Billing prices and records plain values (a tenant, a job's id, its model, input and quote), so the
job layer calls billing and billing never imports the job layer."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from accounts.models import Tenant
from providers.catalogue import catalogue_get

from .models import UsageRecord
from .pricing import price_for_tenant


def usage_record_create(
    *,
    tenant: Tenant,
    job_id: uuid.UUID | str,
    model_id: str,
    livemode: bool,
    inputs: Mapping[str, Any],
    quote_amount: Decimal,
    seconds: Decimal,
    input_video_seconds: Decimal = Decimal("0"),
) -> UsageRecord:
    """Meter a succeeded job from its delivered video's probed duration; never above its quote.

    Called inside the transaction that marks the job succeeded; the unique constraint on the job
    makes a second call fail instead of charging twice."""
    entry = catalogue_get(model_id=model_id)
    price = price_for_tenant(
        rule=entry.pricing, inputs=inputs, seconds=seconds, price_multiplier=tenant.price_multiplier,
        input_video_seconds=input_video_seconds,
    )
    amount = min(price.amount, quote_amount)
    record = UsageRecord(
        tenant=tenant, job_id=job_id, model_id=model_id, livemode=livemode, seconds=seconds,
        billable_seconds=price.billable_seconds, unit_price=price.unit_price, multiplier=price.multiplier,
        provider_amount=price.provider_amount, price_multiplier=price.price_multiplier, amount=amount,
        capped_by_quote=price.amount > quote_amount, currency=price.currency,
    )
    record.save(force_insert=True)
    return record
