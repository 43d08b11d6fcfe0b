"""A provider's webhook received: verified by the provider's client, then applied to its job.

WaveSpeed and fal call the URL we sent with the submit (``provider_inputs.webhook_url_for``). It
names our job and carries a token only we can make, so a task whose submit answer was lost still
finds its job (``submit_recovery.py``). The signature is checked first, by the client's
``verify_webhook`` (``providers/clients/<provider>.py``)."""

from __future__ import annotations

from collections.abc import Mapping

from config.log_context import bind_log_context, log_context
from providers import registry

from ..models import Job, JobStatus
from .progress import job_apply_result
from .provider_inputs import job_webhook_token_valid
from .submit_recovery import provider_task_reported


class UnknownWebhookTarget(KeyError):
    """The URL names no mode, or a job with a token we did not make: answered 404."""


def provider_webhook_receive(
    *, provider: str, mode: str, headers: Mapping[str, str], body: bytes, job_id: str | None = None,
    token: str | None = None,
) -> Job | None:
    """Verify a provider's webhook and apply it. Raises WebhookVerificationError when unsigned.
    Log lines name the job once it is known, until this returns."""
    with log_context():
        return _receive(provider=provider, mode=mode, headers=headers, body=body, job_id=job_id, token=token)


def _receive(
    *, provider: str, mode: str, headers: Mapping[str, str], body: bytes, job_id: str | None, token: str | None,
) -> Job | None:
    if mode not in ("live", "emulator"):
        raise UnknownWebhookTarget(mode)
    if job_id is not None and not job_webhook_token_valid(job_id=job_id, token=token or ""):
        raise UnknownWebhookTarget(job_id)
    emulated = mode == "emulator"
    with registry.client_for(provider, livemode=not emulated) as client:
        event = client.parse_webhook(headers=headers, body=body)
        # A webhook verified with the emulator's keys speaks only for emulated jobs, and a real
        # provider's only for real ones: the emulator's secret must never move a real job.
        jobs = Job.objects.filter(provider=provider, emulated=emulated)
        if job_id is not None:
            job = jobs.filter(pk=job_id).first()
            if job is not None:
                bind_log_context(job_id=job.pk, tenant_id=job.tenant_id)
                provider_task_reported(job, event=event, client=client)
            return job
        # A URL without a job (sent before job ids were in it): the request id finds the job.
        job = jobs.filter(provider_request_id=event.request_id).first()
    if job is None:
        return None  # not ours, or it arrived before our submit recorded the id: polling covers it
    bind_log_context(job_id=job.pk, tenant_id=job.tenant_id)  # the request's lines from here on
    if job.status == JobStatus.RUNNING:
        job_apply_result(job=job, result=event.result, source="webhook")
    return job
