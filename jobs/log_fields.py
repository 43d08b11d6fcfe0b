"""The job and tenant ids on the log lines written while a job is worked on (config.log_context):
the worker's tasks and the poller wrap each step in ``job_log_context``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from config.log_context import log_context

from .models import Job


@contextmanager
def job_log_context(*, job: Job | None = None, job_id: object = None) -> Iterator[None]:
    """Bind the job's id and its tenant's for the block. Given only an id (a task's argument), the
    tenant is read by primary key; an unknown id binds the job id alone."""
    if job is not None:
        job_id, tenant_id = job.pk, job.tenant_id
    else:
        tenant_id = Job.objects.filter(pk=job_id).values_list("tenant_id", flat=True).first()
    with log_context(job_id=job_id, tenant_id=tenant_id):
        yield
