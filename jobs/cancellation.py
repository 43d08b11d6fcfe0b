"""Canceling a job on our side at once, the one way both a person's cancel and a deadline take."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from .models import Job, JobStatus
from .queue import enqueue_on_commit
from .transitions import job_transition


def job_cancel_now(job: Job, *, message: str, **fields: Any) -> bool:
    """Cancel ``job`` (queued, submitting or running) with a compare-and-set, retried while another
    step moves it. The transition releases its budget reservation (a canceled job is never
    charged); if the provider may have its task, ``job_provider_cancel_task`` asks it to stop.
    Returns whether this call canceled it: False once the job is final or finalizing (its video is
    being delivered and can no longer be stopped)."""
    while not job.is_final:
        was = job.status
        if was == JobStatus.FINALIZING:
            return False
        if job_transition(job=job, to=JobStatus.CANCELED, message=message, cancel_requested_at=timezone.now(),
                          **fields):
            if was in (JobStatus.SUBMITTING, JobStatus.RUNNING):
                enqueue_on_commit("jobs.tasks.job_provider_cancel_task", str(job.id))
            return True
        job.refresh_from_db()
    return False
