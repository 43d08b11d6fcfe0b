"""A provider account's concurrency cap holds jobs in our queue and is shared fairly by tenants."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from jobs.models import Job, JobStatus
from jobs.pipeline.capacity import job_start_blocker, provider_slot_available
from jobs.pipeline.dispatch import job_dispatch_due
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


# --- the tenant's cap on running jobs ----------------------------------------------------------------
@pytest.mark.django_db
def test_a_tenant_over_its_running_cap_waits_queued_and_never_fails(settings):
    settings.TENANT_MAX_RUNNING_JOBS = 2
    settings.PROVIDER_CONCURRENCY = {**settings.PROVIDER_CONCURRENCY, "wavespeed": 10, "fal": 10}
    a = make_tenant("A")
    _job(a, JobStatus.RUNNING)
    _job(a, JobStatus.SUBMITTING, provider="fal")  # every provider counts towards the team's cap
    waiting = _job(a)
    assert job_start_blocker(job=waiting) == "tenant"
    # past the queue timeout: still waiting
    Job.objects.filter(pk=waiting.pk).update(created_at=waiting.created_at - timedelta(days=2))
    job_submit(job_id=str(waiting.id))
    job_submit(job_id=str(waiting.id))
    waiting.refresh_from_db()
    assert waiting.status == JobStatus.QUEUED and waiting.provider_status == "waiting for the team's running limit"
    assert waiting.events.filter(message__contains="2 of the team's jobs are running").count() == 1
    other = _job(make_tenant("B"))
    assert job_start_blocker(job=other) is None  # another team is not held by A's cap
    other.delete()
    a.max_running_jobs = 3  # the operator's override
    a.save()
    assert job_start_blocker(job=Job.objects.get(pk=waiting.pk)) is None


@pytest.mark.django_db
def test_the_poller_holds_a_capped_job_without_a_task(settings, django_capture_on_commit_callbacks):
    settings.TENANT_MAX_RUNNING_JOBS = 1
    a = make_tenant("A")
    _job(a, JobStatus.RUNNING, provider="fal")
    waiting = _job(a)
    with django_capture_on_commit_callbacks() as callbacks:
        assert job_dispatch_due(job=waiting) == "wait"
    assert callbacks == []


@pytest.mark.django_db
def test_a_team_held_by_its_own_cap_does_not_block_the_fair_share(settings):
    """B has fewer jobs on wavespeed and one waiting there, but B is at its own running cap (its
    other job runs on fal): the free wavespeed slot is A's, not kept idle for B."""
    settings.PROVIDER_CONCURRENCY = {**settings.PROVIDER_CONCURRENCY, "wavespeed": 3}
    a, b = make_tenant("A"), make_tenant("B")
    b.max_running_jobs = 1
    b.save()
    _job(a, JobStatus.RUNNING)
    _job(b, JobStatus.RUNNING, provider="fal")
    b_next, a_next = _job(b), _job(a)
    assert job_start_blocker(job=b_next) == "tenant"
    assert provider_slot_available(job=a_next)
    b.max_running_jobs = 2
    b.save()
    assert not provider_slot_available(job=a_next)  # now B could take it: its turn
