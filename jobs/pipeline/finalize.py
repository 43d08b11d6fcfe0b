"""Finalizing a job: finalizing → succeeded. The provider's video is stored and probed, and the
job is metered atomically with its success (one usage record, however often this runs)."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from urllib.parse import unquote, urlparse

import httpx
from django.conf import settings
from django.core.files import File
from django.db import transaction

from billing.provider_reconcile import provider_duration_reconcile
from billing.services import usage_record_create
from providers.catalogue import catalogue_get
from providers.clients.errors import ProviderRejected, ProviderUnavailable
from providers.media import MediaError, probe_video

from ..models import Job, JobStatus
from ..transitions import job_note, job_transition
from ..validation import assets_by_path, input_video_seconds
from .lease import job_lease_kept, lease_until
from .outcomes import job_fail, job_fields_set, job_retry_or_fail
from .output_download import output_download

log = logging.getLogger(__name__)

def job_finalize(*, job_id: str) -> None:
    """Download the video into our storage, probe it, and meter it, atomically with success."""
    job = Job.objects.select_related("tenant").get(pk=job_id)
    if job.status != JobStatus.FINALIZING or not job_fields_set(job, next_attempt_at=lease_until()):
        return
    try:
        with job_lease_kept(job):
            _finalize(job)
    except Exception as exc:  # a bug or an outage of our own: retried as DB state, then failed, never stuck
        log.exception("job %s: unexpected error while finalizing", job.id)
        job.refresh_from_db()
        if job.status == JobStatus.FINALIZING:
            job_retry_or_fail(job, ProviderUnavailable(f"internal error: {exc.__class__.__name__}"), back_to=None,
                              step="deliver the video", max_attempts=settings.JOB_FINALIZE_MAX_ATTEMPTS)


def _finalize(job: Job) -> None:
    workdir = tempfile.mkdtemp(prefix="parley-final-")
    try:
        path = os.path.join(workdir, "output.mp4")
        try:
            output_download(job.result_url, path, local=job.provider == "local", emulated=job.emulated)
        except (httpx.HTTPError, ProviderUnavailable) as exc:
            job_retry_or_fail(job, exc if isinstance(exc, ProviderUnavailable) else ProviderUnavailable(str(exc)),
                              back_to=None, step="download the video",
                              max_attempts=settings.JOB_FINALIZE_MAX_ATTEMPTS)
            return
        except ProviderRejected as exc:
            job_fail(job, code="output_unavailable", message=f"Could not download the video: {exc.message}.",
                     data={"reason": exc.code} if exc.code else None)
            return
        try:
            info = probe_video(path)
        except MediaError as exc:
            job_fail(job, code="output_invalid",
                     message=f"The provider delivered a file that is not a valid video: {exc}")
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
                    input_video_seconds=input_video_s, api_key_id=job.api_key_id,
                )
                job_note(job=job, message=f"Metered {record.amount} {record.currency.upper()} for "
                                          f"{record.billable_seconds} billable s.",
                         data={"usage_record": record.pk, "amount": str(record.amount)})
                provider_duration_reconcile(tenant=job.tenant, job_id=job.id, model_id=job.model_id,
                                            ours=info.duration_s, theirs=job.provider_reported_seconds)
        if not won:
            job.output.storage.delete(stored_name)
        elif job.provider == "local":  # the render is safely stored and metered: drop the worker's copy
            shutil.rmtree(os.path.dirname(unquote(urlparse(job.result_url).path)), ignore_errors=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
