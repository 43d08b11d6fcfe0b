"""django-q2 tasks: each takes ids and calls one pipeline step; each is safe to run twice."""

from datetime import UTC, datetime, timedelta

from .pipeline.finalize import job_finalize
from .pipeline.provider_cancel import job_provider_cancel
from .pipeline.submit import job_submit
from .provider_prices import provider_prices_reconcile


def job_submit_task(job_id: str) -> None:
    job_submit(job_id=job_id)


def job_finalize_task(job_id: str) -> None:
    job_finalize(job_id=job_id)


def job_provider_cancel_task(job_id: str) -> None:
    job_provider_cancel(job_id=job_id)


def provider_prices_reconcile_task(day: str | None = None) -> int:
    """Check one UTC day's charged jobs (yesterday by default) against their providers' own prices;
    the schedule made by the jobs migrations runs it daily. Returns the differences found."""
    when = datetime.fromisoformat(day).date() if day else (datetime.now(UTC) - timedelta(days=1)).date()
    return len(provider_prices_reconcile(day=when).differences)
