"""Our Prometheus metrics, computed at scrape time from the database and the broker: each
collector is a function returning metric families, listed in ``COLLECTORS`` (another part of the
platform adds its backlog by appending one). Every query is cheap: counts over indexed columns, the
unfinished jobs (a small set) rather than the whole history.

Because they are read from the shared database at each scrape, these gauges are the same whichever
web process answers: no multiprocess bookkeeping is needed for them (the per-process counters, the
provider latencies and django-prometheus's request metrics, are another matter: see
``ops.scrape``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta

from django.db.models import Count, Min, Sum
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from billing.models import BalanceCreditOutbox, MeterEventOutbox
from jobs.models import Job, JobStatus
from webhooks.selectors import webhook_backlog

from .broker import broker_queue_depth

log = logging.getLogger("ops.metrics")

UNFINISHED = [JobStatus.QUEUED, JobStatus.SUBMITTING, JobStatus.RUNNING, JobStatus.FINALIZING]
RECENT = timedelta(hours=1)


def jobs_by_state() -> Iterable[Metric]:
    """Unfinished jobs by state and model; jobs created in the last hour by state (their outcome so
    far) and model, which is what a failure-rate alert reads."""
    now = timezone.now()
    active = GaugeMetricFamily("parley_jobs", "Unfinished jobs, by state and model.", labels=["state", "model"])
    for row in (Job.objects.filter(status__in=UNFINISHED).values("status", "model_id")
                .annotate(n=Count("id")).order_by()):
        active.add_metric([row["status"], row["model_id"]], row["n"])
    recent = GaugeMetricFamily("parley_jobs_created_last_hour",
                               "Jobs created in the last hour, by their state now and model.",
                               labels=["state", "model"])
    for row in (Job.objects.filter(created_at__gte=now - RECENT).values("status", "model_id")
                .annotate(n=Count("id")).order_by()):
        recent.add_metric([row["status"], row["model_id"]], row["n"])
    return [active, recent]


def oldest_jobs() -> Iterable[Metric]:
    """How long the oldest queued job has waited (since creation) and the oldest running job has
    run (since its submit was accepted); 0 when there is none."""
    now = timezone.now()
    age = GaugeMetricFamily("parley_job_oldest_age_seconds",
                            "Age of the oldest queued job (since created) and running job (since started).",
                            labels=["state"])
    queued = Job.objects.filter(status=JobStatus.QUEUED).aggregate(t=Min("created_at"))["t"]
    running = Job.objects.filter(status=JobStatus.RUNNING).aggregate(t=Min("started_at"))["t"]
    age.add_metric(["queued"], (now - queued).total_seconds() if queued else 0.0)
    age.add_metric(["running"], (now - running).total_seconds() if running else 0.0)
    return [age]


def poll_lag() -> Iterable[Metric]:
    """Jobs whose next step is overdue (``next_attempt_at`` passed and no poller took them yet), by
    state, and the poll lag: how far the most overdue running job is behind its schedule."""
    now = timezone.now()
    overdue = GaugeMetricFamily("parley_jobs_overdue", "Unfinished jobs whose next step is overdue, by state.",
                                labels=["state"])
    lag = 0.0
    rows = {row["status"]: row for row in Job.objects.filter(status__in=UNFINISHED, next_attempt_at__lt=now)
            .values("status").annotate(n=Count("id"), due=Min("next_attempt_at")).order_by()}
    for state in UNFINISHED:
        row = rows.get(state)
        overdue.add_metric([state], row["n"] if row else 0)
        if state == JobStatus.RUNNING and row:
            lag = (now - row["due"]).total_seconds()
    return [overdue, GaugeMetricFamily("parley_poll_lag_seconds",
                                       "How far behind its schedule the most overdue running job's poll is.",
                                       value=lag)]


def task_queue() -> Iterable[Metric]:
    """django-q2 tasks waiting for a worker."""
    return [GaugeMetricFamily("parley_task_queue_depth", "django-q2 tasks waiting for a worker.",
                              value=broker_queue_depth())]


def stripe_outboxes() -> Iterable[Metric]:
    """Unsent Stripe meter events and balance credits, and the age of the oldest of each."""
    now = timezone.now()
    pending = GaugeMetricFamily("parley_stripe_outbox_pending", "Entries not yet acknowledged by Stripe.",
                                labels=["outbox"])
    oldest = GaugeMetricFamily("parley_stripe_outbox_oldest_pending_age_seconds",
                               "Age of the oldest entry not yet acknowledged by Stripe.", labels=["outbox"])
    for name, model in (("meter_events", MeterEventOutbox), ("balance_credits", BalanceCreditOutbox)):
        row = model.objects.filter(sent_at__isnull=True).aggregate(n=Count("id"), t=Min("created_at"))
        pending.add_metric([name], row["n"])
        oldest.add_metric([name], (now - row["t"]).total_seconds() if row["t"] else 0.0)
    return [pending, oldest]


def provider_duplicates() -> Iterable[Metric]:
    """Provider tasks run twice for one job (a lost submit resent to DashScope, which cannot report
    it): a provider cost the tenant is not charged for. Only ever grows."""
    total = Job.objects.filter(provider_duplicates__gt=0).aggregate(n=Sum("provider_duplicates"))["n"] or 0
    return [GaugeMetricFamily("parley_provider_duplicate_tasks",
                              "Provider tasks created twice for one job (recorded on the job).", value=total)]


def webhook_backlog_metrics() -> Iterable[Metric]:
    """Webhook messages to tenants not yet delivered nor given up, and the age of the oldest."""
    backlog = webhook_backlog()
    oldest = (timezone.now() - backlog.oldest_pending_at).total_seconds() if backlog.oldest_pending_at else 0.0
    return [GaugeMetricFamily("parley_webhook_messages_pending", "Webhook messages to tenants not yet delivered.",
                              value=backlog.pending),
            GaugeMetricFamily("parley_webhook_oldest_pending_age_seconds",
                              "Age of the oldest webhook message not yet delivered.", value=oldest)]


COLLECTORS: list[Callable[[], Iterable[Metric]]] = [
    jobs_by_state, oldest_jobs, poll_lag, task_queue, stripe_outboxes, provider_duplicates, webhook_backlog_metrics,
]


class PlatformCollector(Collector):
    """Runs every collector at each scrape; one that fails (the database down) is reported as
    ``parley_metrics_collector_up 0`` instead of failing the whole scrape."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("parley_metrics_collector_up", "Whether the collector answered at this scrape.",
                               labels=["collector"])
        seconds = GaugeMetricFamily("parley_metrics_collector_seconds", "Time the collector took at this scrape.",
                                    labels=["collector"])
        for collector in COLLECTORS:
            started = time.perf_counter()
            try:
                families = list(collector())
            except Exception:
                log.exception("metrics collector %s failed", collector.__name__)
                up.add_metric([collector.__name__], 0)
            else:
                up.add_metric([collector.__name__], 1)
                yield from families
            seconds.add_metric([collector.__name__], time.perf_counter() - started)
        yield up
        yield seconds
