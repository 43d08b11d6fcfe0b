"""Assets and jobs as users change them: upload, delete, quote, create, cancel."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor
from accounts.audit import AuditAction, audit_record
from accounts.models import Role, Tenant
from accounts.suspension import tenant_usable_check
from billing.admission import live_job_admission
from billing.pricing import Price, price_for_tenant
from config.batched_insert import insert_together
from config.errors import Conflict
from providers.catalogue import ModelEntry, UnknownModel, catalogue_get
from providers.registry import provider_is_emulated

from .asset_files import ProbedFile, file_probe, human_bytes, largest_asset_bytes, probed_file_store
from .cancellation import job_cancel_now
from .deadlines import job_deadline
from .input_files import (
    InputFileRefused,
    InputWorkdir,
    fetched_assets,
    input_file_read,
    input_files_fetch,
    is_file_reference,
)
from .models import ACTIVE_STATUSES, Asset, Job, JobStatus
from .queue import enqueue_on_commit
from .selectors import job_with_timeline
from .transitions import job_note_unsaved
from .validation import JobInput, job_input_validate, job_webhook_validate

# A queued job the broker lost (a crash between commit and enqueue) is picked up by the poller's
# sweep after this long.
QUEUED_SWEEP_AFTER = timedelta(seconds=30)


def asset_create(*, tenant: Tenant, actor: Actor, upload: UploadedFile | None) -> Asset:
    """Store an uploaded file as an asset after reading what it really is (never its name); the
    same content uploaded again is the tenant's existing asset (see ``asset_store``)."""
    return asset_store(tenant=tenant, actor=actor, upload=upload)[0]


def asset_store(*, tenant: Tenant, actor: Actor, upload: UploadedFile | None) -> tuple[Asset, bool]:
    """``(asset, created)``: a file whose content (SHA-256) the tenant already has is that asset,
    not a second copy, so uploading the same face twice (or retrying an upload) costs nothing."""
    actor.require(Role.MEMBER)
    if upload is None:
        raise ValidationError({"file": ["No file was sent. Send it as the multipart field 'file', "
                                         "or send a JSON body with its https URL as 'url'."]})
    largest = largest_asset_bytes()
    if upload.size is not None and upload.size > largest:
        raise ValidationError(
            {"file": [f"The file is {human_bytes(upload.size)}; the limit is {human_bytes(largest)}."]}
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
        known = Asset.objects.for_tenant(tenant).filter(sha256=digest.hexdigest()).order_by("created_at").first()
        if known is not None:
            return known, False
        probed = file_probe(tenant=tenant, path=path, original_name=upload.name or "", field="file")
        return probed_file_store(probed=probed, actor=actor), True


def asset_create_from_url(*, tenant: Tenant, actor: Actor, url: object) -> Asset:
    """Fetch the file at an https ``url`` (or decode a data URI) through the outbound-URL policy
    and store it as an asset, read exactly as an upload is."""
    actor.require(Role.MEMBER)
    if not is_file_reference(url):
        raise ValidationError({"url": [f"Must be an https URL or a data: URI (got {url!r})."]})
    with tempfile.TemporaryDirectory(prefix="parley-url-") as tmp:
        path = os.path.join(tmp, "fetched")
        try:
            name = input_file_read(str(url), path, deadline=time.monotonic() + settings.OUTBOUND_FETCH_TOTAL_S)
        except InputFileRefused as exc:
            raise ValidationError({"url": [str(exc)]}) from exc
        probed = file_probe(tenant=tenant, path=path, original_name=name, field="url")
        return probed_file_store(probed=probed, actor=actor)


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


@dataclass(frozen=True)
class JobQuote:
    """What a job body would cost: the checked input it was priced from and the price."""

    entry: ModelEntry
    checked: JobInput
    price: Price


def _model_entry(model_id: str | None) -> ModelEntry:
    if not model_id:
        raise ValidationError({"model": ["This field is required. See GET /api/v1/models for the ids."]})
    try:
        return catalogue_get(model_id=model_id)
    except UnknownModel:
        raise ValidationError({"model": [f"Unknown model {model_id!r}. See GET /api/v1/models for the ids."]}) from None


def job_quote(*, tenant: Tenant, model_id: str | None, inputs: object,
              fetched: Mapping[str, ProbedFile] | None = None) -> JobQuote:
    """Validate a job's body exactly as ``job_create`` does and price it; creates nothing.

    The one quote computation: ``job_create`` stores this price, ``POST /api/v1/quotes`` and the
    dashboard's live quote show it. File inputs given by URL or data URI are fetched and probed
    (into a temporary folder, kept nowhere) unless ``fetched`` already holds them."""
    entry = _model_entry(model_id)
    if fetched is None:
        with InputWorkdir() as workdir:
            probed = input_files_fetch(entry=entry, tenant=tenant, raw_input=inputs, workdir=workdir)
            return job_quote(tenant=tenant, model_id=model_id, inputs=inputs, fetched=probed)
    checked = job_input_validate(entry=entry, tenant=tenant, raw_input=inputs, fetched=fetched_assets(fetched))
    price = price_for_tenant(
        rule=entry.pricing, inputs=checked.input, seconds=checked.duration_s,
        price_multiplier=tenant.price_multiplier, input_video_seconds=checked.input_video_s,
    )
    return JobQuote(entry=entry, checked=checked, price=price)


def job_create(*, tenant: Tenant, actor: Actor, model_id: str | None, inputs: object, cancel_after: object = None,
               webhook: object = None, webhook_events_filter: object = None) -> Job:
    """Validate, quote, reserve the quote against the budget (live jobs) and queue a job; the
    worker takes it from there. Over a monthly limit: BudgetExceeded (402), nothing written; a
    suspended tenant: TenantSuspended (403 ``tenant_suspended``), before anything is fetched.
    ``cancel_after`` (seconds or "10m"; default the operator's maximum) sets its deadline;
    ``webhook``: a URL told of the job's events (``webhook_events_filter``), signed (webhooks/).

    File inputs given by URL or data URI are fetched first, outside the transaction (no database
    transaction waits on the network), and stored as new assets inside it: a refused job leaves
    neither their rows (rolled back) nor their files (deleted here) behind."""
    actor.require(Role.MEMBER)
    tenant_usable_check(tenant=tenant)
    now = timezone.now()
    extra_errors: dict[str, list[str]] = {}  # the webhook's and the deadline's, reported with the input's
    try:
        webhook_url, webhook_events = job_webhook_validate(webhook=webhook, events_filter=webhook_events_filter)
    except ValidationError as exc:
        webhook_url, webhook_events = "", []
        extra_errors.update(exc.message_dict)
    try:
        cancel_at = job_deadline(created_at=now, cancel_after=cancel_after)
    except ValidationError as exc:
        cancel_at = None
        extra_errors.update(exc.message_dict)
    try:
        entry = _model_entry(model_id)
        with InputWorkdir() as workdir:
            fetched = input_files_fetch(entry=entry, tenant=tenant, raw_input=inputs, workdir=workdir)
            if extra_errors:
                job_quote(tenant=tenant, model_id=entry.id, inputs=inputs, fetched=fetched)  # the input's problems
                raise ValidationError(extra_errors)
            stored: list[Asset] = []
            try:
                return _job_create(tenant=tenant, actor=actor, model_id=entry.id, inputs=inputs, fetched=fetched,
                                   stored=stored, now=now, cancel_at=cancel_at, webhook_url=webhook_url,
                                   webhook_events=webhook_events)
            except BaseException:
                for asset in stored:
                    asset.file.delete(save=False)
                raise
    except ValidationError as exc:
        if not extra_errors:
            raise
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        raise ValidationError({**errors, **extra_errors}) from None


@transaction.atomic
def _job_create(*, tenant: Tenant, actor: Actor, model_id: str, inputs: object,
                fetched: Mapping[str, ProbedFile], stored: list[Asset], now: datetime, cancel_at: datetime | None,
                webhook_url: str, webhook_events: list[str]) -> Job:
    quoted = job_quote(tenant=tenant, model_id=model_id, inputs=inputs, fetched=fetched)
    entry, checked, quote = quoted.entry, quoted.checked, quoted.price
    job = Job(
        tenant=tenant, model_id=entry.id, provider=entry.provider, input=checked.input, livemode=actor.livemode,
        created_by=actor.user, api_key=actor.api_key, quote_seconds=checked.duration_s,
        quote_amount=quote.amount, quote_currency=quote.currency,
        emulated=provider_is_emulated(entry.provider, livemode=actor.livemode),
        next_attempt_at=now + QUEUED_SWEEP_AFTER, cancel_at=cancel_at, webhook=webhook_url,
        webhook_events_filter=webhook_events,
    )
    # Field checks only: every foreign key is an object already loaded and checked (tenant, user,
    # key), the id is a fresh UUID and the status the default, so full_clean()'s existence,
    # uniqueness and constraint queries (six of them) would prove nothing.
    job.full_clean(exclude=["tenant", "created_by", "api_key"], validate_unique=False, validate_constraints=False)
    for probed in fetched.values():  # before the lock below: storing a fetched file takes time
        stored.append(probed_file_store(probed=probed, actor=actor))
    # PaymentRequired or BudgetExceeded (402); from here to the commit, the tenant's other live creations wait.
    reservation = live_job_admission(
        tenant=tenant, job_id=job.id, api_key_id=actor.api_key.pk if actor.api_key else None, amount=quote.amount,
        currency=quote.currency, livemode=job.livemode)
    links = [Job.assets.through(job_id=job.pk, asset_id=pk) for pk in {a.pk for a in checked.assets_by_path.values()}]
    note = job_note_unsaved(job=job, message=f"Created by {actor.label}; quoted {quote.amount} "
                                             f"{quote.currency.upper()} for {checked.duration_s} s.",
                            data={"quote": quote.as_dict()})
    # The reservation, the job, its links and its first event: one round trip, not four.
    insert_together([*([reservation] if reservation else []), job, *links, note])
    enqueue_on_commit("jobs.tasks.job_submit_task", str(job.id))
    return job_with_timeline(job, [note])


def job_cancel(*, tenant: Tenant, actor: Actor, job_id: str, livemode: bool | None = None) -> Job:
    """Cancel at once on our side (a canceled job is never charged); the provider is asked to
    stop too, as a best effort, by a task. ``livemode`` scopes it to one mode, as an API key is."""
    actor.require(Role.MEMBER)
    jobs = Job.objects.for_tenant(tenant)
    job = (jobs if livemode is None else jobs.filter(livemode=livemode)).get(pk=job_id)
    was = job.status
    if job_cancel_now(job, message=f"Canceled by {actor.label}."):
        audit_record(actor, tenant, AuditAction.JOB_CANCELED, f"job {job.id} ({job.model_id}, was {was})")
        return job
    if job.status == JobStatus.FINALIZING:
        raise Conflict("This job's video is already being delivered; it can no longer be canceled.",
                       code="job_not_cancelable")
    if job.status != JobStatus.CANCELED:
        raise Conflict(f"This job has already {job.status}; only unfinished jobs can be canceled.",
                       code="job_not_cancelable")
    return job


def jobs_cancel_all(*, tenant: Tenant, actor: Actor) -> int:
    """Cancel every unfinished job of the tenant (its team is being deleted); one already
    delivering its video finishes (and is charged, as any succeeded job). Returns how many."""
    canceled = 0
    for job_id in Job.objects.for_tenant(tenant).filter(status__in=ACTIVE_STATUSES).values_list("pk", flat=True):
        try:
            job_cancel(tenant=tenant, actor=actor, job_id=str(job_id))
        except Conflict:
            continue
        canceled += 1
    return canceled
