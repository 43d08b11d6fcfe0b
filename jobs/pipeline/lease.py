"""Leases: a worker's hold on a job while it submits or delivers it, renewed by a heartbeat.

A step that a worker runs (submitting, finalizing) sets the job's ``next_attempt_at`` to a short
lease (``JOB_LEASE_S``) and renews it from a heartbeat thread while the work is alive. If the
worker dies (kill -9, a lost machine), nothing renews it: the lease lapses within ``JOB_LEASE_S``
and the poller reclaims the job (``dispatch.py``). A crash therefore costs seconds, not a task
timeout, and a live worker is never doubled however long its provider call takes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from ..models import Job

log = logging.getLogger(__name__)


def lease_until() -> datetime:
    """When a lease taken now lapses."""
    return timezone.now() + timedelta(seconds=settings.JOB_LEASE_S)


def lease_renew(*, job_id: object, status: str) -> bool:
    """Push the job's lease ahead if it is still in ``status``; False once it moved on."""
    return Job.objects.filter(pk=job_id, status=status).update(next_attempt_at=lease_until()) == 1


@contextmanager
def job_lease_kept(job: Job) -> Iterator[None]:
    """Renew ``job``'s lease every third of ``JOB_LEASE_S`` while the block runs.

    The heartbeat runs in a thread of its own with its own database connection (closed when it
    stops); it stops by itself once the job leaves the status it had on entry."""
    stop = threading.Event()
    status = job.status
    interval = max(0.05, settings.JOB_LEASE_S / 3)

    def beat() -> None:
        try:
            while not stop.wait(interval):
                if not lease_renew(job_id=job.pk, status=status):
                    return
        except Exception:  # a heartbeat that fails only lets the lease lapse: the poller recovers
            log.exception("job %s: could not renew its lease", job.pk)
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"lease-{job.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
