"""The poller's side: claiming the jobs whose next step is due, and handing each to that step."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ..models import Job, JobStatus
from ..queue import enqueue_on_commit
from ..transitions import job_transition
from .capacity import CAPACITY_RETRY, provider_slot_available
from .outcomes import job_fail, job_fields_set
from .progress import job_poll


def jobs_claim_due(*, limit: int, lease: timedelta = timedelta(seconds=60)) -> list[Job]:
    """Claim up to ``limit`` jobs whose next step is due, pushing their next look ``lease`` ahead
    so that other pollers skip them."""
    now = timezone.now()
    with transaction.atomic():
        qs = Job.objects.filter(
            status__in=[JobStatus.QUEUED, JobStatus.SUBMITTING, JobStatus.RUNNING, JobStatus.FINALIZING],
            next_attempt_at__lte=now,
        ).order_by("next_attempt_at")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        jobs = list(qs[:limit])
        if jobs:
            Job.objects.filter(pk__in=[j.pk for j in jobs]).update(next_attempt_at=now + lease)
    return jobs


def job_dispatch_due(*, job: Job) -> str:
    """Hand one claimed job to its next step. Returns what was done, for the poller's log."""
    if job.status == JobStatus.QUEUED:
        if not provider_slot_available(job=job):  # no task while the provider account is full
            job_fields_set(job, next_attempt_at=timezone.now() + CAPACITY_RETRY)
            return "wait"
        enqueue_on_commit("jobs.tasks.job_submit_task", str(job.id))
        return "submit"
    if job.status == JobStatus.SUBMITTING:
        # Its worker died (or crashed) mid-submit: the provider may or may not have it. Submit
        # again, as an attempt: a submit that keeps dying fails instead of holding a slot forever.
        attempts = job.attempts + 1
        if attempts >= settings.JOB_MAX_ATTEMPTS:
            job_fail(job, code="internal_error", message=f"The job could not be submitted after {attempts} attempts "
                                                         "(its worker was lost each time); it is not charged.")
            return "fail"
        if job_transition(job=job, to=JobStatus.QUEUED, attempts=attempts,
                          message="The submitting worker was lost; submitting again."):
            enqueue_on_commit("jobs.tasks.job_submit_task", str(job.id))
        return "resubmit"
    if job.status == JobStatus.FINALIZING:
        enqueue_on_commit("jobs.tasks.job_finalize_task", str(job.id))
        return "finalize"
    job_poll(job_id=str(job.id))
    return "poll"
