"""Provider request latency and errors, measured where every provider call goes through
(``providers.clients.base.ProviderClient._request``, which tells its ``request_observers`` of each
HTTP attempt). The clients know nothing of Prometheus: this module registers the observer.

These are per-process counters: provider calls happen in the workers and pollers, not in the web
process that serves /metrics, so they reach a scrape through prometheus_client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, one folder per machine shared by its processes; see README,
"Health and metrics")."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from providers.clients import base

PROVIDER_REQUEST_SECONDS = Histogram(
    "parley_provider_request_seconds",
    "Duration of one HTTP attempt to a provider (each retry is an attempt), whatever its outcome.",
    ["provider", "method"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
PROVIDER_REQUEST_ERRORS = Counter(
    "parley_provider_request_errors",
    "Failed HTTP attempts to a provider, by kind: timeout, connect, rate_limited, unavailable, auth, rejected, "
    "submit_outcome_unknown.",
    ["provider", "kind"],
)


def provider_request_observed(provider: str, method: str, seconds: float, outcome: str) -> None:
    """The observer: one attempt, its duration and ``"ok"`` or the kind of its failure."""
    PROVIDER_REQUEST_SECONDS.labels(provider=provider, method=method).observe(seconds)
    if outcome != "ok":
        PROVIDER_REQUEST_ERRORS.labels(provider=provider, kind=outcome).inc()


def provider_metrics_install() -> None:
    """Register the observer once (the app's ``ready`` may run again in tests)."""
    if provider_request_observed not in base.request_observers:
        base.request_observers.append(provider_request_observed)
