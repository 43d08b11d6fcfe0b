"""django-q2 tasks: each takes ids and calls one pipeline step; each is safe to run twice."""

from .pipeline.finalize import job_finalize
from .pipeline.provider_cancel import job_provider_cancel
from .pipeline.submit import job_submit


def job_submit_task(job_id: str) -> None:
    job_submit(job_id=job_id)


def job_finalize_task(job_id: str) -> None:
    job_finalize(job_id=job_id)


def job_provider_cancel_task(job_id: str) -> None:
    job_provider_cancel(job_id=job_id)
