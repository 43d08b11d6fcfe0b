"""django-q2 tasks: each takes ids and calls one pipeline step; each is safe to run twice."""

from . import pipeline


def job_submit_task(job_id: str) -> None:
    pipeline.job_submit(job_id=job_id)


def job_finalize_task(job_id: str) -> None:
    pipeline.job_finalize(job_id=job_id)


def job_provider_cancel_task(job_id: str) -> None:
    pipeline.job_provider_cancel(job_id=job_id)
