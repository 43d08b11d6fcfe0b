"""Assets and jobs as users change them: upload, delete, create, cancel."""

from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import Role, Tenant
from billing.pricing import price_for_tenant
from billing.stripe_access import stripe_live_jobs_check
from config.errors import Conflict
from providers.catalogue import UnknownModel, catalogue_get
from providers.media import MediaError, sniff_and_probe
from providers.registry import provider_is_emulated

from .models import ACTIVE_STATUSES, Asset, Job, JobStatus
from .queue import enqueue_on_commit
from .transitions import job_note, job_transition
from .validation import job_input_validate

# A queued job the broker lost (a crash between commit and enqueue) is picked up by the poller's
# sweep after this long.
QUEUED_SWEEP_AFTER = timedelta(seconds=30)


def _human_bytes(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


def asset_create(*, tenant: Tenant, actor: Actor, upload: UploadedFile | None) -> Asset:
    """Store an uploaded file as an asset after reading what it really is (never its name)."""
    actor.require(Role.MEMBER)
    if upload is None:
        raise ValidationError({"file": ["No file was sent. Send it as the multipart field 'file'."]})
    largest = max(settings.ASSET_MAX_BYTES.values())
    if upload.size is not None and upload.size > largest:
        raise ValidationError(
            {"file": [f"The file is {_human_bytes(upload.size)}; the limit is {_human_bytes(largest)}."]}
        )
    if not upload.size:
        raise ValidationError({"file": ["The file is empty."]})

    with tempfile.TemporaryDirectory(prefix="parley-upload-") as tmp:
        path = os.path.join(tmp, "upload")
        digest = hashlib.sha256()
        with open(path, "wb") as out:
            for chunk in upload.chunks():
                digest.update(chunk)
                out.write(chunk)
        try:
            info = sniff_and_probe(path)
        except MediaError as exc:
            raise ValidationError({"file": [str(exc)]}) from exc
        limit = settings.ASSET_MAX_BYTES[info.kind]
        size = os.path.getsize(path)
        if size > limit:
            raise ValidationError({"file": [
                f"This {info.kind} is {_human_bytes(size)}; the limit for {info.kind} files is {_human_bytes(limit)}."
            ]})
        asset = Asset(
            tenant=tenant, kind=info.kind, original_name=(upload.name or "").replace("\x00", "")[:255],
            extension=info.extension,
            content_type=info.content_type, size_bytes=size, sha256=digest.hexdigest(), width=info.width,
            height=info.height, duration_s=info.duration_s, created_by=actor.user,
        )
        with open(path, "rb") as fh:
            asset.file.save(f"{asset.id}{info.extension}", File(fh), save=False)
    try:
        asset.full_clean(exclude=["file"])
        asset.save(force_insert=True)
    except Exception:
        asset.file.delete(save=False)  # nothing half-written: no file without its row
        raise
    return asset


def asset_delete(*, tenant: Tenant, actor: Actor, asset_id: str) -> None:
    actor.require(Role.MEMBER)
    asset = Asset.objects.for_tenant(tenant).get(pk=asset_id)
    if asset.jobs.filter(status__in=ACTIVE_STATUSES).exists():
        raise Conflict("This asset is used by a job that has not finished yet; delete it once the job is done.",
                       code="asset_in_use")
    name = asset.file.name
    storage = asset.file.storage
    asset.delete()
    transaction.on_commit(lambda: storage.delete(name))


@transaction.atomic
def job_create(*, tenant: Tenant, actor: Actor, model_id: str | None, inputs: object) -> Job:
    """Validate, quote and queue a job; the worker takes it from there."""
    actor.require(Role.MEMBER)
    if not model_id:
        raise ValidationError({"model": ["This field is required. See GET /api/v1/models for the ids."]})
    try:
        entry = catalogue_get(model_id=model_id)
    except UnknownModel:
        raise ValidationError({"model": [f"Unknown model {model_id!r}. See GET /api/v1/models for the ids."]}) from None
    checked = job_input_validate(entry=entry, tenant=tenant, raw_input=inputs)
    stripe_live_jobs_check(tenant=tenant, livemode=actor.livemode)  # PaymentRequired (402) while past due
    quote = price_for_tenant(
        rule=entry.pricing, inputs=checked.input, seconds=checked.duration_s,
        price_multiplier=tenant.price_multiplier, input_video_seconds=checked.input_video_s,
    )
    job = Job(
        tenant=tenant, model_id=entry.id, provider=entry.provider, input=checked.input, livemode=actor.livemode,
        created_by=actor.user, api_key=actor.api_key, quote_seconds=checked.duration_s,
        quote_amount=quote.amount, quote_currency=quote.currency,
        emulated=provider_is_emulated(entry.provider, livemode=actor.livemode),
        next_attempt_at=timezone.now() + QUEUED_SWEEP_AFTER,
    )
    job.full_clean()
    job.save(force_insert=True)
    job.assets.set({a.pk for a in checked.assets_by_path.values()})
    job_note(job=job, message=f"Created by {actor.label}; quoted {quote.amount} {quote.currency.upper()} "
                              f"for {checked.duration_s} s.", data={"quote": quote.as_dict()})
    enqueue_on_commit("jobs.tasks.job_submit_task", str(job.id))
    return job


def job_cancel(*, tenant: Tenant, actor: Actor, job_id: str, livemode: bool | None = None) -> Job:
    """Cancel at once on our side (a canceled job is never charged); the provider is asked to
    stop too, as a best effort, by a task. ``livemode`` scopes it to one mode, as an API key is."""
    actor.require(Role.MEMBER)
    jobs = Job.objects.for_tenant(tenant)
    job = (jobs if livemode is None else jobs.filter(livemode=livemode)).get(pk=job_id)
    while not job.is_final:
        was = job.status
        if was == JobStatus.FINALIZING:
            raise Conflict("This job's video is already being delivered; it can no longer be canceled.",
                           code="job_not_cancelable")
        if job_transition(job=job, to=JobStatus.CANCELED, message=f"Canceled by {actor.label}.",
                          cancel_requested_at=timezone.now()):
            if was in (JobStatus.SUBMITTING, JobStatus.RUNNING):
                enqueue_on_commit("jobs.tasks.job_provider_cancel_task", str(job.id))
            return job
        job.refresh_from_db()
    if job.status != JobStatus.CANCELED:
        raise Conflict(f"This job has already {job.status}; only unfinished jobs can be canceled.",
                       code="job_not_cancelable")
    return job
