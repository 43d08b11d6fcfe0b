"""The worker side of a job: submit to the provider, learn its progress (poll or webhook),
download and meter the video. Every step starts with a compare-and-set, so running a step twice,
or a webhook racing a poll, changes nothing the second time.

HTTP is never done inside a transaction; the ORM is never touched by a provider client."""

from __future__ import annotations

import ipaddress
import logging
import os
import random
import shutil
import socket
import tempfile
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlparse

import httpx
from django.conf import settings
from django.core.files import File
from django.db import connection, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from billing.services import usage_record_create
from providers.catalogue import catalogue_get
from providers.clients.base import (
    PollResult,
    ProviderAuthError,
    ProviderClient,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from providers.media import MediaError, probe_video
from providers.registry import client_for

from .models import Asset, Job, JobStatus
from .queue import enqueue_on_commit
from .signed_urls import asset_signed_url
from .transitions import job_note, job_transition
from .validation import assets_by_path, input_video_seconds

log = logging.getLogger(__name__)

# A submit that takes longer than this is presumed lost with its worker: longer than django-q2's
# task timeout (Q_TIMEOUT, after which the worker is killed) so a live submit is never doubled.
SUBMIT_LEASE = timedelta(seconds=settings.Q_CLUSTER["timeout"] + 120)
FINALIZE_LEASE = timedelta(minutes=10)
CAPACITY_RETRY = timedelta(seconds=2)
MAX_OUTPUT_BYTES = 4 * 1024**3


# --- helpers ----------------------------------------------------------------------------------
def _client(job: Job) -> ProviderClient:
    return client_for(job.provider, livemode=job.livemode and not job.emulated)


def _retry_delay(attempts: int, error: ProviderError | None = None) -> timedelta:
    if isinstance(error, ProviderRateLimited) and error.retry_after is not None:
        return timedelta(seconds=max(settings.JOB_RETRY_BASE_S, error.retry_after))
    base = min(300.0, settings.JOB_RETRY_BASE_S * (2 ** max(0, attempts - 1)))
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


def _poll_delay(job: Job) -> timedelta:
    """Poll often at first, then back off: about a tenth of the time the job has run."""
    started = job.started_at or job.created_at
    elapsed = (timezone.now() - started).total_seconds()
    seconds = min(settings.JOB_POLL_MAX_INTERVAL_S, max(settings.JOB_POLL_INTERVAL_S, elapsed / 10))
    return timedelta(seconds=seconds)


def _set_fields(job: Job, **fields: Any) -> bool:
    """Write non-status fields, only if the job is still in the status we read."""
    won = Job.objects.filter(pk=job.pk, status=job.status).update(**fields, updated_at=timezone.now()) == 1
    if won:
        for key, value in fields.items():
            setattr(job, key, value)
    return won


def _fail(job: Job, *, code: str, message: str, data: dict[str, Any] | None = None) -> bool:
    return job_transition(job=job, to=JobStatus.FAILED, message=message, data=data or {},
                          error_code=code, error_message=message)


def provider_slot_available(*, job: Job) -> bool:
    """Whether ``job`` may take a slot of its provider account now.

    The account's concurrency cap (a setting) bounds the tasks in flight, so our own backlog never
    becomes a burst of 429s; and the slots are shared fairly: a tenant may take a free slot only if
    no other tenant with jobs waiting for this provider has fewer in flight."""
    cap = settings.PROVIDER_CONCURRENCY.get(job.provider)
    if not cap:
        return True
    same_account = Job.objects.filter(provider=job.provider, emulated=job.emulated)
    in_flight = dict(
        same_account.filter(status__in=[JobStatus.SUBMITTING, JobStatus.RUNNING])
        .values_list("tenant").annotate(n=Count("id")).values_list("tenant", "n")
    )
    if sum(in_flight.values()) >= cap:
        return False
    mine = in_flight.get(job.tenant_id, 0)
    if mine == 0:
        return True
    waiting = same_account.filter(status=JobStatus.QUEUED).exclude(tenant_id=job.tenant_id)
    return not any(in_flight.get(t, 0) < mine for t in waiting.values_list("tenant_id", flat=True).distinct())


def resolved_inputs(*, job: Job) -> dict[str, Any]:
    """The job's input with every asset id replaced by a URL the provider can fetch."""
    entry = catalogue_get(model_id=job.model_id)
    data = {k: (list(v) if isinstance(v, list) else v) for k, v in job.input.items()}
    assets = {str(a.id): a for a in job.assets.all()}

    def url_for(asset_id: str) -> str:
        asset = assets.get(str(asset_id))
        if asset is None:
            raise Asset.DoesNotExist(f"asset {asset_id} no longer exists")
        if job.provider == "local" and settings.STORAGE_BACKEND != "s3":
            return "file://" + asset.file.path
        return asset_signed_url(asset=asset)

    for slot in entry.asset_slots:
        if "[]." in slot.path:
            list_name, key = slot.path.split("[].", 1)
            data[list_name] = [
                {**item, key: url_for(item[key])} if isinstance(item, dict) and item.get(key) else item
                for item in data.get(list_name, [])
            ]
        elif data.get(slot.path):
            data[slot.path] = url_for(data[slot.path])
    return data


def webhook_url_for(job: Job) -> str | None:
    entry = catalogue_get(model_id=job.model_id)
    if not entry.capabilities.webhook:
        return None
    mode = "emulator" if job.emulated else "live"
    return settings.PUBLIC_BASE_URL + reverse("provider-webhook", kwargs={"provider": job.provider, "mode": mode})


# --- submit -----------------------------------------------------------------------------------
def job_submit(*, job_id: str) -> None:
    job = Job.objects.select_related("tenant").get(pk=job_id)
    if job.status != JobStatus.QUEUED:
        return
    waited = (timezone.now() - job.created_at).total_seconds()
    if waited > settings.JOB_QUEUED_TIMEOUT_S:
        hours = settings.JOB_QUEUED_TIMEOUT_S / 3600
        _fail(job, code="provider_capacity",
              message=f"The provider had no room for this job for {hours:g} h; it is not charged.")
        return
    if not provider_slot_available(job=job):
        if job.provider_status != "waiting for capacity":
            job_note(job=job, message="Waiting for a free slot at the provider (its concurrency limit is shared "
                                      "fairly between teams).")
        _set_fields(job, next_attempt_at=timezone.now() + CAPACITY_RETRY, provider_status="waiting for capacity")
        return
    if not job_transition(job=job, to=JobStatus.SUBMITTING, message="Sending to the provider.",
                          next_attempt_at=timezone.now() + SUBMIT_LEASE, provider_status=""):
        return
    try:
        entry = catalogue_get(model_id=job.model_id)
        inputs = resolved_inputs(job=job)
        client = _client(job)
    except Asset.DoesNotExist as exc:
        _fail(job, code="asset_missing", message=f"An input asset was deleted before the job started ({exc}).")
        return
    except Exception:
        log.exception("job %s: unexpected error preparing the submit", job.id)
        _fail(job, code="internal_error", message="An internal error stopped this job before the provider "
                                                  "accepted it; the operators have been told. It is not charged.")
        return
    try:
        submission = client.submit(model_path=entry.provider_model, inputs=inputs, webhook_url=webhook_url_for(job))
    except ProviderRateLimited as exc:
        client.close()
        # The provider is busy, not broken: wait as long as it asks, without spending the job's
        # failure budget (the queue timeout bounds the wait).
        delay = _retry_delay(1, exc)
        job_transition(job=job, to=JobStatus.QUEUED, next_attempt_at=timezone.now() + delay,
                       message=f"The provider is busy (429); submitting again in {delay.total_seconds():.0f} s.")
        return
    except ProviderUnavailable as exc:
        client.close()
        _retry_or_fail(job, exc, back_to=JobStatus.QUEUED, step="submit")
        return
    except ProviderAuthError as exc:
        client.close()
        log.error("provider %s refused our credentials: %s", job.provider, exc)
        _fail(job, code="provider_auth", message=f"The provider refused the platform's credentials; the operator "
                                                 f"has been told. ({exc.message})")
        return
    except ProviderRejected as exc:
        client.close()
        _fail(job, code="provider_rejected", message=f"The provider rejected the input: {exc.message}",
              data={"fields": exc.fields})
        return
    except Exception:
        client.close()
        log.exception("job %s: unexpected error during submit", job.id)
        _fail(job, code="internal_error", message="An internal error stopped this job before the provider "
                                                  "accepted it; the operators have been told. It is not charged.")
        return
    won = job_transition(
        job=job, to=JobStatus.RUNNING, message=f"Accepted by {job.provider} as {submission.request_id}.",
        data={"request_id": submission.request_id}, provider_request_id=submission.request_id,
        provider_handle=submission.handle, attempts=0, next_attempt_at=timezone.now() + _poll_delay(job),
    )
    if not won:
        # Canceled while we were submitting: the provider has a task nobody wants. Ask it to stop.
        job.refresh_from_db()
        if job.status == JobStatus.CANCELED and entry.capabilities.cancel and submission.result is None:
            try:
                client.cancel(handle=submission.handle)
                job_note(job=job, message="Asked the provider to stop the task it had just accepted.")
            except ProviderError as exc:
                job_note(job=job, message=f"The provider could not cancel the task it had just accepted: {exc}")
        client.close()
        return
    client.close()
    if submission.result is not None:
        job_apply_result(job=job, result=submission.result, source="submit")


def _retry_or_fail(job: Job, exc: ProviderUnavailable, *, back_to: str | None, step: str,
                   max_attempts: int | None = None) -> None:
    attempts = job.attempts + 1
    if attempts >= (max_attempts or settings.JOB_MAX_ATTEMPTS):
        _fail(job, code="provider_unavailable",
              message=f"The provider could not be reached after {attempts} attempts to {step}: {exc.message}")
        return
    delay = _retry_delay(attempts, exc)
    message = f"The provider is unavailable ({exc}); retrying the {step} in {delay.total_seconds():.0f} s."
    when = timezone.now() + delay
    if back_to is not None:
        job_transition(job=job, to=back_to, message=message, attempts=attempts, next_attempt_at=when)
    else:
        _set_fields(job, attempts=attempts, next_attempt_at=when)
        job_note(job=job, message=message)


# --- progress: poll and webhook -----------------------------------------------------------------
def job_poll(*, job_id: str) -> None:
    job = Job.objects.get(pk=job_id)
    if job.status != JobStatus.RUNNING:
        return
    started = job.started_at or job.created_at
    if (timezone.now() - started).total_seconds() > settings.JOB_RUNNING_TIMEOUT_S:
        _fail(job, code="provider_timeout",
              message=f"The provider did not finish within {settings.JOB_RUNNING_TIMEOUT_S // 60} minutes.")
        return
    client = _client(job)
    try:
        result = client.poll(handle=job.provider_handle)
    except ProviderUnavailable as exc:
        _poll_later(job, str(exc), error=exc)
        return
    except ProviderAuthError as exc:
        _fail(job, code="provider_auth", message=f"The provider refused the platform's credentials; the operator "
                                                 f"has been told. ({exc.message})")
        return
    except ProviderRejected as exc:
        _fail(job, code="provider_failed", message=f"The provider could not report on the job: {exc.message}")
        return
    except Exception as exc:  # a bug of ours or an answer nobody foresaw: keep trying, never stuck
        log.exception("job %s: unexpected error while polling", job.id)
        _poll_later(job, f"internal error: {exc.__class__.__name__}")
        return
    finally:
        client.close()
    job_apply_result(job=job, result=result, source="poll")


def _poll_later(job: Job, reason: str, *, error: ProviderError | None = None) -> None:
    """The provider could not be asked now. The task may well be rendering fine at the provider,
    so a running job is not failed for this: it is asked again on a backoff (capped at 5 minutes)
    until it answers or the running timeout is reached. The timeline notes the first failure."""
    attempts = job.attempts + 1
    delay = _retry_delay(attempts, error)
    if attempts == 1:
        job_note(job=job, message=f"Could not check the job at the provider ({reason}); trying again.")
    _set_fields(job, attempts=attempts, next_attempt_at=timezone.now() + delay)


def job_apply_result(*, job: Job, result: PollResult, source: str) -> None:
    """Apply what the provider said (by poll, webhook or submit) to a running job."""
    if job.status != JobStatus.RUNNING:
        return
    if result.state == "succeeded":
        if job_transition(job=job, to=JobStatus.FINALIZING, message=f"The provider finished ({source}).",
                          result_url=result.video_url or "", attempts=0, progress=1.0,
                          next_attempt_at=timezone.now() + FINALIZE_LEASE):
            if source == "submit":
                # Finished during the submit (the local renderer): the video is a file on this
                # machine, so it is delivered here and now, not by a task that may run elsewhere.
                job_finalize(job_id=str(job.id))
            else:
                enqueue_on_commit("jobs.tasks.job_finalize_task", str(job.id))
    elif result.state == "failed":
        message = result.error or "The provider failed the job without saying why."
        _fail(job, code=result.error_code or "provider_failed", message=f"The provider failed the job: {message}")
    elif result.state == "canceled":
        job_transition(job=job, to=JobStatus.CANCELED, message=f"The provider canceled the job ({source}).")
    else:
        changed = {"provider_status": result.state, "attempts": 0,
                   "next_attempt_at": timezone.now() + _poll_delay(job)}
        if result.progress is not None:
            changed["progress"] = result.progress
        if result.queue_position is not None or result.state != "queued":
            changed["queue_position"] = result.queue_position
        if job.provider_status != result.state:
            job_note(job=job, message=f"The provider reports: {result.state}.",
                     data={"queue_position": result.queue_position, "logs": list(result.logs[-5:])})
        _set_fields(job, **changed)


def provider_webhook_receive(*, provider: str, mode: str, headers: Mapping[str, str], body: bytes) -> Job | None:
    """Verify a provider's webhook and apply it. Raises WebhookVerificationError when unsigned."""
    if mode not in ("live", "emulator"):
        raise KeyError(mode)
    emulated = mode == "emulator"
    client = client_for(provider, livemode=not emulated)
    try:
        event = client.parse_webhook(headers=headers, body=body)
    finally:
        client.close()
    # A webhook verified with the emulator's keys speaks only for emulated jobs, and a real
    # provider's only for real ones: the emulator's secret must never move a real job.
    job = Job.objects.filter(provider=provider, provider_request_id=event.request_id, emulated=emulated).first()
    if job is None:
        return None  # not ours, or it arrived before our submit recorded the id: polling covers it
    if job.status == JobStatus.RUNNING:
        job_apply_result(job=job, result=event.result, source="webhook")
    return job



# --- finalize -----------------------------------------------------------------------------------
def _output_host_check(*, emulated: bool):  # noqa: ANN202 - an httpx event hook
    """Refuse to fetch an output from our own network: a real provider's video lives on a public
    host; an emulated one only at the emulator. Checked on every request, redirects included."""
    emulator = urlparse(settings.PROVIDER_EMULATOR_URL)

    def check(request: httpx.Request) -> None:
        host, port = request.url.host, request.url.port
        if emulated:
            if (host, port) != (emulator.hostname, emulator.port):
                raise ProviderRejected(f"an emulated job's output must come from the emulator, not {host}")
            return
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)}
        except OSError as exc:
            raise ProviderUnavailable(f"cannot resolve the output host {host}: {exc}") from exc
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if not ip.is_global:
                raise ProviderRejected(f"the provider's output URL points at a non-public address ({host})")

    return check


def _download(url: str, dest: str, *, local: bool, emulated: bool = False) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") and not (local and parsed.scheme == "file"):
        raise ProviderRejected(f"the provider's output URL has an unsupported scheme ({parsed.scheme or 'none'})")
    if parsed.scheme == "file":
        shutil.copyfile(unquote(parsed.path), dest)
        return
    timeout = httpx.Timeout(settings.PROVIDER_READ_TIMEOUT_S * 4, connect=settings.PROVIDER_CONNECT_TIMEOUT_S)
    hooks = {"request": [_output_host_check(emulated=emulated)]}
    with httpx.Client(timeout=timeout, follow_redirects=True, event_hooks=hooks) as http, \
            http.stream("GET", url) as response:
        if response.status_code in (401, 403, 404, 410):
            raise ProviderRejected(
                f"the provider's output URL answered HTTP {response.status_code} (expired or removed)",
                http_status=response.status_code,
            )
        if response.status_code >= 400:
            raise ProviderUnavailable(f"the provider's output URL answered HTTP {response.status_code}",
                                      http_status=response.status_code)
        size = 0
        with open(dest, "wb") as fh:
            for chunk in response.iter_bytes(1024 * 256):
                size += len(chunk)
                if size > MAX_OUTPUT_BYTES:
                    raise ProviderRejected("the provider's output is larger than 4 GB")
                fh.write(chunk)


def job_finalize(*, job_id: str) -> None:
    """Download the video into our storage, probe it, and meter it, atomically with success."""
    job = Job.objects.select_related("tenant").get(pk=job_id)
    if job.status != JobStatus.FINALIZING:
        return
    try:
        _finalize(job)
    except Exception as exc:  # a bug or an outage of our own: retried as DB state, then failed, never stuck
        log.exception("job %s: unexpected error while finalizing", job.id)
        job.refresh_from_db()
        if job.status == JobStatus.FINALIZING:
            _retry_or_fail(job, ProviderUnavailable(f"internal error: {exc.__class__.__name__}"), back_to=None,
                           step="deliver the video", max_attempts=settings.JOB_FINALIZE_MAX_ATTEMPTS)


def _finalize(job: Job) -> None:
    workdir = tempfile.mkdtemp(prefix="parley-final-")
    try:
        path = os.path.join(workdir, "output.mp4")
        try:
            _download(job.result_url, path, local=job.provider == "local", emulated=job.emulated)
        except (httpx.HTTPError, ProviderUnavailable) as exc:
            _retry_or_fail(job, exc if isinstance(exc, ProviderUnavailable) else ProviderUnavailable(str(exc)),
                           back_to=None, step="download the video", max_attempts=settings.JOB_FINALIZE_MAX_ATTEMPTS)
            return
        except ProviderRejected as exc:
            _fail(job, code="output_unavailable", message=f"Could not download the video: {exc.message}.")
            return
        try:
            info = probe_video(path)
        except MediaError as exc:
            _fail(job, code="output_invalid", message=f"The provider delivered a file that is not a valid video: {exc}")
            return
        with open(path, "rb") as fh:
            job.output.save(f"{job.id}.mp4", File(fh), save=False)
        stored_name = job.output.name
        used = assets_by_path(entry=catalogue_get(model_id=job.model_id), data=job.input,
                              assets={str(a.id): a for a in job.assets.all()})
        input_video_s = input_video_seconds(used)
        with transaction.atomic():
            won = job_transition(
                job=job, to=JobStatus.SUCCEEDED, message=f"Delivered: {info.duration_s} s, {info.width}x{info.height}.",
                output=stored_name, output_duration_s=info.duration_s, output_width=info.width,
                output_height=info.height, output_frames=info.frames, output_size_bytes=os.path.getsize(path),
                error_code="", error_message="",
            )
            if won:
                record = usage_record_create(
                    tenant=job.tenant, job_id=job.id, model_id=job.model_id, livemode=job.livemode,
                    inputs=job.input, quote_amount=job.quote_amount, seconds=info.duration_s,
                    input_video_seconds=input_video_s,
                )
                job_note(job=job, message=f"Metered {record.amount} {record.currency.upper()} for "
                                          f"{record.billable_seconds} billable s.",
                         data={"usage_record": record.pk, "amount": str(record.amount)})
        if not won:
            job.output.storage.delete(stored_name)
        elif job.provider == "local":  # the render is safely stored and metered: drop the worker's copy
            shutil.rmtree(os.path.dirname(unquote(urlparse(job.result_url).path)), ignore_errors=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --- cancel at the provider ----------------------------------------------------------------------
def job_provider_cancel(*, job_id: str) -> None:
    job = Job.objects.get(pk=job_id)
    if not job.provider_handle or not catalogue_get(model_id=job.model_id).capabilities.cancel:
        return
    client = _client(job)
    try:
        outcome = client.cancel(handle=job.provider_handle)
        job_note(job=job, message=f"Asked the provider to stop: {outcome.status or 'sent'}.")
    except ProviderError as exc:
        job_note(job=job, message=f"The provider could not cancel: {exc.message}")
    finally:
        client.close()


# --- the poller's claim ----------------------------------------------------------------------------
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
            _set_fields(job, next_attempt_at=timezone.now() + CAPACITY_RETRY)
            return "wait"
        enqueue_on_commit("jobs.tasks.job_submit_task", str(job.id))
        return "submit"
    if job.status == JobStatus.SUBMITTING:
        # Its worker died (or crashed) mid-submit: the provider may or may not have it. Submit
        # again, as an attempt: a submit that keeps dying fails instead of holding a slot forever.
        attempts = job.attempts + 1
        if attempts >= settings.JOB_MAX_ATTEMPTS:
            _fail(job, code="internal_error", message=f"The job could not be submitted after {attempts} attempts "
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
