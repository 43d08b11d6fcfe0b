"""How long a model's renders take, from its own recent history: what the poller needs to poll a
provider without webhooks (DashScope) often exactly when a job is about to end, and rarely before.

A render is ``provider_finished_at - started_at`` (from sending the job to learning the provider
finished; the delivery after it is not counted) over the model's last ``JOB_RENDER_HISTORY`` jobs
that got that far; the figures (median, fastest and slowest tenth) are read at most once every
``JOB_RENDER_HISTORY_TTL_S`` per process. No table of its own and no write of its own: the
running -> finalizing transition stamps ``provider_finished_at``."""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass

from django.conf import settings

from ..models import Job

_CACHE: dict[str, tuple[float, RenderHistory | None]] = {}  # model_id -> (good until, monotonic; figures)
_LOCK = threading.Lock()
_NO_HISTORY_TTL_S = 30.0  # a model with a short history is looked at again soon: its first jobs teach it


@dataclass(frozen=True)
class RenderHistory:
    median: float  # seconds
    early: float  # the 10th percentile: the fastest tenth of renders end before it
    late: float  # the 90th percentile: past it a render is late, and its polls ease off


def render_history(model_id: str) -> RenderHistory | None:
    """The model's render times, or None while it has fewer than three finished renders."""
    now = time.monotonic()
    cached = _CACHE.get(model_id)
    if cached is not None and now < cached[0]:
        return cached[1]
    with _LOCK:
        cached = _CACHE.get(model_id)
        if cached is not None and now < cached[0]:
            return cached[1]
        history, samples = _from_recent_jobs(model_id)
        # A short history (a model's first renders, the fastest ones) is read again soon, not kept for minutes.
        ttl = settings.JOB_RENDER_HISTORY_TTL_S if samples >= settings.JOB_RENDER_HISTORY else _NO_HISTORY_TTL_S
        _CACHE[model_id] = (now + ttl, history)
        return history


def render_history_forget() -> None:
    """Drop the cached figures (tests; a process that wants fresh ones)."""
    with _LOCK:
        _CACHE.clear()


def _from_recent_jobs(model_id: str) -> tuple[RenderHistory | None, int]:
    rows = (Job.objects.filter(model_id=model_id, provider_finished_at__isnull=False, started_at__isnull=False)
            .order_by("-provider_finished_at").values_list("started_at", "provider_finished_at")
            [: settings.JOB_RENDER_HISTORY])
    seconds = sorted((done - started).total_seconds() for started, done in rows)
    if len(seconds) < 3:
        return None, len(seconds)
    return RenderHistory(median=statistics.median(seconds), early=seconds[len(seconds) // 10],
                         late=seconds[len(seconds) * 9 // 10]), len(seconds)
