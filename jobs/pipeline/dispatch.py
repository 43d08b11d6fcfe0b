"""The poller's side: claiming the jobs whose next step is due, and handing each to that step."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ..log_fields import job_log_context
from ..models import Job, JobStatus
from ..queue import enqueue_on_commit
from .capacity import CAPACITY_RETRY, job_start_blocker
from .deadline import CANCELABLE, job_deadline_cancel
from .outcomes import job_fields_set
from .progress import job_poll
from .submit_recovery import submit_reclaim

UNFINISHED = (JobStatus.QUEUED, JobStatus.SUBMITTING, JobStatus.RUNNING, JobStatus.FINALIZING)


def jobs_claim_due(
    *, limit: int, lease: timedelta | None = None, statuses: tuple[str, ...] = UNFINISHED
) -> list[Job]:
    """Claim up to ``limit`` jobs (in ``statuses``) whose next step is due, or whose deadline has
    passed, pushing their next look ``lease`` (``POLLER_CLAIM_S``) ahead so that other pollers skip
    them; a poller killed while holding them lets them go when it lapses."""
    lease = lease if lease is not None else timedelta(seconds=settings.POLLER_CLAIM_S)
    now = timezone.now()
    with transaction.atomic():
        qs = Job.objects.filter(status__in=list(statuses)).filter(
            Q(next_attempt_at__lte=now) | Q(cancel_at__lte=now, status__in=CANCELABLE)).order_by("next_attempt_at")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        jobs = list(qs[:limit])
        if jobs:
            Job.objects.filter(pk__in=[j.pk for j in jobs]).update(next_attempt_at=now + lease)
    return jobs


def job_dispatch_due(*, job: Job) -> str:
    """Hand one claimed job to its next step. Returns what was done, for the poller's log."""
    with job_log_context(job=job):
        return _dispatch_step(job)


def _dispatch_step(job: Job) -> str:
    if job_deadline_cancel(job):
        return "deadline"
    if job.status == JobStatus.QUEUED:
        if job_start_blocker(job=job):  # no task while the team's cap or the provider account is full
            job_fields_set(job, next_attempt_at=timezone.now() + CAPACITY_RETRY)
            return "wait"
        enqueue_on_commit("jobs.tasks.job_submit_task", str(job.id))
        return "submit"
    if job.status == JobStatus.SUBMITTING:
        # Its worker's lease lapsed (the worker died) or its wait for the provider's report ended.
        return submit_reclaim(job)
    if job.status == JobStatus.FINALIZING:
        enqueue_on_commit("jobs.tasks.job_finalize_task", str(job.id))
        return "finalize"
    job_poll(job_id=str(job.id))
    return "poll"
