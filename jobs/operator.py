"""What an operator does to a job from the console: look at it again now (a stuck job) and cancel
it. Both go through the same compare-and-set writers as the pipeline, and leave a timeline note."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import Role, User
from config.errors import Conflict

from .models import Job, JobStatus
from .pipeline.outcomes import job_fields_set
from .services import job_cancel
from .transitions import job_note


def _require_operator(operator: User) -> None:
    if not (operator.is_active and operator.is_staff):
        raise PermissionDenied("Only an operator (staff) can retry or cancel another tenant's job.")


def job_retry_now(*, job_id: object, operator: User) -> Job:
    """Make an unfinished job's next step due now (the poller takes it on its next round), with
    its retry count reset. A job a worker holds (submitting or finalizing with a lease still
    running) is refused: doubling a live worker could submit twice. A worker that died lets its
    lease lapse, and then the job can be retried."""
    _require_operator(operator)
    job = Job.objects.get(pk=job_id)
    now = timezone.now()
    if job.is_final:
        raise Conflict(f"This job has already {job.status}; only unfinished jobs can be retried.",
                       code="job_not_retryable")
    held = job.status in (JobStatus.SUBMITTING, JobStatus.FINALIZING)
    if held and job.next_attempt_at is not None and job.next_attempt_at > now:
        raise Conflict(f"A worker holds this job ({job.status}) until {job.next_attempt_at:%H:%M:%S} UTC; "
                       "retry it once that lease has lapsed.", code="job_held_by_worker")
    if not job_fields_set(job, next_attempt_at=now, attempts=0):
        raise Conflict("The job moved on while you looked; reload and try again.", code="job_moved_on")
    job_note(job=job, message=f"Operator {operator.email} asked for the next step now.")
    return job


def job_cancel_by_operator(*, job_id: object, operator: User) -> Job:
    """Cancel a job of any tenant, as the tenant's own cancel does (never charged; the provider is
    asked to stop too); audited in the tenant's log as the operator's."""
    _require_operator(operator)
    job = Job.objects.select_related("tenant").get(pk=job_id)
    actor = Actor(tenant=job.tenant, role=Role.OWNER, user=operator)
    return job_cancel(tenant=job.tenant, actor=actor, job_id=str(job.pk))
