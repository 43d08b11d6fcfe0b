"""A running job's progress, learnt by poll, by webhook or from a submit that finished at once:
where a job goes from running to finalizing (or to failed or canceled)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from providers.catalogue import UnknownModel, catalogue_get
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
from .render_times import RenderHistory, render_history

log = logging.getLogger(__name__)


STUCK_AFTER_LATE = 2.0  # a render past this many times its model's slowest tenth is stuck


def poll_delay(job: Job) -> timedelta:
    """Poll often at first, then back off: about a tenth of the time the job has run. A model
    without webhooks is polled every ``JOB_POLL_NEAR_INTERVAL_S`` from ``JOB_POLL_NEAR_FRACTION`` of
    its median render time on (easing off again once stuck: twice its slowest renders), so that its end is seen within
    seconds rather than half a back-off interval later."""
    started = job.started_at or job.created_at
    elapsed = (timezone.now() - started).total_seconds()
    seconds = min(settings.JOB_POLL_MAX_INTERVAL_S, max(settings.JOB_POLL_INTERVAL_S, elapsed / 10))
    history = _history_without_webhooks(job)
    if history:
        expected = history.median
        # From 70 % of the median on, or from the fastest tenth of its renders if they come earlier.
        near = min(expected * settings.JOB_POLL_NEAR_FRACTION, history.early)
        if elapsed < near:  # land on the window's start, not up to one back-off interval past it
            seconds = min(seconds, max(settings.JOB_POLL_NEAR_INTERVAL_S, near - elapsed))
        else:
            # Easing off only once twice as long as its slowest tenth of renders (a stuck render):
            # the history is of renders that have ended, so while many run at once it holds the
            # fastest, and easing off at its slowest tenth let the slow half wait 10 s and more.
            overdue = max(0.0, elapsed - STUCK_AFTER_LATE * history.late)
            seconds = min(seconds, settings.JOB_POLL_NEAR_INTERVAL_S + overdue / 10)
    return timedelta(seconds=seconds)


def _history_without_webhooks(job: Job) -> RenderHistory | None:
    """The model's render times when only polling can see it end; None otherwise."""
    try:
        if catalogue_get(model_id=job.model_id).capabilities.webhook:
            return None
    except UnknownModel:
        return None
    return render_history(job.model_id)


def job_poll(*, job_id: str) -> None:
    """Ask the provider how a running job is doing and apply the answer, scheduling the next poll
    in the database; fail it past the running timeout. (The poller command holds its running jobs
    in memory instead: ``job_poll_held``.)"""
    job = Job.objects.get(pk=job_id)
    if job.status != JobStatus.RUNNING or job_deadline_cancel(job) or _timed_out(job):
        return
    with job_client(job) as client:
        try:
            result = client.poll(handle=job.provider_handle)
        except Exception as exc:
            _poll_failed(job, exc)
            return
    job_apply_result(job=job, result=result, source="poll")


def job_poll_held(job: Job) -> float | None:
    """Poll a running job the poller holds in memory (``job`` as it was claimed, not read again:
    every write below is guarded by its status). Returns the seconds until its next poll, or None
    once it left ``running``. A poll that learnt nothing writes nothing: the next poll time stays
    in the poller's memory, and its hold on the job is renewed in batches (``poll_holds.py``)."""
    if _timed_out(job):
        return None
    with job_client(job) as client:
        try:
            result = client.poll(handle=job.provider_handle)
        except Exception as exc:
            return _held_poll_failed(job, exc)
    if result.is_final:
        job_apply_result(job=job, result=result, source="poll")
        return None
    if not job_progress_record(job, result, next_attempt_at=None):
        return None
    return poll_delay(job).total_seconds()


def _timed_out(job: Job) -> bool:
    started = job.started_at or job.created_at
    if (timezone.now() - started).total_seconds() <= settings.JOB_RUNNING_TIMEOUT_S:
        return False
    job_fail(job, code="provider_timeout",
             message=f"The provider did not finish within {settings.JOB_RUNNING_TIMEOUT_S // 60} minutes.")
    return True


def _held_poll_failed(job: Job, exc: Exception) -> float | None:
    """``_poll_failed`` for a held job: the attempt count is written (it survives the poller),
    the retry time stays in memory."""
    unavailable = isinstance(exc, ProviderUnavailable)
    if not unavailable and isinstance(exc, ProviderAuthError | ProviderRejected):
        _poll_failed(job, exc)
        return None
    if not unavailable:
        log.exception("job %s: unexpected error while polling", job.id)
    reason = str(exc) if unavailable else f"internal error: {exc.__class__.__name__}"
    attempts = job.attempts + 1
    if attempts == 1:
        job_note(job=job, message=f"Could not check the job at the provider ({reason}); trying again.",
                 data={"poll_error": reason})
    if not job_fields_set(job, attempts=attempts):
        return None
    return retry_delay(attempts, exc if isinstance(exc, ProviderError) else None).total_seconds()


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


# How we learnt what the provider did, in the timeline's words (never "poll" or "webhook").
_HOW_WE_LEARNT = {"poll": " (seen when we checked)", "webhook": " (the provider told us)",
                  "submit": " (as soon as it was sent)"}


def job_apply_result(*, job: Job, result: PollResult, source: str) -> None:
    """Apply what the provider said (by poll, webhook or submit) to a running job. Past its
    deadline the job is canceled instead, even if the provider reports it done: it did not finish
    by then."""
    if job.status != JobStatus.RUNNING or job_deadline_cancel(job):
        return
    learnt = _HOW_WE_LEARNT.get(source, "")
    if result.state == "succeeded":
        if job_transition(job=job, to=JobStatus.FINALIZING, message=f"The provider finished the video{learnt}.",
                          result_url=result.video_url or "", attempts=0, progress=1.0,
                          provider_reported_seconds=result.provider_seconds, next_attempt_at=lease_until(),
                          provider_finished_at=timezone.now()):
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
        job_transition(job=job, to=JobStatus.CANCELED, message=f"The provider canceled the job{learnt}.")
    else:
        # A webhook never moves the schedule: whoever polls the job (a poller's hold, or the
        # database's next_attempt_at) keeps it.
        job_progress_record(job, result, next_attempt_at=timezone.now() + poll_delay(job) if source == "poll" else None)


def job_progress_record(job: Job, result: PollResult, *, next_attempt_at: object) -> bool:
    """Record a running job's progress, writing only what changed (nothing at all when nothing
    did and ``next_attempt_at`` is None). False once the job is no longer running."""
    changed: dict[str, object] = {}
    if job.provider_status != result.state:
        changed["provider_status"] = result.state
    if job.attempts:
        changed["attempts"] = 0
    if result.progress is not None and result.progress != job.progress:
        changed["progress"] = result.progress
    if (result.queue_position is not None or result.state != "queued") and result.queue_position != job.queue_position:
        changed["queue_position"] = result.queue_position
    if next_attempt_at is not None:
        changed["next_attempt_at"] = next_attempt_at
    if job.provider_status != result.state:
        job_note(job=job, message=f"The provider reports: {result.state}.",
                 data={"queue_position": result.queue_position, "logs": list(result.logs[-5:])})
    if not changed:
        return True
    return job_fields_set(job, **changed)
