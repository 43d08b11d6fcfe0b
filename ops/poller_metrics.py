"""The job poller's own schedule, as only the poller knows it: how late each poll of a held running
job started after it was due, and how many running jobs the pollers hold. The database-derived
``parley_poll_lag_seconds`` (ops/metrics.py) sees a job only once its hold in the database lapses;
these see the in-memory schedule (``jobs/pipeline/poll_holds.py``) that holds it meanwhile.

Per-process figures of the ``job_poller`` processes: they reach a scrape through prometheus_client's
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``), as the provider metrics do (README, "Health and
metrics"); the held-jobs gauge sums the live pollers and forgets a dead one. Without that folder
they are the poller's own, and the web process's /metrics shows none of them."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from prometheus_client import Gauge, Histogram

from jobs.pipeline import poll_holds


@dataclass(frozen=True)
class PollerMetrics:
    poll_lag: Histogram
    held_jobs: Gauge


_metrics: list[PollerMetrics] = []  # made at a process's first poll: see poller_metrics()
_lock = threading.Lock()


def poller_metrics() -> PollerMetrics:
    """The metrics, made (and registered) by the first poll of this process: a web or worker
    process, which never polls, does not show a poller's figures as zeros on its /metrics."""
    if not _metrics:
        with _lock:
            if not _metrics:
                _metrics.append(PollerMetrics(
                    poll_lag=Histogram(
                        "parley_poller_poll_lag_seconds",
                        "How late each poll of a held running job started after its scheduled time, in the "
                        "poller that holds it.",
                        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
                    ),
                    held_jobs=Gauge(
                        "parley_poller_held_jobs",
                        "Running jobs held in memory by the live job pollers (summed over them).",
                        multiprocess_mode="livesum",
                    ),
                ))
    return _metrics[0]


def poll_observed(lag_s: float, held: int) -> None:
    """The observer of ``PollHolds``: one poll started ``lag_s`` late, with ``held`` jobs held."""
    metrics = poller_metrics()
    metrics.poll_lag.observe(max(0.0, lag_s))
    metrics.held_jobs.set(held)


def held_observed(held: int) -> None:
    poller_metrics().held_jobs.set(held)


def poller_metrics_install() -> None:
    """Register the observers once (the app's ``ready`` may run again in tests)."""
    if poll_observed not in poll_holds.poll_observers:
        poll_holds.poll_observers.append(poll_observed)
    if held_observed not in poll_holds.held_observers:
        poll_holds.held_observers.append(held_observed)
