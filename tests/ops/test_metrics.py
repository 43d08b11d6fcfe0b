"""/metrics: Prometheus text with django-prometheus's request metrics and ours, computed from the
database at scrape time (jobs by state and model, oldest queued and running job, poll lag, the task
queue, the Stripe outboxes, duplicate provider tasks) and the provider request latencies and errors
measured in the client's request loop; readable only from the operator's networks or with the token."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from billing.models import BalanceCreditOutbox, CreditGrant, CreditKind
from jobs.models import Job, JobStatus
from ops import metrics as ops_metrics
from providers import registry
from providers.clients.errors import ProviderRejected


def _job(tenant, status: str, model: str = "fal-ai/ai-avatar", **fields) -> Job:
    job = Job.objects.create(tenant=tenant, model_id=model, provider=model.split("-")[0].split("/")[0],
                             status=status, input={}, quote_seconds=Decimal("5"), quote_amount=Decimal("1"),
                             emulated=True)
    if fields:
        Job.objects.filter(pk=job.pk).update(**fields)
    return job


def _scrape(client: Client | None = None, **headers: str) -> dict[tuple[str, tuple], float]:
    response = (client or Client()).get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.content.decode()) for s in family.samples}


@pytest.mark.django_db
def test_platform_metrics_from_the_database(tenant, other_tenant):
    now = timezone.now()
    _job(tenant, JobStatus.QUEUED, created_at=now - timedelta(seconds=90))
    _job(other_tenant, JobStatus.QUEUED)
    _job(tenant, JobStatus.RUNNING, model="wavespeed-ai/wan-2.1/multitalk", started_at=now - timedelta(seconds=300),
         next_attempt_at=now - timedelta(seconds=12))
    _job(tenant, JobStatus.RUNNING, started_at=now - timedelta(seconds=30), next_attempt_at=now + timedelta(seconds=5))
    _job(tenant, JobStatus.SUCCEEDED, provider_duplicates=1)
    _job(tenant, JobStatus.FAILED, model="dashscope/wan2.7-r2v", provider_duplicates=2)
    grant = CreditGrant.objects.create(tenant=tenant, kind=CreditKind.GRANT, amount=Decimal("3"), currency="usd",
                                       reason="test")
    BalanceCreditOutbox.objects.create(tenant=tenant, credit_grant=grant, value=300, idempotency_key="k1")
    BalanceCreditOutbox.objects.filter(pk__isnull=False).update(created_at=now - timedelta(seconds=60))

    samples = _scrape()
    assert samples[("parley_jobs", (("model", "fal-ai/ai-avatar"), ("state", "queued")))] == 2
    assert samples[("parley_jobs", (("model", "wavespeed-ai/wan-2.1/multitalk"), ("state", "running")))] == 1
    assert samples[("parley_jobs", (("model", "fal-ai/ai-avatar"), ("state", "running")))] == 1
    assert not any(k[0] == "parley_jobs" and ("state", "succeeded") in k[1] for k in samples)
    assert samples[("parley_jobs_created_last_hour", (("model", "dashscope/wan2.7-r2v"), ("state", "failed")))] == 1
    assert 89 <= samples[("parley_job_oldest_age_seconds", (("state", "queued"),))] < 120
    assert 299 <= samples[("parley_job_oldest_age_seconds", (("state", "running"),))] < 330
    assert samples[("parley_jobs_overdue", (("state", "running"),))] == 1
    assert 11 <= samples[("parley_poll_lag_seconds", ())] < 40
    assert samples[("parley_task_queue_depth", ())] >= 0
    assert samples[("parley_stripe_outbox_pending", (("outbox", "balance_credits"),))] == 1
    assert samples[("parley_stripe_outbox_pending", (("outbox", "meter_events"),))] == 0
    assert 59 <= samples[("parley_stripe_outbox_oldest_pending_age_seconds", (("outbox", "balance_credits"),))] < 90
    assert samples[("parley_provider_duplicate_tasks", ())] == 3
    for collector in ops_metrics.COLLECTORS:
        assert samples[("parley_metrics_collector_up", (("collector", collector.__name__),))] == 1
    # django-prometheus's own, counted by its middleware
    assert any(name.startswith("django_http_requests_before_middlewares_total") for name, _ in samples)


@pytest.mark.django_db
def test_a_failing_collector_does_not_fail_the_scrape(monkeypatch):
    def broken():  # noqa: ANN202
        raise RuntimeError("database gone")

    monkeypatch.setattr(ops_metrics, "COLLECTORS", [broken, *ops_metrics.COLLECTORS])
    samples = _scrape()
    assert samples[("parley_metrics_collector_up", (("collector", "broken"),))] == 0
    assert samples[("parley_metrics_collector_up", (("collector", "poll_lag"),))] == 1


@pytest.mark.django_db
def test_the_scrape_is_cheap(django_assert_max_num_queries, tenant):
    _job(tenant, JobStatus.RUNNING)
    with django_assert_max_num_queries(12):  # a fixed number, whatever the number of jobs
        _scrape()


def test_provider_requests_are_timed_and_errors_counted(emulator):
    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before_count = value("parley_provider_request_seconds_count", provider="fal", method="GET")
    before_rejected = value("parley_provider_request_errors_total", provider="fal", kind="rejected")
    before_unavailable = value("parley_provider_request_errors_total", provider="fal", kind="unavailable")
    emulator.set_faults("fal", server_error=1)  # one 5xx, retried, then the unknown task's 404
    with registry.client_for("fal", livemode=False) as client:
        with pytest.raises(ProviderRejected):
            client.status(handle=client.handle_for(model_path="fal-ai/ai-avatar", request_id="no-such-task"))
    assert value("parley_provider_request_seconds_count", provider="fal", method="GET") == before_count + 2
    assert value("parley_provider_request_errors_total", provider="fal", kind="unavailable") == before_unavailable + 1
    assert value("parley_provider_request_errors_total", provider="fal", kind="rejected") == before_rejected + 1
    assert value("parley_provider_request_seconds_sum", provider="fal", method="GET") > 0


@pytest.mark.django_db
def test_access_by_network_or_token(settings):
    settings.METRICS_ALLOWED_NETWORKS = []
    settings.METRICS_TOKEN = "s3cret-token"
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200
    # a forwarded header is the client's own word: never trusted
    assert Client().get("/metrics", HTTP_X_FORWARDED_FOR="10.0.0.1").status_code == 404
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert Client(REMOTE_ADDR="10.20.30.40").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.168.1.1").get("/metrics").status_code == 404
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


@pytest.mark.django_db
def test_the_webhook_backlog(tenant):
    from webhooks.models import MessageStatus, WebhookMessage

    now = timezone.now()
    for n, status in enumerate((MessageStatus.PENDING, MessageStatus.PENDING, MessageStatus.DELIVERED)):
        WebhookMessage.objects.create(tenant=tenant, msg_id=f"msg_{n}", url="https://hooks.example/x",
                                      event_type="job.succeeded", body="{}", status=status)
    WebhookMessage.objects.filter(msg_id="msg_0").update(created_at=now - timedelta(seconds=120))
    samples = _scrape()
    assert samples[("parley_webhook_messages_pending", ())] == 2
    assert 119 <= samples[("parley_webhook_oldest_pending_age_seconds", ())] < 150
