"""A submit whose fate is unknown, and leases that lapse when their worker dies: what the poller
and the provider's webhook do with such a job, step by step, on a scripted provider."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from jobs.models import Job, JobStatus
from jobs.pipeline.dispatch import job_dispatch_due
from jobs.pipeline.lease import job_lease_kept
from jobs.pipeline.provider_inputs import job_webhook_token, webhook_url_for
from jobs.pipeline.provider_webhook import provider_webhook_receive
from jobs.pipeline.submit import job_submit
from providers.clients.errors import SubmitOutcomeUnknown
from providers.clients.results import CancelResult, PollResult, Submission, WebhookEvent
from tests.conftest import make_tenant
from tests.jobs.scripted_provider import ScriptedProvider

MODELS = {"fal": "fal-ai/ai-avatar", "dashscope": "dashscope/wan2.7-r2v"}
DONE = PollResult(state="succeeded", video_url="https://v.example/out.mp4")
RUNNING = PollResult(state="running")


def _job(status: str = JobStatus.QUEUED, provider: str = "fal", **fields) -> Job:
    return Job.objects.create(tenant=make_tenant(), model_id=MODELS[provider], provider=provider, status=status,
                              input={"prompt": "x"}, quote_seconds=Decimal("3.24"), quote_amount=Decimal("0.81"),
                              emulated=True, **fields)


def _lapsed(job: Job, **fields) -> Job:
    """As the poller finds a job whose lease lapsed."""
    Job.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1), **fields)
    job.refresh_from_db()
    return job


def _report(job: Job) -> Job | None:
    """The provider's webhook (what it reports is the scripted provider's) arrives at the job's URL."""
    return provider_webhook_receive(provider=job.provider, mode="emulator", headers={}, body=b"{}",
                                    job_id=str(job.pk), token=job_webhook_token(job_id=job.pk))


@pytest.fixture(autouse=True)
def _short_waits(settings):
    settings.JOB_LEASE_S = 30
    settings.JOB_SUBMIT_REPORT_WAIT_S = 600


# --- the submit itself -------------------------------------------------------------------------------
@pytest.mark.django_db
def test_submit_marks_the_job_sent_and_holds_a_short_lease(provider, django_capture_on_commit_callbacks):
    job = _job()
    seen = {}

    def accept() -> Submission:
        seen.update(Job.objects.filter(pk=job.pk).values("status", "submit_sent_at", "next_attempt_at").get())
        return Submission(request_id="req-1", handle={"request_id": "req-1"})

    provider(ScriptedProvider(submit=[accept]))
    before = timezone.now()
    job_submit(job_id=str(job.id))
    assert seen["status"] == JobStatus.SUBMITTING and seen["submit_sent_at"] is not None
    assert before + timedelta(seconds=29) <= seen["next_attempt_at"] <= timezone.now() + timedelta(seconds=31)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.provider_request_id == "req-1"


@pytest.mark.django_db
def test_a_lost_submit_answer_waits_for_the_providers_report(provider):
    job = _job()
    provider(ScriptedProvider(submit=[SubmitOutcomeUnknown("timed out waiting for fal to answer a submit")]))
    job_submit(job_id=str(job.id))
    job.refresh_from_db()
    assert job.status == JobStatus.SUBMITTING  # it may hold a task at the provider: it keeps its slot
    assert job.submit_unknown_since is not None and job.provider_duplicates == 0
    assert job.next_attempt_at >= timezone.now() + timedelta(seconds=590)
    assert job.events.last().data == {"submit_outcome": "unknown"}


@pytest.mark.django_db
def test_a_lost_submit_answer_without_webhooks_is_resent_and_the_duplicate_recorded(provider):
    job = _job(provider="dashscope")
    provider(ScriptedProvider(submit=[SubmitOutcomeUnknown("timed out")]))
    job_submit(job_id=str(job.id))
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.attempts == 1
    assert job.provider_duplicates == 1
    assert job.events.last().data == {"possible_duplicate": True}


# --- the poller reclaims a lapsed lease ---------------------------------------------------------------
@pytest.mark.django_db
def test_a_worker_lost_before_sending_is_resent_at_once(django_capture_on_commit_callbacks):
    job = _lapsed(_job(JobStatus.SUBMITTING))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert job_dispatch_due(job=job) == "resubmit"
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.provider_duplicates == 0 and len(callbacks) == 1


@pytest.mark.django_db
def test_a_worker_lost_while_sending_waits_for_the_report_then_resends():
    job = _lapsed(_job(JobStatus.SUBMITTING), submit_sent_at=timezone.now())
    assert job_dispatch_due(job=job) == "await-report"
    job.refresh_from_db()
    assert job.status == JobStatus.SUBMITTING and job.submit_unknown_since is not None

    job = _lapsed(job)  # nothing reported within the wait
    assert job_dispatch_due(job=job) == "resubmit"
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.attempts == 1
    assert job.submit_unknown_since is None and job.submit_sent_at is None


@pytest.mark.django_db
def test_a_submit_whose_worker_keeps_dying_fails_uncharged(settings):
    settings.JOB_MAX_ATTEMPTS = 2
    job = _lapsed(_job(JobStatus.SUBMITTING, attempts=1))
    job_dispatch_due(job=job)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == "internal_error"


# --- the provider's report names the job ----------------------------------------------------------------
@pytest.mark.django_db
def test_the_reported_task_of_a_lost_submit_is_adopted(provider, django_capture_on_commit_callbacks):
    job = _job(JobStatus.SUBMITTING, submit_sent_at=timezone.now(), submit_unknown_since=timezone.now())
    provider(ScriptedProvider(webhook=[WebhookEvent(request_id="req-7", result=DONE)]))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _report(job)
    job.refresh_from_db()
    assert job.status == JobStatus.FINALIZING and job.provider_request_id == "req-7"
    assert job.provider_handle == {"request_id": "req-7"} and job.submit_unknown_since is None
    assert job.events.filter(data__adopted=True, data__request_id="req-7").count() == 1
    assert len(callbacks) == 1  # the delivery is handed to a worker


@pytest.mark.django_db
def test_a_report_after_the_job_was_resent_is_adopted_instead_of_a_second_task(provider):
    job = _job(JobStatus.QUEUED, attempts=1)
    provider(ScriptedProvider(webhook=[WebhookEvent(request_id="req-7", result=RUNNING)]))
    _report(job)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.provider_request_id == "req-7"
    assert job.provider_duplicates == 0


@pytest.mark.django_db
def test_a_second_task_of_the_job_is_recorded_once_and_stopped(provider):
    job = _job(JobStatus.RUNNING, provider_request_id="req-1", provider_handle={"request_id": "req-1"})
    fake = provider(ScriptedProvider(webhook=[WebhookEvent(request_id="req-2", result=RUNNING)],
                                     cancel=[CancelResult(status="OK")]))
    _report(job)
    _report(job)  # the provider retries its delivery: counted once
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.provider_request_id == "req-1"
    assert job.provider_duplicates == 1
    assert [c for c in fake.calls if c[0] == "cancel"] == [("cancel", {"handle": {"request_id": "req-2"}})]
    assert job.events.filter(data__duplicate_request_id="req-2", data__provider_cost=True).count() == 1


@pytest.mark.django_db
def test_a_second_submit_that_loses_to_the_adopted_task_is_recorded_and_stopped(provider):
    job = _job()

    def adopted_meanwhile() -> Submission:  # the first task reported while this submit was in flight
        Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, provider_request_id="req-1")
        return Submission(request_id="req-2", handle={"request_id": "req-2"})

    fake = provider(ScriptedProvider(submit=[adopted_meanwhile], cancel=[CancelResult(status="OK")]))
    job_submit(job_id=str(job.id))
    job.refresh_from_db()
    assert job.provider_request_id == "req-1" and job.provider_duplicates == 1
    assert ("cancel", {"handle": {"request_id": "req-2"}}) in fake.calls


@pytest.mark.django_db
def test_a_webhook_url_names_its_job_with_a_token_only_we_make(client: Client, provider):
    job = _job(JobStatus.SUBMITTING)
    url = webhook_url_for(job)
    assert f"/jobs/{job.pk}/{job_webhook_token(job_id=job.pk)}" in url
    provider(ScriptedProvider(webhook=[WebhookEvent(request_id="req-7", result=DONE)]))
    forged = f"/webhooks/providers/fal/emulator/jobs/{job.pk}/{'0' * 32}"
    assert client.post(forged, data=b"{}", content_type="application/json").status_code == 404
    job.refresh_from_db()
    assert job.status == JobStatus.SUBMITTING  # a forged token moves nothing


# --- the heartbeat ----------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_a_live_worker_renews_its_lease_and_stops_when_the_job_moves_on(settings):
    settings.JOB_LEASE_S = 0.6
    job = _job(JobStatus.SUBMITTING, next_attempt_at=timezone.now())
    first = Job.objects.get(pk=job.pk).next_attempt_at
    with job_lease_kept(job):
        time.sleep(0.5)
        renewed = Job.objects.get(pk=job.pk).next_attempt_at
        assert renewed > first
        Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, next_attempt_at=None)
        time.sleep(0.5)
    assert Job.objects.get(pk=job.pk).next_attempt_at is None  # a job that moved on is left alone
