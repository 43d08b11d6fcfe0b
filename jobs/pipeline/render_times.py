"""How long a model's renders take, from its own recent history: what the poller needs to poll a
provider without webhooks (DashScope) often exactly when a job is about to end, and rarely before.

The figure is the median of ``completed_at - started_at`` over the model's last
``JOB_RENDER_HISTORY`` succeeded jobs (submit and delivery included: a few seconds on renders of
minutes), read at most once every ``JOB_RENDER_HISTORY_TTL_S`` per process. It needs no table and no
write: the jobs already carry both times."""

from __future__ import annotations

import statistics
import threading
import time

from django.conf import settings

from ..models import Job, JobStatus

_CACHE: dict[str, tuple[float, float | None]] = {}  # model_id -> (good until, monotonic; median seconds)
_LOCK = threading.Lock()
_NO_HISTORY_TTL_S = 30.0  # a model without enough history is looked at again soon: its first jobs teach it


def expected_render_seconds(model_id: str) -> float | None:
    """The model's median render time in seconds, or None while it has too few succeeded jobs."""
    now = time.monotonic()
    cached = _CACHE.get(model_id)
    if cached is not None and now < cached[0]:
        return cached[1]
    with _LOCK:
        cached = _CACHE.get(model_id)
        if cached is not None and now < cached[0]:
            return cached[1]
        median = _median_from_history(model_id)
        ttl = settings.JOB_RENDER_HISTORY_TTL_S if median is not None else _NO_HISTORY_TTL_S
        _CACHE[model_id] = (now + ttl, median)
        return median


def render_history_forget() -> None:
    """Drop the cached figures (tests; a process that wants fresh ones)."""
    with _LOCK:
        _CACHE.clear()


def _median_from_history(model_id: str) -> float | None:
    rows = (Job.objects.filter(model_id=model_id, status=JobStatus.SUCCEEDED, started_at__isnull=False)
            .order_by("-completed_at").values_list("started_at", "completed_at")[: settings.JOB_RENDER_HISTORY])
    seconds = [(done - started).total_seconds() for started, done in rows if done is not None]
    if len(seconds) < 3:
        return None
    return statistics.median(seconds)
