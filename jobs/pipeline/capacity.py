"""Fair sharing of a provider account's concurrency slots between tenants."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Count

from ..models import Job, JobStatus

# How soon a job held back for want of a slot is looked at again.
CAPACITY_RETRY = timedelta(seconds=2)


def provider_slot_available(*, job: Job) -> bool:
    """Whether ``job`` may take a slot of its provider account now.

    The account's concurrency cap (a setting) bounds the tasks in flight, so our own backlog never
    becomes a burst of 429s; and the slots are shared fairly: a tenant may take a free slot only if
    no other tenant with jobs waiting for this provider has fewer in flight."""
    cap = settings.PROVIDER_CONCURRENCY.get(job.provider)
    if not cap:
        return True
    same_account = Job.objects.filter(provider=job.provider, emulated=job.emulated)
    in_flight = dict(
        same_account.filter(status__in=[JobStatus.SUBMITTING, JobStatus.RUNNING])
        .values_list("tenant").annotate(n=Count("id")).values_list("tenant", "n")
    )
    if sum(in_flight.values()) >= cap:
        return False
    mine = in_flight.get(job.tenant_id, 0)
    if mine == 0:
        return True
    waiting = same_account.filter(status=JobStatus.QUEUED).exclude(tenant_id=job.tenant_id)
    return not any(in_flight.get(t, 0) < mine for t in waiting.values_list("tenant_id", flat=True).distinct())
