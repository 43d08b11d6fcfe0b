"""What a job's status change tells the tenant's webhooks: the event for the new status and the
job as it stands, recorded in the webhooks outbox in the transaction of the change.

Called by ``jobs/transitions.py::job_transition`` only; the webhooks app gets plain values and
never reads or writes a job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from webhooks.events import JobWebhook, webhook_event_record

from .models import Job, JobStatus

EVENT_OF_STATUS = {
    JobStatus.RUNNING: "job.running",
    JobStatus.SUCCEEDED: "job.succeeded",
    JobStatus.FAILED: "job.failed",
    JobStatus.CANCELED: "job.canceled",
}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def job_event_data(job: Job) -> dict[str, Any]:
    """The job in an event's ``data``: the API's job without its timeline and charge (read the job
    for those); the output's URL is the API's, which needs the tenant's key."""
    output = None
    if job.status == JobStatus.SUCCEEDED and job.output:
        output = {
            "url": settings.PUBLIC_BASE_URL + reverse("api:job-output", kwargs={"job_id": job.id}),
            "duration_s": float(job.output_duration_s) if job.output_duration_s is not None else None,
            "width": job.output_width, "height": job.output_height, "frames": job.output_frames,
            "size_bytes": job.output_size_bytes, "content_type": "video/mp4",
        }
    return {
        "id": str(job.id), "object": "job", "model": job.model_id, "status": job.status, "livemode": job.livemode,
        "input": job.input, "output": output,
        "error": {"code": job.error_code, "message": job.error_message} if job.error_message else None,
        "quote": {"amount": str(job.quote_amount), "currency": job.quote_currency},
        "created_at": _iso(job.created_at), "started_at": _iso(job.started_at), "completed_at": _iso(job.completed_at),
    }


def job_webhook_events_record(*, job: Job) -> None:
    """Record the event of the job's (new) status, if it is one we send."""
    event_type = EVENT_OF_STATUS.get(job.status)
    if event_type is None:
        return
    own = JobWebhook(url=job.webhook, events=tuple(job.webhook_events_filter)) if job.webhook else None
    webhook_event_record(tenant_id=job.tenant_id, livemode=job.livemode, event_type=event_type,
                         data=job_event_data(job), job_id=job.id, job_webhook=own)
