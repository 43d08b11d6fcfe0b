"""The only writer of ``Job.status``: a compare-and-set that also appends the JobEvent.

``UPDATE jobs_job SET status=new ... WHERE id=? AND status=old``: of two workers (or a poll and a
webhook) racing to apply the same step, exactly one wins; the loser learns it and does nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from billing.budgets import budget_settle

from .models import FINAL_STATUSES, TRANSITIONS, Job, JobEvent, JobStatus
from .webhook_events import job_webhook_events_record


class IllegalTransition(ValueError):
    pass


def job_transition(
    *, job: Job, to: str, message: str = "", data: dict[str, Any] | None = None, **fields: Any
) -> bool:
    """Move ``job`` from its current (in-memory) status to ``to`` if nobody moved it first.

    ``fields`` are written in the same UPDATE. Returns True if this call won; on success the
    in-memory ``job`` is updated too. Raises IllegalTransition for a move the machine forbids."""
    old = job.status
    if to not in TRANSITIONS[old]:
        raise IllegalTransition(f"job {job.id}: {old} -> {to} is not a legal transition")
    now = timezone.now()
    values: dict[str, Any] = {"status": to, "updated_at": now, **fields}
    if to == JobStatus.SUBMITTING and job.started_at is None:
        values.setdefault("started_at", now)
    if to in FINAL_STATUSES:
        values.setdefault("completed_at", now)
        values.setdefault("next_attempt_at", None)
    with transaction.atomic():
        won = Job.objects.filter(pk=job.pk, status=old).update(**values) == 1
        if won:
            JobEvent.objects.create(
                tenant_id=job.tenant_id, job=job, from_status=old, to_status=to, message=message, data=data or {}
            )
            if to in FINAL_STATUSES:  # the budget's reservation becomes the charge, or is released
                budget_settle(job_id=job.pk, succeeded=to == JobStatus.SUCCEEDED)
            for key, value in values.items():
                setattr(job, key, value)
            job_webhook_events_record(job=job)  # the tenant's webhooks: in the outbox, in this transaction
    return won


def job_note(*, job: Job, message: str, data: dict[str, Any] | None = None) -> JobEvent:
    """A timeline entry that changes no state (a retry scheduled, progress, a webhook seen)."""
    note = job_note_unsaved(job=job, message=message, data=data)
    note.save(force_insert=True)
    return note


def job_note_unsaved(*, job: Job, message: str, data: dict[str, Any] | None = None) -> JobEvent:
    """The note ``job_note`` writes, left for the caller to insert with other rows (a job's creation)."""
    return JobEvent(tenant_id=job.tenant_id, job=job, from_status=job.status, to_status=job.status, message=message,
                    data=data or {})
