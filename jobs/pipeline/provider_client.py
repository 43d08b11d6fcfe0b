"""The provider client a job's steps use: its provider, in the mode it was submitted with.

Every step gets its client from ``providers.registry.client_for`` looked up at call time, so a
test replaces that one public function to give the pipeline a fake provider."""

from __future__ import annotations

from providers import registry
from providers.clients.base import ProviderClient

from ..models import Job


def job_client(job: Job) -> ProviderClient:
    """A client for the job's provider (a context manager: ``with job_client(job) as c``), on the
    process's long-lived connection pool for that provider account, which leaving the block
    keeps open. A test-mode or emulated job is always served by the emulator, never the real one."""
    return registry.client_for(job.provider, livemode=job.livemode and not job.emulated)
