"""Reads of assets and jobs, always starting from the request's tenant."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from accounts.models import Tenant

from .models import Asset, Job, JobEvent


def asset_list(*, tenant: Tenant, kind: str | None = None) -> QuerySet[Asset]:
    qs = Asset.objects.for_tenant(tenant).order_by("-created_at")
    return qs.filter(kind=kind) if kind else qs


def asset_get(*, tenant: Tenant, asset_id: object) -> Asset:
    """The tenant's asset, or Asset.DoesNotExist (also for another tenant's id)."""
    return Asset.objects.for_tenant(tenant).get(pk=asset_id)


def job_list(
    *, tenant: Tenant, status: str | None = None, model_id: str | None = None, livemode: bool | None = None,
    events: bool = False,
) -> QuerySet[Job]:
    """The tenant's jobs, newest first. ``livemode`` keeps one mode's jobs, as an API key sees them
    (Stripe's rule: a test key never sees live jobs, nor a live key test ones), and as the dashboard's
    live/test switch shows them. ``events`` prefetches each job's timeline (one query for the page);
    a list shows summaries, so it is off by default. The indexes (tenant, created_at) and (tenant,
    status, created_at) serve these pages."""
    qs = Job.objects.for_tenant(tenant).select_related("usage_record").order_by("-created_at", "-id")
    if events:
        qs = qs.prefetch_related(Prefetch("events", queryset=JobEvent.objects.order_by("created_at", "id")))
    if status:
        qs = qs.filter(status=status)
    if model_id:
        qs = qs.filter(model_id=model_id)
    if livemode is not None:
        qs = qs.filter(livemode=livemode)
    return qs


def job_get(*, tenant: Tenant, job_id: object, livemode: bool | None = None) -> Job:
    """The tenant's job (in that mode when given), or Job.DoesNotExist (also for another tenant's id);
    with its timeline, who created it and with which key, which the job page shows."""
    return (job_list(tenant=tenant, livemode=livemode, events=True).select_related("created_by", "api_key")
            .get(pk=job_id))


def job_with_timeline(job: Job, events: list[JobEvent]) -> Job:
    """``job`` with ``events`` as its prefetched timeline: a job just created answers with the one
    event it has without reading it back."""
    timeline = job.events.all()
    timeline._result_cache = list(events)
    timeline._prefetch_done = True
    job._prefetched_objects_cache = {"events": timeline}
    return job
