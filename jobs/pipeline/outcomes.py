"""How a pipeline step ends when the job does not advance: failed with a code, retried after a
backoff, or its bookkeeping fields updated, each under the job's compare-and-set."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from providers.clients.errors import ProviderError, ProviderRateLimited, ProviderUnavailable

from ..models import Job, JobStatus
from ..transitions import job_note, job_transition

# The job's message when a provider refuses our own key (a 401/403 on submit or poll).
CREDENTIALS_REFUSED = "The provider refused the platform's credentials; the operator has been told. ({})"


def retry_delay(attempts: int, error: ProviderError | None = None) -> timedelta:
    """How long to wait before attempt ``attempts + 1``: what a 429 asked for, else a jittered
    exponential backoff capped at 5 minutes."""
    if isinstance(error, ProviderRateLimited) and error.retry_after is not None:
        return timedelta(seconds=max(settings.JOB_RETRY_BASE_S, error.retry_after))
    base = min(300.0, settings.JOB_RETRY_BASE_S * (2 ** max(0, attempts - 1)))
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


def job_fields_set(job: Job, **fields: Any) -> bool:
    """Write non-status fields, only if the job is still in the status we read."""
    won = Job.objects.filter(pk=job.pk, status=job.status).update(**fields, updated_at=timezone.now()) == 1
    if won:
        for key, value in fields.items():
            setattr(job, key, value)
    return won


def job_fail(job: Job, *, code: str, message: str, data: dict[str, Any] | None = None) -> bool:
    """Move the job to failed with an error code and the message its owner reads."""
    return job_transition(job=job, to=JobStatus.FAILED, message=message, data=data or {},
                          error_code=code, error_message=message)


def job_retry_or_fail(job: Job, exc: ProviderUnavailable, *, back_to: str | None, step: str,
                      max_attempts: int | None = None, **fields: Any) -> None:
    """Count a transient failure of ``step``: fail the job once the attempts are spent, else
    schedule the next attempt (moving it ``back_to`` a status, or staying where it is); ``fields``
    are written with it."""
    attempts = job.attempts + 1
    if attempts >= (max_attempts or settings.JOB_MAX_ATTEMPTS):
        job_fail(job, code="provider_unavailable",
                 message=f"The provider could not be reached after {attempts} attempt{'s' if attempts > 1 else ''} "
                         f"to {step}: {exc.message}")
        return
    delay = retry_delay(attempts, exc)
    message = f"The provider is unavailable ({exc.message}); trying to {step} again in {delay.total_seconds():.0f} s."
    when = timezone.now() + delay
    if back_to is not None:
        job_transition(job=job, to=back_to, message=message, attempts=attempts, next_attempt_at=when, **fields)
    else:
        job_fields_set(job, attempts=attempts, next_attempt_at=when, **fields)
        job_note(job=job, message=message)
