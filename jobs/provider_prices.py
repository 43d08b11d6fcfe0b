"""The daily check of our metering against the providers that answer their own price (WaveSpeed's
price endpoint, docs/providers/wavespeed.md): for each job charged on a day, the provider is asked
its price for the delivered length and the inputs the price rule reads, and a difference from the
provider amount we metered becomes a ``ReconciliationDifference`` for the operator. Nothing is
corrected: the charge follows our probe, and which side is wrong (a stale catalogue price, a
provider's change) takes a person to judge."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from billing.models import ReconciliationDifference
from billing.provider_reconcile import provider_price_reconcile
from providers import registry
from providers.catalogue import PriceRule, catalogue_get
from providers.clients.base import ProviderClient
from providers.clients.errors import ProviderError

from .models import Job, JobStatus

logger = logging.getLogger(__name__)


@dataclass
class PriceCheckRun:
    day: date
    checked: int = 0  # jobs whose provider answered a price
    unpriced: int = 0  # jobs whose provider publishes no price endpoint
    errors: list[str] = field(default_factory=list)  # jobs the provider could not price, with why
    differences: list[ReconciliationDifference] = field(default_factory=list)


def price_inputs(*, rule: PriceRule, job_input: Mapping[str, Any], seconds: Decimal) -> dict[str, Any]:
    """What the provider is asked to price: the delivered length as ``duration`` and the inputs the
    price rule itself reads (resolution, frames), nothing else of the job (no prompt, no file)."""
    inputs: dict[str, Any] = {"duration": float(seconds)}
    for name in (rule.resolution_field, rule.frames_field):
        if name and name in job_input:
            inputs[name] = job_input[name]
    return inputs


def provider_prices_reconcile(*, day: date) -> PriceCheckRun:
    """Check every job charged on the UTC ``day`` against its provider's price, one client per
    provider and mode (emulated jobs ask the emulator, as they were run there). A provider that
    cannot answer is noted in the run and the job checked again when the day is rerun. Calls
    providers: run outside any transaction (the daily task, ``billing_reconcile``)."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    jobs = (Job.objects.filter(status=JobStatus.SUCCEEDED, usage_record__created_at__gte=start,
                               usage_record__created_at__lt=start + timedelta(days=1))
            .exclude(provider=registry.LOCAL).select_related("tenant", "usage_record").order_by("created_at"))
    run = PriceCheckRun(day=day)
    clients: dict[tuple[str, bool], ProviderClient] = {}
    try:
        for job in jobs.iterator(chunk_size=500):
            livemode = job.livemode and not job.emulated
            client = clients.get((job.provider, livemode))
            if client is None:
                client = clients[(job.provider, livemode)] = registry.client_for(job.provider, livemode=livemode)
            _check(run=run, job=job, client=client)
    finally:
        for client in clients.values():
            client.close()
    return run


def _check(*, run: PriceCheckRun, job: Job, client: ProviderClient) -> None:
    record = job.usage_record
    entry = catalogue_get(model_id=job.model_id)
    try:
        theirs = client.price(model_path=entry.provider_model,
                              inputs=price_inputs(rule=entry.pricing, job_input=job.input, seconds=record.seconds))
    except ProviderError as exc:
        logger.warning("price check of job %s failed: %s", job.id, exc)
        run.errors.append(f"{job.id}: {exc}")
        return
    if theirs is None:
        run.unpriced += 1
        return
    run.checked += 1
    difference = provider_price_reconcile(tenant=job.tenant, job_id=job.id, model_id=job.model_id,
                                          day=record.created_at.date(), ours=record.provider_amount, theirs=theirs)
    if difference is not None:
        run.differences.append(difference)
