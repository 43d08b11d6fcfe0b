"""The poller: claims due jobs in batches and moves each one step (polls running jobs
concurrently; hands queued/stalled ones to the workers). Run as many as you like."""

from __future__ import annotations

import logging
import signal
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections, connections

from jobs.models import JobStatus
from jobs.pipeline.dispatch import job_dispatch_due, jobs_claim_due

log = logging.getLogger("jobs.poller")


def _dispatch(job) -> None:  # noqa: ANN001
    try:
        job_dispatch_due(job=job)
    except Exception:  # one bad job must not stop the poller
        log.exception("poller: job %s failed to advance", job.pk)
    finally:
        connections.close_all()


def poller_tick(*, pool: ThreadPoolExecutor | None = None) -> int:
    """One round: claim due jobs and advance them. Returns how many were claimed."""
    jobs = jobs_claim_due(limit=settings.POLLER_BATCH_SIZE)
    running = [j for j in jobs if j.status == JobStatus.RUNNING]
    for job in jobs:
        if job.status != JobStatus.RUNNING:
            job_dispatch_due(job=job)
    if running:
        if pool is None:
            for job in running:
                job_dispatch_due(job=job)
        else:
            list(pool.map(_dispatch, running))
    return len(jobs)


class Command(BaseCommand):
    help = "Poll running jobs and re-dispatch due ones, forever (Ctrl-C stops)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds between idle rounds.")
        parser.add_argument("--once", action="store_true", help="Run one round and exit.")

    def handle(self, *args: object, **options: object) -> None:
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        interval = float(options["interval"])
        with ThreadPoolExecutor(max_workers=settings.POLLER_CONCURRENCY, thread_name_prefix="poll") as pool:
            while not stopping:
                close_old_connections()
                try:
                    claimed = poller_tick(pool=pool)
                except Exception:
                    log.exception("poller round failed")
                    claimed = 0
                if options["once"]:
                    break
                if not claimed:
                    time.sleep(interval)
