"""The provider health page's figures: per provider and model (and whether it ran on the emulator),
over a window (the last hour, the last day): jobs by state, the failure rate and its error kinds,
and the p50/p95 render time (submitted to finished, succeeded jobs)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count
from django.utils import timezone

from jobs.models import Job, JobStatus

WINDOWS = (("last hour", timedelta(hours=1)), ("last day", timedelta(days=1)))


@dataclass
class HealthRow:
    provider: str
    model_id: str
    emulated: bool
    by_status: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    render_seconds: list[float] = field(default_factory=list)

    @property
    def status_counts(self) -> list[tuple[str, int]]:
        return sorted(self.by_status.items())

    @property
    def error_counts(self) -> list[tuple[str, int]]:
        return self.errors.most_common()

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def finished(self) -> int:
        return sum(self.by_status[s] for s in (JobStatus.SUCCEEDED, JobStatus.FAILED))

    @property
    def error_rate(self) -> Decimal | None:
        """Failed among finished (succeeded or failed) jobs, in percent; None before any finished."""
        if not self.finished:
            return None
        return (Decimal(self.by_status[JobStatus.FAILED] * 100) / self.finished).quantize(Decimal("0.1"))

    @property
    def p50(self) -> float | None:
        return percentile(self.render_seconds, 50)

    @property
    def p95(self) -> float | None:
        return percentile(self.render_seconds, 95)


def percentile(values: list[float], pct: int) -> float | None:
    """The nearest-rank percentile (no interpolation: a value that was observed)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-pct * len(ordered) // 100))  # ceil(pct/100 * n)
    return round(ordered[rank - 1], 1)


def provider_health(*, since: timedelta) -> list[HealthRow]:
    """The rows of one window, by provider then model. Three queries whatever the number of jobs:
    counts by state, counts by error kind, and the succeeded jobs' start and end times."""
    start = timezone.now() - since
    recent = Job.objects.filter(created_at__gte=start).order_by()
    rows: dict[tuple[str, str, bool], HealthRow] = {}

    def row(provider: str, model_id: str, emulated: bool) -> HealthRow:
        return rows.setdefault((provider, model_id, emulated), HealthRow(provider, model_id, emulated))

    for r in recent.values("provider", "model_id", "emulated", "status").annotate(n=Count("id")):
        row(r["provider"], r["model_id"], r["emulated"]).by_status[r["status"]] = r["n"]
    failed = recent.filter(status=JobStatus.FAILED).values("provider", "model_id", "emulated", "error_code")
    for r in failed.annotate(n=Count("id")):
        row(r["provider"], r["model_id"], r["emulated"]).errors[r["error_code"] or "unknown"] = r["n"]
    succeeded = recent.filter(status=JobStatus.SUCCEEDED, started_at__isnull=False, completed_at__isnull=False)
    times: dict[tuple[str, str, bool], list[float]] = defaultdict(list)
    for provider, model_id, emulated, started, completed in succeeded.values_list(
            "provider", "model_id", "emulated", "started_at", "completed_at"):
        times[(provider, model_id, emulated)].append((completed - started).total_seconds())
    for key, values in times.items():
        row(*key).render_seconds = values
    return sorted(rows.values(), key=lambda r: (r.provider, r.model_id, r.emulated))
