"""The job poller's own schedule, as only the poller knows it: how late each poll of a held running
job started after it was due, and how many running jobs the pollers hold. The database-derived
``parley_poll_lag_seconds`` (ops/metrics.py) sees a job only once its hold in the database lapses;
these see the in-memory schedule (``jobs/pipeline/poll_holds.py``) that holds it meanwhile.

Per-process figures of the ``job_poller`` processes: they reach a scrape through prometheus_client's
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``), as the provider metrics do (README, "Health and
metrics"); the held-jobs gauge sums the live pollers and forgets a dead one."""

from __future__ import annotations

from prometheus_client import Gauge, Histogram

from jobs.pipeline import poll_holds

POLLER_POLL_LAG_SECONDS = Histogram(
    "parley_poller_poll_lag_seconds",
    "How late each poll of a held running job started after its scheduled time, in the poller that holds it.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
POLLER_HELD_JOBS = Gauge(
    "parley_poller_held_jobs",
    "Running jobs held in memory by the live job pollers (summed over them).",
    multiprocess_mode="livesum",
)


def poll_observed(lag_s: float, held: int) -> None:
    """The observer of ``PollHolds``: one poll started ``lag_s`` late, with ``held`` jobs held."""
    POLLER_POLL_LAG_SECONDS.observe(max(0.0, lag_s))
    POLLER_HELD_JOBS.set(held)


def held_observed(held: int) -> None:
    POLLER_HELD_JOBS.set(held)


def poller_metrics_install() -> None:
    """Register the observers once (the app's ``ready`` may run again in tests)."""
    if poll_observed not in poll_holds.poll_observers:
        poll_holds.poll_observers.append(poll_observed)
    if held_observed not in poll_holds.held_observers:
        poll_holds.held_observers.append(held_observed)
