"""Assets (uploaded media), jobs (one video from one model) and their timeline."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from accounts.models import Tenant, TenantOwned


class AssetKind(models.TextChoices):
    IMAGE = "image", "Image"
    AUDIO = "audio", "Audio"
    VIDEO = "video", "Video"


def asset_upload_to(instance: Asset, filename: str) -> str:
    return f"tenants/{instance.tenant_id}/assets/{instance.id}{instance.extension}"


def job_output_upload_to(instance: Job, filename: str) -> str:
    return f"tenants/{instance.tenant_id}/outputs/{instance.id}.mp4"


class Asset(TenantOwned):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=8, choices=AssetKind.choices)
    file = models.FileField(upload_to=asset_upload_to, max_length=300)
    original_name = models.CharField(max_length=255, blank=True)
    extension = models.CharField(max_length=8)
    content_type = models.CharField(max_length=100)  # sniffed from the content, never trusted
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration_s = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="asset_tenant_created"),
            models.Index(fields=["tenant", "sha256"], name="asset_tenant_content"),  # the same file is one asset
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.original_name or self.id}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SUBMITTING = "submitting", "Submitting"
    RUNNING = "running", "Running"
    FINALIZING = "finalizing", "Finalizing"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


FINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED})
ACTIVE_STATUSES = frozenset(set(JobStatus) - FINAL_STATUSES)

# The state machine (docs/architecture.md, "The life of a job") as data: the only moves ``job_transition`` will make.
TRANSITIONS: dict[str, frozenset[str]] = {
    JobStatus.QUEUED: frozenset({JobStatus.SUBMITTING, JobStatus.FAILED, JobStatus.CANCELED}),
    # submitting -> queued: a transient provider error or a full provider account puts it back.
    JobStatus.SUBMITTING: frozenset({JobStatus.RUNNING, JobStatus.QUEUED, JobStatus.FAILED, JobStatus.CANCELED}),
    JobStatus.RUNNING: frozenset({JobStatus.FINALIZING, JobStatus.FAILED, JobStatus.CANCELED}),
    JobStatus.FINALIZING: frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED}),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELED: frozenset(),
}


# Indexes of jobs_job, each needed (every one is rewritten by an update that is not HOT, so there
# are few): the tenant's lists, newest first, all and by status; the poller's due jobs (partial: only
# unfinished jobs); the webhook's lookup by the provider's request id; the API key's foreign key.
# The tenant and created_by foreign keys and model_id have none of their own: the tenant's is the
# lists' leading column; users are rarely deleted, and a model's jobs are read within a tenant.
UNFINISHED_Q = models.Q(status__in=[JobStatus.QUEUED, JobStatus.SUBMITTING, JobStatus.RUNNING, JobStatus.FINALIZING])


class Job(TenantOwned):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    model_id = models.CharField(max_length=100)
    provider = models.CharField(max_length=20)
    status = models.CharField(max_length=12, choices=JobStatus.choices, default=JobStatus.QUEUED)
    input = models.JSONField()  # as the user gave it, defaults applied; asset ids, never URLs
    assets = models.ManyToManyField(Asset, related_name="jobs", blank=True)
    livemode = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    api_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # The quote, fixed at creation: the charge is computed from the delivered video and never
    # exceeds it.
    quote_seconds = models.DecimalField(max_digits=10, decimal_places=3)
    quote_amount = models.DecimalField(max_digits=12, decimal_places=2)
    quote_currency = models.CharField(max_length=3, default="usd")

    # The provider's side.
    provider_request_id = models.CharField(max_length=200, blank=True)
    provider_handle = models.JSONField(default=dict, blank=True)
    emulated = models.BooleanField(default=False)
    provider_status = models.CharField(max_length=40, blank=True)
    progress = models.FloatField(null=True, blank=True)
    queue_position = models.IntegerField(null=True, blank=True)
    result_url = models.URLField(max_length=2000, blank=True)  # the provider's (expiring) output URL
    attempts = models.PositiveIntegerField(default=0)  # transient failures of the current step
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # The job's deadline (its ``cancel_after``, else JOB_CANCEL_AFTER_MAX_S, from creation): not
    # finished by then, it is canceled and never charged (jobs/pipeline/deadline.py).
    cancel_at = models.DateTimeField(null=True, blank=True)
    # A submit's fate: when it was handed to the provider (so a lost worker that never sent it is
    # simply resent) and since when its outcome is unknown (the answer was lost: the provider may have
    # a task for it, which its webhook will report). See jobs/pipeline/submit_recovery.py.
    submit_sent_at = models.DateTimeField(null=True, blank=True)
    submit_unknown_since = models.DateTimeField(null=True, blank=True)
    # Provider tasks beyond the one delivered that the provider may bill us for (a submit resent
    # after its answer was lost): a provider cost of ours, never charged to the tenant.
    provider_duplicates = models.PositiveIntegerField(default=0)

    # The delivered video, in our own storage.
    output = models.FileField(upload_to=job_output_upload_to, max_length=300, blank=True)
    output_duration_s = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    # The output's length as the provider reported it (DashScope's ``usage``), for reconciliation.
    provider_reported_seconds = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    output_width = models.PositiveIntegerField(null=True, blank=True)
    output_height = models.PositiveIntegerField(null=True, blank=True)
    output_frames = models.PositiveIntegerField(null=True, blank=True)
    output_size_bytes = models.BigIntegerField(null=True, blank=True)

    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)

    # The job's own webhook (Replicate's ``webhook`` and ``webhook_events_filter``): the URL told of
    # the events listed, signed with the tenant's per-job webhook secret (webhooks/).
    webhook = models.URLField(max_length=2000, blank=True)
    webhook_events_filter = models.JSONField(default=list, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # When we learnt the provider had finished (running -> finalizing): with started_at, the render
    # times a model's polls are scheduled from (jobs/pipeline/render_times.py), free of delivery time.
    provider_finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="job_tenant_created"),
            models.Index(fields=["tenant", "status", "-created_at"], name="job_tenant_status_created"),
            models.Index(fields=["next_attempt_at"], name="job_unfinished_due", condition=UNFINISHED_Q),
            models.Index(fields=["provider_request_id"], name="job_provider_request"),
            models.Index(fields=["status", "cancel_at"], name="job_status_deadline"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=list(JobStatus)), name="job_status_valid"),
        ]

    def __str__(self) -> str:
        return f"job {self.id} ({self.model_id}, {self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def has_output(self) -> bool:
        """A video to serve: the job succeeded and its output is in our storage."""
        return self.status == JobStatus.SUCCEEDED and bool(self.output)

    def can_move_to(self, status: str) -> bool:
        return status in TRANSITIONS[self.status]


class JobEvent(TenantOwned):
    """One line of a job's timeline: a transition, or a note (progress, a retry, a webhook)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status}->{self.to_status} {self.message}"
