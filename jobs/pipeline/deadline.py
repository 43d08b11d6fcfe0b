"""Deadlines: a job not finished by its ``cancel_at`` (its ``cancel_after``) is canceled through the
one cancel path (the provider is asked to stop, the budget reservation released, nothing charged).
The poller claims such jobs (``dispatch.jobs_claim_due``) and the submit and poll steps check too."""

from __future__ import annotations

from django.utils import timezone

from ..cancellation import job_cancel_now
from ..models import Job, JobStatus

# A job past its deadline in these states is canceled; a finalizing one is already delivered.
CANCELABLE = (JobStatus.QUEUED, JobStatus.SUBMITTING, JobStatus.RUNNING)


def job_deadline_passed(job: Job) -> bool:
    return job.cancel_at is not None and job.status in CANCELABLE and timezone.now() >= job.cancel_at


def job_deadline_cancel(job: Job) -> bool:
    """Cancel ``job`` if its deadline has passed. Returns whether it did."""
    if not job_deadline_passed(job):
        return False
    seconds = (job.cancel_at - job.created_at).total_seconds()
    message = (f"Canceled: it did not finish within its cancel_after of {seconds:.0f} s (deadline "
               f"{job.cancel_at:%Y-%m-%d %H:%M:%S} UTC). It is not charged.")
    return job_cancel_now(job, message=message, error_code="deadline_exceeded", error_message=message)
