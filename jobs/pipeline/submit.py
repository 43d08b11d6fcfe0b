"""Submitting a job: queued → submitting → running, and what each submit error does to the job."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from providers.catalogue import catalogue_get
from providers.catalogue.entry import ModelEntry
from providers.clients.base import ProviderClient
from providers.clients.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    SubmitOutcomeUnknown,
)
from providers.clients.results import Submission

from ..models import Asset, Job, JobStatus
from ..transitions import job_note, job_transition
from .capacity import job_hold_back, job_start_blocker
from .deadline import job_deadline_cancel
from .lease import job_lease_kept, lease_until
from .outcomes import CREDENTIALS_REFUSED, job_fail, job_fields_set, job_retry_or_fail, retry_delay
from .progress import job_apply_result, poll_delay
from .provider_client import job_client
from .provider_inputs import resolved_inputs, webhook_url_for
from .submit_recovery import provider_task_duplicate, submit_outcome_unknown

log = logging.getLogger(__name__)

INTERNAL_ERROR = ("An internal error stopped this job before the provider accepted it; the operators have been "
                  "told. It is not charged.")


def job_submit(*, job_id: str) -> None:
    """Send a queued job to its provider once a slot is free; the job runs when the provider
    accepts it. Waits (uncharged) while the account is full, up to the queue timeout."""
    job = Job.objects.select_related("tenant").get(pk=job_id)
    if job.status != JobStatus.QUEUED or job_deadline_cancel(job):
        return
    blocker = job_start_blocker(job=job)
    waited = (timezone.now() - job.created_at).total_seconds()
    if blocker != "tenant" and waited > settings.JOB_QUEUED_TIMEOUT_S:  # the team's own cap never fails a job
        hours = settings.JOB_QUEUED_TIMEOUT_S / 3600
        job_fail(job, code="provider_capacity",
                 message=f"The provider had no room for this job for {hours:g} h; it is not charged.")
        return
    if blocker is not None:
        job_hold_back(job, blocker=blocker)
        return
    if not job_transition(job=job, to=JobStatus.SUBMITTING, message="Sending to the provider.",
                          next_attempt_at=lease_until(), provider_status="", submit_sent_at=None,
                          submit_unknown_since=None):
        return
    try:
        entry = catalogue_get(model_id=job.model_id)
        inputs = resolved_inputs(job=job)
        client = job_client(job)
    except Exception as exc:
        _submit_failed(job, exc, stage="preparing the submit")
        return
    with client:
        # Written before sending: a worker lost before this line sent nothing and is simply resent;
        # one lost after it may have created a task (submit_recovery.py).
        if not job_fields_set(job, submit_sent_at=timezone.now(), next_attempt_at=lease_until()):
            return
        try:
            with job_lease_kept(job):
                submission = client.submit(model_path=entry.provider_model, inputs=inputs,
                                           webhook_url=webhook_url_for(job))
        except Exception as exc:
            _submit_failed(job, exc, stage="during submit")
            return
        won = job_transition(
            job=job, to=JobStatus.RUNNING, message=f"Accepted by {job.provider} as {submission.request_id}.",
            data={"request_id": submission.request_id}, provider_request_id=submission.request_id,
            provider_handle=submission.handle, attempts=0, next_attempt_at=timezone.now() + poll_delay(job),
        )
        if not won:
            _stop_unwanted_task(job, client=client, entry=entry, submission=submission)
            return
    if submission.result is not None:
        job_apply_result(job=job, result=submission.result, source="submit")


def _submit_failed(job: Job, exc: Exception, *, stage: str) -> None:
    """What a submit that raised does to the job: the one place submit errors become an error
    code and message (failed) or a later attempt (queued again)."""
    match exc:
        case SubmitOutcomeUnknown():
            submit_outcome_unknown(job, reason=exc.message)
        case ProviderRateLimited():
            # The provider is busy, not broken: wait as long as it asks, without spending the job's
            # failure budget (the queue timeout bounds the wait).
            delay = retry_delay(1, exc)
            job_transition(job=job, to=JobStatus.QUEUED, next_attempt_at=timezone.now() + delay, submit_sent_at=None,
                           message=f"The provider is busy (429); submitting again in {delay.total_seconds():.0f} s.")
        case ProviderUnavailable():
            job_retry_or_fail(job, exc, back_to=JobStatus.QUEUED, step="send the job", submit_sent_at=None)
        case ProviderAuthError():
            log.error("provider %s refused our credentials: %s", job.provider, exc)
            job_fail(job, code="provider_auth", message=CREDENTIALS_REFUSED.format(exc.message))
        case ProviderRejected():
            job_fail(job, code="provider_rejected", message=f"The provider rejected the input: {exc.message}",
                     data={"fields": exc.fields})
        case Asset.DoesNotExist():
            job_fail(job, code="asset_missing", message=f"An input asset was deleted before the job started ({exc}).")
        case _:
            log.exception("job %s: unexpected error %s", job.id, stage)
            job_fail(job, code="internal_error", message=INTERNAL_ERROR)


def _stop_unwanted_task(job: Job, *, client: ProviderClient, entry: ModelEntry, submission: Submission) -> None:
    """The job moved on while we were submitting: canceled (the provider has a task nobody wants:
    ask it to stop), or following a task of an earlier submit that reported itself (this one is a
    duplicate: recorded and stopped)."""
    job.refresh_from_db()
    if job.provider_request_id and job.provider_request_id != submission.request_id:
        provider_task_duplicate(job, request_id=submission.request_id, client=client,
                                final=submission.result is not None)
        return
    if job.status != JobStatus.CANCELED or not entry.capabilities.cancel or submission.result is not None:
        return
    try:
        client.cancel(handle=submission.handle)
        job_note(job=job, message="Asked the provider to stop the task it had just accepted.",
                 data={"request_id": submission.request_id})
    except ProviderError as exc:
        job_note(job=job, message=f"The provider could not cancel the task it had just accepted: {exc}",
                 data={"request_id": submission.request_id})
