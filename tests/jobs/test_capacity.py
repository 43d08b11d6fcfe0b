"""A provider account's concurrency cap holds jobs in our queue and is shared fairly by tenants."""

from __future__ import annotations

from decimal import Decimal

import pytest

from jobs.models import Job, JobStatus
from jobs.pipeline.capacity import provider_slot_available
from jobs.pipeline.submit import job_submit
from tests.conftest import make_tenant


def _job(tenant, status=JobStatus.QUEUED, provider="wavespeed") -> Job:
    return Job.objects.create(tenant=tenant, model_id="wavespeed-ai/wan-2.1/multitalk", provider=provider,
                              status=status, input={}, quote_seconds=Decimal("5"), quote_amount=Decimal("0.15"),
                              emulated=True)


@pytest.mark.django_db
def test_cap_holds_jobs_in_our_queue(settings):
    settings.PROVIDER_CONCURRENCY = {**settings.PROVIDER_CONCURRENCY, "wavespeed": 2}
    a = make_tenant("A")
    _job(a, JobStatus.RUNNING)
    _job(a, JobStatus.SUBMITTING)
    waiting = _job(a)
    assert not provider_slot_available(job=waiting)
    job_submit(job_id=str(waiting.id))  # no HTTP call is made: it stays queued, due again shortly
    waiting.refresh_from_db()
    assert waiting.status == JobStatus.QUEUED and waiting.provider_status == "waiting for capacity"
    assert waiting.events.filter(message__icontains="free slot").count() == 1


@pytest.mark.django_db
def test_free_slot_goes_to_the_tenant_with_fewer_jobs_in_flight(settings):
    settings.PROVIDER_CONCURRENCY = {**settings.PROVIDER_CONCURRENCY, "wavespeed": 3}
    busy, quiet = make_tenant("Busy"), make_tenant("Quiet")
    _job(busy, JobStatus.RUNNING)
    _job(busy, JobStatus.RUNNING)
    _job(quiet, JobStatus.RUNNING)
    busy_next, quiet_next = _job(busy), _job(quiet)
    assert not provider_slot_available(job=busy_next)  # the account is full
    Job.objects.filter(tenant=busy, status=JobStatus.RUNNING).first().delete()  # one finishes
    # busy has 1 in flight, quiet has 1: equal, both may go
    assert provider_slot_available(job=busy_next) and provider_slot_available(job=quiet_next)
    _job(busy, JobStatus.RUNNING)
    Job.objects.filter(tenant=quiet, status=JobStatus.RUNNING).delete()
    # now busy has 2 in flight and quiet 0 with a job waiting: the slot is quiet's
    assert not provider_slot_available(job=busy_next)
    assert provider_slot_available(job=quiet_next)


@pytest.mark.django_db
def test_other_providers_and_the_real_account_are_counted_apart(settings):
    settings.PROVIDER_CONCURRENCY = {**settings.PROVIDER_CONCURRENCY, "wavespeed": 1}
    a = make_tenant("A")
    _job(a, JobStatus.RUNNING, provider="fal")
    real = _job(a, JobStatus.RUNNING)
    Job.objects.filter(pk=real.pk).update(emulated=False)
    assert provider_slot_available(job=_job(a))
