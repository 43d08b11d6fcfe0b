"""Asking the provider to stop the task of a job the user canceled (the job is canceled already;
this only spares the provider's work)."""

from __future__ import annotations

from providers.catalogue import catalogue_get
from providers.clients.errors import ProviderError

from ..models import Job
from ..transitions import job_note
from .provider_client import job_client


def job_provider_cancel(*, job_id: str) -> None:
    """Send the provider a cancel for the job's task, when it has one and the model can be
    canceled; the answer (or the refusal) goes on the job's timeline."""
    job = Job.objects.get(pk=job_id)
    if not job.provider_handle or not catalogue_get(model_id=job.model_id).capabilities.cancel:
        return
    with job_client(job) as client:
        try:
            outcome = client.cancel(handle=job.provider_handle)
            job_note(job=job, message=f"Asked the provider to stop: {outcome.status or 'sent'}.")
        except ProviderError as exc:
            job_note(job=job, message=f"The provider could not cancel: {exc.message}")
