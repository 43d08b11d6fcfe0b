"""When a queued job may start: its tenant's cap on running jobs, and the fair sharing of a
provider account's concurrency slots between tenants; and holding back a job that may not."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from accounts.models import Tenant

from ..models import Job, JobStatus
from ..transitions import job_note
from .outcomes import job_fields_set

# How soon a job held back for want of a slot is looked at again.
CAPACITY_RETRY = timedelta(seconds=2)
IN_FLIGHT = [JobStatus.SUBMITTING, JobStatus.RUNNING]
# What a held-back job's provider_status says, by what holds it.
WAITING = {"tenant": "waiting for the team's running limit", "provider": "waiting for capacity"}


def tenant_running_cap(tenant: Tenant) -> int:
    """How many of a tenant's jobs may be in flight (submitting or running) at once: the operator's
    override on the tenant, else TENANT_MAX_RUNNING_JOBS."""
    return tenant.max_running_jobs or settings.TENANT_MAX_RUNNING_JOBS


def _tenants_at_cap(tenant_ids: set) -> set:
    """Which of these tenants have as many jobs in flight as their cap allows."""
    if not tenant_ids:
        return set()
    counts = dict(Job.objects.filter(tenant_id__in=tenant_ids, status__in=IN_FLIGHT)
                  .values_list("tenant").annotate(n=Count("id")).values_list("tenant", "n"))
    caps = dict(Tenant.objects.filter(pk__in=tenant_ids).values_list("pk", "max_running_jobs"))
    return {t for t in tenant_ids if counts.get(t, 0) >= (caps.get(t) or settings.TENANT_MAX_RUNNING_JOBS)}


def provider_slot_available(*, job: Job) -> bool:
    """Whether ``job`` may take a slot of its provider account now.

    The account's concurrency cap (a setting) bounds the tasks in flight, so our own backlog never
    becomes a burst of 429s; and the slots are shared fairly: a tenant may take a free slot only if
    no other tenant with jobs waiting for this provider has fewer in flight (a tenant held back by its
    own running-job cap does not count: it could not take the slot)."""
    cap = settings.PROVIDER_CONCURRENCY.get(job.provider)
    if not cap:
        return True
    same_account = Job.objects.filter(provider=job.provider, emulated=job.emulated)
    in_flight = dict(
        same_account.filter(status__in=IN_FLIGHT)
        .values_list("tenant").annotate(n=Count("id")).values_list("tenant", "n")
    )
    if sum(in_flight.values()) >= cap:
        return False
    mine = in_flight.get(job.tenant_id, 0)
    if mine == 0:
        return True
    waiting = same_account.filter(status=JobStatus.QUEUED).exclude(tenant_id=job.tenant_id)
    fewer = {t for t in waiting.values_list("tenant_id", flat=True).distinct() if in_flight.get(t, 0) < mine}
    return not (fewer - _tenants_at_cap(fewer))


def job_start_blocker(*, job: Job) -> str | None:
    """What keeps a queued job from starting now: ``"tenant"`` (its team has as many jobs in flight as
    its cap allows), ``"provider"`` (its provider account is full, or the free slot is another team's
    turn), or None."""
    if Job.objects.filter(tenant_id=job.tenant_id, status__in=IN_FLIGHT).count() >= tenant_running_cap(job.tenant):
        return "tenant"
    if not provider_slot_available(job=job):
        return "provider"
    return None


def job_hold_back(job: Job, *, blocker: str) -> None:
    """Keep a queued job waiting (never failing, never charged) and look again shortly; the timeline
    says once what it waits for."""
    if job.provider_status != WAITING[blocker]:
        if blocker == "tenant":
            cap = tenant_running_cap(job.tenant)
            message = (f"Waiting: {cap} of the team's jobs are running, the most it may run at once; this one "
                       f"starts when one of them ends.")
        else:
            message = "Waiting for a free slot at the provider (its concurrency limit is shared fairly between teams)."
        job_note(job=job, message=message)
    job_fields_set(job, next_attempt_at=timezone.now() + CAPACITY_RETRY, provider_status=WAITING[blocker])
