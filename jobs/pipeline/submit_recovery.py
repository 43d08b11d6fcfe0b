"""A submit whose fate is unknown: waiting for the provider's report, adopting the task it reports,
sending again, and recording a provider task we may pay for twice.

A submit's answer can be lost after the provider accepted the task (our read timed out, or the
worker died while sending). Sending again at once would start a second task that we pay for. So:

- WaveSpeed and fal call the webhook URL we send with each submit, and that URL names our job
  (``provider_inputs.webhook_url_for``). The job waits in ``submitting`` up to
  ``JOB_SUBMIT_REPORT_WAIT_S`` for that report; a task it reports is adopted as the job's own.
  Only when nothing reports in that time is the job sent again; a first task that reports after
  that is recorded on the job as a provider cost (``provider_duplicates``) and stopped where the
  provider can stop it.
- DashScope sends no webhooks, so nothing can tell: the job is sent again at once and the possible
  duplicate is recorded the same way, for the operator to see.

The tenant is charged once either way: only the delivered video is metered."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from providers.catalogue import catalogue_get
from providers.clients.base import ProviderClient
from providers.clients.errors import ProviderError
from providers.clients.results import WebhookEvent
from providers.registry import hosted_provider_names

from ..models import Job, JobStatus
from ..queue import enqueue_on_commit
from ..transitions import job_note, job_transition
from .lease import lease_until
from .outcomes import job_fail, job_fields_set
from .progress import job_apply_result, poll_delay

log = logging.getLogger(__name__)

AWAITING_REPORT = "awaiting the provider's report"


def _reports_its_tasks(job: Job) -> bool:
    """Whether a task of this job's model calls back with our job's webhook URL."""
    return catalogue_get(model_id=job.model_id).capabilities.webhook


def _runs_remote_tasks(job: Job) -> bool:
    """Whether a submit creates a task at a provider (the local renderer's die with its worker)."""
    return job.provider in hosted_provider_names()


def submit_outcome_unknown(job: Job, *, reason: str) -> None:
    """The submit was sent but its answer is lost: the provider may or may not have the task."""
    if job.status != JobStatus.SUBMITTING:
        return
    if not _runs_remote_tasks(job):
        submit_again(job, message=f"The worker rendering this job was lost ({reason}); rendering it again.")
        return
    if _reports_its_tasks(job):
        wait = settings.JOB_SUBMIT_REPORT_WAIT_S
        now = timezone.now()
        if job_fields_set(job, submit_unknown_since=now, provider_status=AWAITING_REPORT,
                          next_attempt_at=now + timedelta(seconds=wait)):
            job_note(job=job, message=f"The provider's answer to the submit was lost ({reason}). It may have "
                                      f"accepted the task, so we wait up to {wait:g} s for it to report rather "
                                      "than start a second one.", data={"submit_outcome": "unknown"})
        return
    submit_again(job, duplicate=True, message=f"The provider's answer to the submit was lost ({reason}) and it "
                                              "cannot report the task it may have accepted; sending the job again. "
                                              "A possible duplicate task is recorded as a provider cost (you are "
                                              "charged once).")


def submit_again(job: Job, *, message: str, duplicate: bool = False) -> bool:
    """Back to ``queued`` for another submit, as an attempt: a submit that keeps failing this way
    fails the job (uncharged) instead of holding a provider slot forever."""
    attempts = job.attempts + 1
    if attempts >= settings.JOB_MAX_ATTEMPTS:
        return job_fail(job, code="internal_error",
                        message=f"The job could not be submitted after {attempts} attempts; it is not charged.")
    if duplicate:
        log.warning("job %s: possible duplicate provider task at %s (submit outcome unknown)", job.id, job.provider)
    won = job_transition(
        job=job, to=JobStatus.QUEUED, message=message, data={"possible_duplicate": True} if duplicate else None,
        attempts=attempts, next_attempt_at=lease_until(), submit_sent_at=None, submit_unknown_since=None,
        provider_status="", provider_duplicates=job.provider_duplicates + (1 if duplicate else 0),
    )
    if won:
        enqueue_on_commit("jobs.tasks.job_submit_task", str(job.id))
    return won


def submit_reclaim(job: Job) -> str:
    """A ``submitting`` job whose lease lapsed (its worker died) or whose wait for a report ended.
    Returns what was done, for the poller's log."""
    if job.submit_unknown_since is not None:
        wait = settings.JOB_SUBMIT_REPORT_WAIT_S
        submit_again(job, message=f"The provider reported no task for this job within {wait:g} s, so it did not "
                                  "take the first submit; sending again. Should that task still report, it is "
                                  "recorded and stopped.")
        return "resubmit"
    if job.submit_sent_at is None:
        submit_again(job, message="The submitting worker was lost before it sent the job; submitting again.")
        return "resubmit"
    submit_outcome_unknown(job, reason="the submitting worker was lost while sending it")
    return "await-report" if job.submit_unknown_since is not None else "resubmit"


def provider_task_reported(job: Job, *, event: WebhookEvent, client: ProviderClient) -> None:
    """A verified webhook addressed to ``job`` (its URL names the job): the task it reports is the
    job's own, a task of a lost submit to adopt, or a duplicate to record and stop."""
    if event.request_id == job.provider_request_id:
        if job.status == JobStatus.RUNNING:
            job_apply_result(job=job, result=event.result, source="webhook")
        return
    if job.status == JobStatus.QUEUED and not job.provider_request_id:
        # Sent again already, but the first task reported before the new submit went out: adopt it.
        if not job_transition(job=job, to=JobStatus.SUBMITTING, message="The provider reported the task of an "
                              "earlier submit; taking it instead of sending the job again.",
                              next_attempt_at=lease_until()):
            job.refresh_from_db()
    if job.status == JobStatus.SUBMITTING and not job.provider_request_id:
        entry = catalogue_get(model_id=job.model_id)
        if job_transition(
            job=job, to=JobStatus.RUNNING, data={"request_id": event.request_id, "adopted": True},
            message=f"The provider reported the task of the submit whose answer was lost ({event.request_id}); "
                    "following it.",
            provider_request_id=event.request_id,
            provider_handle=client.handle_for(model_path=entry.provider_model, request_id=event.request_id),
            attempts=0, submit_unknown_since=None, provider_status="",
            next_attempt_at=timezone.now() + poll_delay(job),
        ):
            job_apply_result(job=job, result=event.result, source="webhook")
            return
        job.refresh_from_db()
        if event.request_id == job.provider_request_id:
            return
    provider_task_duplicate(job, request_id=event.request_id, client=client, final=event.result.is_final)


def provider_task_duplicate(job: Job, *, request_id: str, client: ProviderClient, final: bool) -> None:
    """Record a provider task of ``job`` that is not the one it follows (we may pay for it), once
    per task, and ask the provider to stop it if it still runs and can be stopped."""
    if job.events.filter(data__duplicate_request_id=request_id).exists():
        return
    Job.objects.filter(pk=job.pk).update(provider_duplicates=F("provider_duplicates") + 1)
    log.warning("job %s: duplicate provider task %s at %s", job.id, request_id, job.provider)
    stopped = ""
    entry = catalogue_get(model_id=job.model_id)
    if not final and entry.capabilities.cancel:
        try:
            client.cancel(handle=client.handle_for(model_path=entry.provider_model, request_id=request_id))
            stopped = " It was asked to stop."
        except ProviderError as exc:
            stopped = f" It could not be stopped: {exc.message}"
    job_note(job=job, message=f"The provider ran a second task for this job ({request_id}), from a submit whose "
                              f"answer was lost. It is recorded as a provider cost; you are charged once.{stopped}",
             data={"duplicate_request_id": request_id, "provider_cost": True})
