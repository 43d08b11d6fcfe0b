"""The poller's hold on running jobs: a poll that learnt nothing writes nothing, the next poll
lives in memory, the hold in the database is renewed in batches and given back, and a provider
without webhooks is polled often exactly when its render should end."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobs.management.commands.job_poller import poller_claim
from jobs.models import Job, JobStatus
from jobs.pipeline.dispatch import jobs_claim_due
from jobs.pipeline.poll_holds import PollHolds
from jobs.pipeline.progress import job_poll_held, poll_delay
from jobs.pipeline.render_times import render_history_forget
from providers.clients.errors import ProviderUnavailable
from providers.clients.results import PollResult
from tests.conftest import make_tenant
from tests.jobs.scripted_provider import ScriptedProvider


def _running(tenant, *, model="fal-ai/ai-avatar", provider="fal", started_ago_s=10.0, **fields) -> Job:
    now = timezone.now()
    values = {"provider_status": "running", "progress": 0.5, "queue_position": None, "status": JobStatus.RUNNING,
              "started_at": now - timedelta(seconds=started_ago_s), "next_attempt_at": now - timedelta(seconds=1),
              **fields}
    return Job.objects.create(
        tenant=tenant, model_id=model, provider=provider, input={"prompt": "x"}, quote_seconds=Decimal("3"),
        quote_amount=Decimal("0.50"), emulated=True, provider_handle={"request_id": "r"}, **values)


@pytest.mark.django_db
def test_a_held_poll_that_learnt_nothing_touches_the_database_not_at_all(provider):
    job = _running(make_tenant())
    provider(ScriptedProvider(status=[PollResult(state="running", progress=0.5)]))
    with CaptureQueriesContext(connection) as queries:
        delay = job_poll_held(job)
    assert delay is not None and delay > 0
    assert [q["sql"] for q in queries.captured_queries] == []


@pytest.mark.django_db
def test_a_held_poll_writes_what_changed_and_never_the_schedule(provider):
    job = _running(make_tenant())
    before = Job.objects.get(pk=job.pk).next_attempt_at
    provider(ScriptedProvider(status=[PollResult(state="running", progress=0.75)]))
    with CaptureQueriesContext(connection) as queries:
        assert job_poll_held(job) is not None
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1 and "next_attempt_at" not in updates[0] and "progress" in updates[0]
    fresh = Job.objects.get(pk=job.pk)
    assert (fresh.progress, fresh.next_attempt_at) == (0.75, before)


@pytest.mark.django_db
def test_a_held_job_that_left_running_is_dropped_and_not_written(provider):
    job = _running(make_tenant())
    Job.objects.filter(pk=job.pk).update(status=JobStatus.CANCELED)  # its owner canceled it meanwhile
    provider(ScriptedProvider(status=[PollResult(state="running", progress=0.9)]))
    assert job_poll_held(job) is None
    fresh = Job.objects.get(pk=job.pk)
    assert (fresh.status, fresh.progress) == (JobStatus.CANCELED, 0.5)


@pytest.mark.django_db
def test_a_held_poll_that_fails_counts_the_attempt_and_backs_off(provider, settings):
    settings.JOB_RETRY_BASE_S = 4.0
    job = _running(make_tenant())
    provider(ScriptedProvider(status=[ProviderUnavailable("503", provider="fal", http_status=503)]))
    delay = job_poll_held(job)
    assert 3.0 <= delay <= 5.0
    fresh = Job.objects.get(pk=job.pk)
    assert fresh.status == JobStatus.RUNNING and fresh.attempts == 1
    assert fresh.events.filter(data__has_key="poll_error").count() == 1


@pytest.mark.django_db
def test_a_held_job_that_finished_moves_on(provider, inline_tasks):
    job = _running(make_tenant())
    provider(ScriptedProvider(status=[PollResult(state="failed", error="bad face")]))
    assert job_poll_held(job) is None
    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED


@pytest.mark.django_db(transaction=True)
def test_holds_keep_other_pollers_off_are_renewed_in_batches_and_given_back(provider, settings):
    settings.POLLER_HOLD_S = 60.0
    tenant = make_tenant()
    jobs = [_running(tenant) for _ in range(3)]
    provider(ScriptedProvider(status=[PollResult(state="running", progress=0.5)]))
    with ThreadPoolExecutor(max_workers=2) as pool:
        holds = PollHolds(pool=pool, in_flight=2, hold_s=60.0, max_held=100)
        assert poller_claim(holds) == 3 and len(holds) == 3
        held_until = {j.pk: j.next_attempt_at for j in Job.objects.filter(pk__in=[j.pk for j in jobs])}
        assert all(t > timezone.now() + timedelta(seconds=55) for t in held_until.values())
        assert jobs_claim_due(limit=10) == []  # another poller finds nothing due

        Job.objects.filter(pk=jobs[0].pk).update(status=JobStatus.CANCELED, next_attempt_at=None)
        assert holds.renew() == 0  # nothing half spent yet: no write at all
        holds._hold_until = {k: v - 40 for k, v in holds._hold_until.items()}  # 40 s later
        assert holds.renew() == 2
        assert len(holds) == 2  # the canceled one is dropped
        assert Job.objects.get(pk=jobs[0].pk).next_attempt_at is None  # and not written

        holds.release()
    assert len(holds) == 0
    assert all(j.next_attempt_at <= timezone.now() for j in Job.objects.filter(status=JobStatus.RUNNING))


@pytest.mark.django_db(transaction=True)
def test_held_jobs_are_polled_on_schedule_by_the_pool(provider, settings):
    tenant = make_tenant()
    jobs = [_running(tenant) for _ in range(5)]
    fake = provider(ScriptedProvider(status=[PollResult(state="running", progress=0.5)]))
    with ThreadPoolExecutor(max_workers=2) as pool:
        holds = PollHolds(pool=pool, in_flight=2, hold_s=60.0, max_held=100)
        poller_claim(holds)
        holds.run_due()
        import time

        deadline = time.monotonic() + 10
        while holds.polls < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert holds.polls == 5 and len(fake.calls) == 5 and len(holds) == 5
    assert holds.run_due() == 0  # each is next due in a couple of seconds, not now
    assert {str(j.pk) for j in jobs} == set(holds._jobs)


@pytest.mark.django_db
def test_a_provider_without_webhooks_is_polled_often_near_the_expected_end(settings):
    settings.JOB_POLL_INTERVAL_S, settings.JOB_POLL_MAX_INTERVAL_S = 2.0, 30.0
    settings.JOB_POLL_NEAR_INTERVAL_S, settings.JOB_POLL_NEAR_FRACTION = 2.0, 0.7
    render_history_forget()
    tenant = make_tenant()
    model = "dashscope/wan2.7-r2v"
    now = timezone.now()
    early = Job(model_id=model, started_at=now - timedelta(seconds=160), created_at=now)
    assert poll_delay(early).total_seconds() == pytest.approx(16.0, abs=0.1)  # no history yet: the usual back-off
    render_history_forget()
    for seconds in (95, 100, 105):  # the model's own history: renders of about 100 s (their delivery: 50 s)
        _running(tenant, model=model, provider="dashscope", status=JobStatus.SUCCEEDED,
                 started_at=now - timedelta(seconds=seconds + 60), provider_finished_at=now - timedelta(seconds=60),
                 completed_at=now - timedelta(seconds=10))

    def delay(elapsed: float, *, model_id: str = model) -> float:
        job = Job(model_id=model_id, started_at=timezone.now() - timedelta(seconds=elapsed),
                  created_at=timezone.now())
        return poll_delay(job).total_seconds()

    assert delay(50) == pytest.approx(5.0, abs=0.1)  # early: the usual back-off (a tenth of the time run)
    assert delay(66) == pytest.approx(4.0, abs=0.1)  # never past 70% of the expected 100 s
    assert delay(85) == pytest.approx(2.0, abs=0.1)  # in the window where it should end
    assert delay(160) == pytest.approx(2.0, abs=0.1)  # late (past its slowest render, 105 s): still watched
    assert delay(260) == pytest.approx(7.0, abs=0.1)  # past twice its slowest render: stuck, easing off
    assert delay(160, model_id="fal-ai/ai-avatar") == pytest.approx(16.0, abs=0.1)  # webhooks: no need

    render_history_forget()  # a model whose fastest tenth of renders ends well before 70 % of its median
    Job.objects.filter(model_id=model).delete()
    for seconds in [30, 40] + [100] * 8:
        _running(tenant, model=model, provider="dashscope", status=JobStatus.SUCCEEDED,
                 started_at=now - timedelta(seconds=seconds + 60), provider_finished_at=now - timedelta(seconds=60))
    assert delay(30) == pytest.approx(3.0, abs=0.1)
    assert delay(45) == pytest.approx(2.0, abs=0.1)  # past its fastest tenth (40 s), though short of 70 s
    render_history_forget()


@pytest.mark.django_db
def test_the_end_of_a_render_is_stamped_for_the_models_history(provider):
    job = _running(make_tenant())
    provider(ScriptedProvider(status=[PollResult(state="succeeded", video_url="https://cdn.example/v.mp4")]))
    before = timezone.now()
    assert job_poll_held(job) is None
    fresh = Job.objects.get(pk=job.pk)
    assert fresh.status == JobStatus.FINALIZING and before <= fresh.provider_finished_at <= timezone.now()


@pytest.mark.django_db(transaction=True)
def test_the_pollers_own_lag_and_held_jobs_reach_the_metrics(provider, settings):
    from prometheus_client import REGISTRY

    settings.POLLER_HOLD_S = 60

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    polls_before = sample("parley_poller_poll_lag_seconds_count")
    within_5s_before = sample("parley_poller_poll_lag_seconds_bucket", le="5.0")
    within_10s_before = sample("parley_poller_poll_lag_seconds_bucket", le="10.0")
    tenant = make_tenant()
    jobs = [_running(tenant) for _ in range(3)]
    provider(ScriptedProvider(status=[PollResult(state="running", progress=0.5)]))
    with ThreadPoolExecutor(max_workers=2) as pool:
        holds = PollHolds(pool=pool, in_flight=2, hold_s=60.0, max_held=100)
        poller_claim(holds)
        assert sample("parley_poller_held_jobs") == 3
        holds._due = [(due - 7.0, seq, key) for due, seq, key in holds._due]  # each due 7 s ago
        holds.run_due()
        import time

        deadline = time.monotonic() + 10
        while holds.polls < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sample("parley_poller_poll_lag_seconds_count") == polls_before + 3
        # Each started 7 s late (and well within 10 s): counted past the 5 s bucket, within the 10 s one.
        assert sample("parley_poller_poll_lag_seconds_bucket", le="5.0") == within_5s_before
        assert sample("parley_poller_poll_lag_seconds_bucket", le="10.0") == within_10s_before + 3
        Job.objects.filter(pk=jobs[0].pk).update(status=JobStatus.CANCELED, next_attempt_at=None)
        holds._hold_until = {k: v - 40 for k, v in holds._hold_until.items()}
        renewed = holds.renew()
        assert (renewed, len(holds), sample("parley_poller_held_jobs")) == (2, 2, 2)
        holds.release()
    assert sample("parley_poller_held_jobs") == 0
