"""The running jobs one poller holds, polled on its own in-memory schedule.

A poll that learnt nothing must cost the database nothing: keeping every running job's next poll
in ``next_attempt_at`` meant two writes per poll, each moving an indexed column (never a HOT
update). So the poller claims running jobs once, holds them, and keeps their next poll time in a
heap. Its hold on a job is the job's ``next_attempt_at`` pushed ``POLLER_HOLD_S`` ahead: renewed in
batches when half of it is spent (one UPDATE per thousand jobs), so another poller never claims a
held job, and a poller that dies (kill -9) gives its jobs up when the hold lapses. A job that leaves
``running`` (a webhook finished it, its owner canceled it) is dropped at its next poll or renewal.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta

from django.db import close_old_connections
from django.utils import timezone

from ..models import Job, JobStatus
from .progress import job_poll_held

log = logging.getLogger("jobs.poller")

_CHUNK = 1000

# Told of each poll as it starts (how many seconds after it was due; how many jobs are held) and of
# each change in the number held: ops/poller_metrics.py puts them on /metrics. This module knows
# nothing of Prometheus.
poll_observers: list[Callable[[float, int], None]] = []
held_observers: list[Callable[[int], None]] = []


def _tell_held(count: int) -> None:
    for observe in held_observers:
        observe(count)


class PollHolds:
    """Held running jobs, their next poll times, and the polls in flight (at most ``in_flight``,
    run on ``pool``). Not shared between processes; safe between the poller's threads."""

    def __init__(self, *, pool: ThreadPoolExecutor, in_flight: int, hold_s: float, max_held: int) -> None:
        self._pool = pool
        self._in_flight_max = in_flight
        self._hold_s = hold_s
        self.max_held = max_held
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._hold_until: dict[str, float] = {}  # monotonic time each hold lapses
        self._due: list[tuple[float, int, str]] = []  # (monotonic due time, seq, job id)
        self._entry: dict[str, int] = {}  # job id -> seq of its one live heap entry
        self._seq = itertools.count()
        self._busy: set[str] = set()
        self.lags: deque[float] = deque(maxlen=20_000)  # seconds each poll started after it was due
        self.polls = 0
        self.most_held = 0

    def __len__(self) -> int:
        return len(self._jobs)

    @property
    def room(self) -> int:
        return max(0, self.max_held - len(self._jobs))

    def adopt(self, jobs: Iterable[Job], *, held_for: float) -> None:
        """Hold claimed running jobs (their claim is a hold of ``held_for`` seconds), due now."""
        now = time.monotonic()
        with self._lock:
            for job in jobs:
                key = str(job.pk)
                if key in self._busy:
                    continue  # polled right now: that poll reschedules it
                self._jobs[key] = job
                self._hold_until[key] = now + held_for
                self._schedule(key, now)
            self.most_held = max(self.most_held, len(self._jobs))
            held = len(self._jobs)
        _tell_held(held)

    def run_due(self) -> int:
        """Start the polls that are due, up to the in-flight bound. Returns how many started."""
        started = 0
        now = time.monotonic()
        with self._lock:
            while self._due and self._due[0][0] <= now and len(self._busy) < self._in_flight_max:
                due, seq, key = heapq.heappop(self._due)
                job = self._jobs.get(key)
                if job is None or self._entry.get(key) != seq:
                    continue  # dropped, or an entry superseded by a later schedule
                self._busy.add(key)
                self.lags.append(now - due)
                for observe in poll_observers:
                    observe(now - due, len(self._jobs))
                future = self._pool.submit(self._poll, key, job)
                future.add_done_callback(_log_crash)
                started += 1
        return started

    def next_due_in(self) -> float:
        with self._lock:
            return max(0.0, self._due[0][0] - time.monotonic()) if self._due else 1.0

    def _poll(self, key: str, job: Job) -> None:
        delay: float | None = None
        try:
            delay = job_poll_held(job)
        except Exception:  # one bad job must not stop the poller: look again later
            log.exception("poller: job %s failed to advance", key)
            delay = 30.0
        finally:
            close_old_connections()  # keeps this thread's connection unless it broke or aged out
            with self._lock:
                self._busy.discard(key)
                self.polls += 1
                if delay is None:
                    self._drop(key)
                    _tell_held(len(self._jobs))
                elif key in self._jobs:
                    self._schedule(key, time.monotonic() + delay)
        self.run_due()  # a slot is free: start the next due poll now, not at the loop's next turn

    def _schedule(self, key: str, when: float) -> None:
        seq = next(self._seq)
        self._entry[key] = seq
        heapq.heappush(self._due, (when, seq, key))

    def _drop(self, key: str) -> None:
        self._jobs.pop(key, None)
        self._hold_until.pop(key, None)
        self._entry.pop(key, None)

    # -- the hold in the database ------------------------------------------------------------------
    def renew(self) -> int:
        """Renew the holds that are half spent, and drop the jobs that left ``running`` meanwhile
        (finished by a webhook, canceled). Returns how many holds were renewed."""
        now = time.monotonic()
        with self._lock:
            keys = [k for k, until in self._hold_until.items() if until - now < self._hold_s / 2]
        renewed = 0
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start:start + _CHUNK]
            gone = set(map(str, Job.objects.filter(pk__in=chunk).exclude(status=JobStatus.RUNNING)
                           .values_list("pk", flat=True)))
            alive = [k for k in chunk if k not in gone]
            if alive:
                Job.objects.filter(pk__in=alive, status=JobStatus.RUNNING).update(
                    next_attempt_at=timezone.now() + timedelta(seconds=self._hold_s))
            with self._lock:
                for key in gone:
                    self._drop(key)
                for key in alive:
                    if key in self._hold_until:
                        self._hold_until[key] = now + self._hold_s
                held = len(self._jobs)
            _tell_held(held)
            renewed += len(alive)
        return renewed

    def release(self) -> None:
        """Give every held job back at once (an orderly stop), so another poller takes it now."""
        with self._lock:
            keys = list(self._jobs)
            self._jobs.clear()
            self._hold_until.clear()
            self._entry.clear()
            self._due.clear()
        _tell_held(0)
        for start in range(0, len(keys), _CHUNK):
            Job.objects.filter(pk__in=keys[start:start + _CHUNK], status=JobStatus.RUNNING).update(
                next_attempt_at=timezone.now())

    def lag_percentiles(self) -> tuple[float, float]:
        """(p50, p95) of how late the recent polls started, in seconds."""
        with self._lock:
            lags = sorted(self.lags)
        if not lags:
            return (0.0, 0.0)
        return (lags[len(lags) // 2], lags[min(len(lags) - 1, int(len(lags) * 0.95))])


def _log_crash(future: Future) -> None:
    if future.exception() is not None:
        log.error("poller: a poll crashed", exc_info=future.exception())
