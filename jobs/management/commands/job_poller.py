"""The poller: claims due jobs in batches and moves each one step. Running jobs it holds and polls
on its own in-memory schedule (``jobs/pipeline/poll_holds.py``); queued, stalled and finalizing
ones it hands to the workers. Run as many as you like."""

from __future__ import annotations

import logging
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from jobs.models import JobStatus
from jobs.pipeline.dispatch import UNFINISHED, job_dispatch_due, jobs_claim_due
from jobs.pipeline.poll_holds import PollHolds

log = logging.getLogger("jobs.poller")

_RENEW_EVERY_S = 5.0


def poller_tick(*, pool: ThreadPoolExecutor | None = None) -> int:
    """One stateless round (tests, ``--once``): claim due jobs and advance each, running ones by
    one poll whose next time goes back to the database. Returns how many were claimed."""
    jobs = jobs_claim_due(limit=settings.POLLER_BATCH_SIZE)
    for job in jobs:
        try:
            job_dispatch_due(job=job)
        except Exception:  # one bad job must not stop the poller
            log.exception("poller: job %s failed to advance", job.pk)
    return len(jobs)


def poller_claim(holds: PollHolds) -> int:
    """Claim due jobs: hold the running ones (while there is room), dispatch the others."""
    statuses = UNFINISHED if holds.room else tuple(s for s in UNFINISHED if s != JobStatus.RUNNING)
    hold = timedelta(seconds=settings.POLLER_HOLD_S)
    jobs = jobs_claim_due(limit=min(settings.POLLER_BATCH_SIZE * 10, holds.room or settings.POLLER_BATCH_SIZE),
                          lease=hold, statuses=statuses)
    running = [j for j in jobs if j.status == JobStatus.RUNNING]
    holds.adopt(running, held_for=hold.total_seconds())
    for job in jobs:
        if job.status != JobStatus.RUNNING:
            try:
                job_dispatch_due(job=job)
            except Exception:
                log.exception("poller: job %s failed to advance", job.pk)
    return len(jobs)


class Command(BaseCommand):
    help = "Poll running jobs and re-dispatch due ones, forever (Ctrl-C stops)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds between claims when idle.")
        parser.add_argument("--once", action="store_true", help="Run one round and exit.")
        parser.add_argument("--report-every", type=float, default=30.0,
                            help="Seconds between the log lines of held jobs, polls and poll lag.")

    def handle(self, *args: object, **options: object) -> None:
        if options["once"]:
            poller_tick()
            return
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        interval = float(options["interval"])
        concurrency = settings.POLLER_CONCURRENCY
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="poll") as pool:
            holds = PollHolds(pool=pool, in_flight=concurrency, hold_s=settings.POLLER_HOLD_S,
                              max_held=settings.POLLER_MAX_HELD)
            next_claim = next_renew = next_report = 0.0
            while not stopping:
                now = time.monotonic()
                try:
                    if now >= next_claim:
                        close_old_connections()
                        claimed = poller_claim(holds)
                        # A full batch: more may be due, claim again at once.
                        next_claim = now + (0.0 if claimed >= settings.POLLER_BATCH_SIZE else interval)
                    if now >= next_renew:
                        holds.renew()
                        next_renew = now + _RENEW_EVERY_S
                except Exception:
                    log.exception("poller round failed")
                    next_claim = now + interval
                holds.run_due()
                if now >= next_report:
                    p50, p95 = holds.lag_percentiles()
                    log.info("poller: holding %d running jobs (most %d), %d polls, lag p50 %.2f s p95 %.2f s",
                             len(holds), holds.most_held, holds.polls, p50, p95)
                    next_report = now + float(options["report_every"])
                time.sleep(max(0.005, min(holds.next_due_in(), next_claim - time.monotonic(), 0.05)))
            holds.release()
