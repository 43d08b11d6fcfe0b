"""A running job's progress, learnt by poll, by webhook or from a submit that finished at once:
where a job goes from running to finalizing (or to failed or canceled)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from providers.clients.errors import ProviderAuthError, ProviderError, ProviderRejected, ProviderUnavailable
from providers.clients.results import PollResult

from ..models import Job, JobStatus
from ..queue import enqueue_on_commit
from ..transitions import job_note, job_transition
from .deadline import job_deadline_cancel
from .finalize import job_finalize
from .lease import lease_until
from .outcomes import CREDENTIALS_REFUSED, job_fail, job_fields_set, retry_delay
from .provider_client import job_client

log = logging.getLogger(__name__)


def poll_delay(job: Job) -> timedelta:
    """Poll often at first, then back off: about a tenth of the time the job has run."""
    started = job.started_at or job.created_at
    elapsed = (timezone.now() - started).total_seconds()
    seconds = min(settings.JOB_POLL_MAX_INTERVAL_S, max(settings.JOB_POLL_INTERVAL_S, elapsed / 10))
    return timedelta(seconds=seconds)


def job_poll(*, job_id: str) -> None:
    """Ask the provider how a running job is doing and apply the answer; fail it past the
    running timeout."""
    job = Job.objects.get(pk=job_id)
    if job.status != JobStatus.RUNNING or job_deadline_cancel(job):
        return
    started = job.started_at or job.created_at
    if (timezone.now() - started).total_seconds() > settings.JOB_RUNNING_TIMEOUT_S:
        job_fail(job, code="provider_timeout",
                 message=f"The provider did not finish within {settings.JOB_RUNNING_TIMEOUT_S // 60} minutes.")
        return
    with job_client(job) as client:
        try:
            result = client.poll(handle=job.provider_handle)
        except Exception as exc:
            _poll_failed(job, exc)
            return
    job_apply_result(job=job, result=result, source="poll")


def _poll_failed(job: Job, exc: Exception) -> None:
    """What a poll that raised does to the job: only a refusal fails it; anything else (an outage,
    a bug of ours, an answer nobody foresaw) is asked again later, so a job is never stuck."""
    match exc:
        case ProviderUnavailable():
            _poll_later(job, str(exc), error=exc)
        case ProviderAuthError():
            job_fail(job, code="provider_auth", message=CREDENTIALS_REFUSED.format(exc.message))
        case ProviderRejected():
            job_fail(job, code="provider_failed", message=f"The provider could not report on the job: {exc.message}")
        case _:
            log.exception("job %s: unexpected error while polling", job.id)
            _poll_later(job, f"internal error: {exc.__class__.__name__}")


def _poll_later(job: Job, reason: str, *, error: ProviderError | None = None) -> None:
    """The provider could not be asked now. The task may well be rendering fine at the provider,
    so a running job is not failed for this: it is asked again on a backoff (capped at 5 minutes)
    until it answers or the running timeout is reached. The timeline notes the first failure."""
    attempts = job.attempts + 1
    delay = retry_delay(attempts, error)
    if attempts == 1:
        job_note(job=job, message=f"Could not check the job at the provider ({reason}); trying again.",
                 data={"poll_error": reason})
    job_fields_set(job, attempts=attempts, next_attempt_at=timezone.now() + delay)


def job_apply_result(*, job: Job, result: PollResult, source: str) -> None:
    """Apply what the provider said (by poll, webhook or submit) to a running job. Past its
    deadline the job is canceled instead, even if the provider reports it done: it did not finish
    by then."""
    if job.status != JobStatus.RUNNING or job_deadline_cancel(job):
        return
    if result.state == "succeeded":
        if job_transition(job=job, to=JobStatus.FINALIZING, message=f"The provider finished ({source}).",
                          result_url=result.video_url or "", attempts=0, progress=1.0,
                          provider_reported_seconds=result.provider_seconds, next_attempt_at=lease_until()):
            if source == "submit":
                # Finished during the submit (the local renderer): the video is a file on this
                # machine, so it is delivered here and now, not by a task that may run elsewhere.
                job_finalize(job_id=str(job.id))
            else:
                enqueue_on_commit("jobs.tasks.job_finalize_task", str(job.id))
    elif result.state == "failed":
        message = result.error or "The provider failed the job without saying why."
        job_fail(job, code=result.error_code or "provider_failed", message=f"The provider failed the job: {message}")
    elif result.state == "canceled":
        job_transition(job=job, to=JobStatus.CANCELED, message=f"The provider canceled the job ({source}).")
    else:
        changed = {"provider_status": result.state, "attempts": 0,
                   "next_attempt_at": timezone.now() + poll_delay(job)}
        if result.progress is not None:
            changed["progress"] = result.progress
        if result.queue_position is not None or result.state != "queued":
            changed["queue_position"] = result.queue_position
        if job.provider_status != result.state:
            job_note(job=job, message=f"The provider reports: {result.state}.",
                     data={"queue_position": result.queue_position, "logs": list(result.logs[-5:])})
        job_fields_set(job, **changed)
